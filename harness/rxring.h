/* rxring.h - socket receives through io_uring, without a system call per
 * read (the native transport's reads, worker.c; docs/DESIGN.md section 4).
 *
 * Each armed socket has one multishot recvmsg outstanding: whenever bytes
 * arrive, the kernel reads them into one of the ring's own buffers, with
 * the segment's receive stamp (SO_TIMESTAMPNS) in the control area, and
 * posts a completion. With IORING_SETUP_DEFER_TASKRUN those reads run only
 * when the owner asks (rxring_reap), inside that one system call, however
 * many sockets had bytes: the cost a read leaves is the kernel's TCP
 * receive path, not a system call's entry and exit (on the PVM guest this
 * project measures on, 1.1-1.5 us each).
 *
 * The ring belongs to the thread that created it (IORING_SETUP_SINGLE_ISSUER):
 * every call below must come from that thread. Needs Linux 6.1 or later
 * with io_uring allowed (kernel.io_uring_disabled, seccomp); rxring_create
 * says why it cannot be had, and the caller reads with recvmsg instead. */
#ifndef BENCH_RXRING_H
#define BENCH_RXRING_H

#include <stdint.h>

#include "status.h"

typedef struct rxring rxring;

/* One completed receive, as rxring_next hands it out. */
typedef struct {
    uint64_t tag;     /* the value the socket was armed with */
    int res;          /* bytes received (> 0), 0 at end of stream, or -errno */
    int more;         /* the receive stays armed; else it ended (rearm to go on) */
    const char *data; /* res bytes when res > 0; valid until the next rxring_next */
    int64_t t_ns;     /* kernel receive stamp on the harness clock (tsock_msg_stamp), -1 none */
} rxring_cqe;

/* Create a ring in *out with room for about `conns` armed sockets' traffic
 * between two reaps. BENCH_ESYS with the reason when io_uring (or the
 * features used: multishot recvmsg, provided buffer rings, deferred task
 * work) is not available; *out is then NULL. The caller owns the ring:
 * rxring_destroy. */
bench_status rxring_create(unsigned conns, rxring **out, bench_err *err);

/* Close the ring (cancelling what is armed) and free it; NULL is a no-op. */
void rxring_destroy(rxring *r);

/* An eventfd that becomes readable, edge-triggered (watch it with
 * EPOLLIN | EPOLLET; nothing needs to read it), when receives are waiting
 * to be reaped. */
int rxring_event_fd(const rxring *r);

/* Whether receives or completions are waiting: a memory read, no system
 * call (IORING_SQ_TASKRUN or a non-empty completion queue). */
int rxring_pending(const rxring *r);

/* Arm a multishot receive on socket fd, its completions carrying `tag`
 * (any value but UINT64_MAX). Submitted at once, so fd may be closed and
 * its number reused right after: the receive holds its own reference to
 * the socket until it ends. 0, or -errno. */
int rxring_arm(rxring *r, int fd, uint64_t tag);

/* End the receive armed with `tag`: queued now, carried out by the next
 * rxring_reap or rxring_arm. Its last completions (-ECANCELED, or data
 * already read) still come out of rxring_next with that tag; a caller that
 * moved on ignores them. 0, or -errno when the submission queue is full. */
int rxring_cancel(rxring *r, uint64_t tag);

/* Submit what is queued and run the receives waiting, filling the
 * completion queue (one system call; never blocks). 0, or -errno. */
int rxring_reap(rxring *r);

/* The next completion into *c: 1, or 0 when the queue is empty. The
 * buffer of the completion handed out before goes back to the kernel. */
int rxring_next(rxring *r, rxring_cqe *c);

#endif
