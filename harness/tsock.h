/* tsock.h - plain TCP for the built-in HTTP/1.1 client (worker.c's native
 * transport): the target's address, resolved once; non-blocking connects;
 * and reads that carry the kernel's receive time of the bytes read.
 *
 * The receive time is the kernel's software timestamp (SO_TIMESTAMPNS),
 * taken when the segment reached the socket layer: on loopback, within a
 * few microseconds of the sender's write, whatever this process was doing
 * at the time. The kernel stamps in CLOCK_REALTIME; tsock converts to the
 * harness clock (CLOCK_MONOTONIC, clock.h) with an offset sampled at the
 * read (docs/METRICS.md, "Timestamps"). */
#ifndef BENCH_TSOCK_H
#define BENCH_TSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "status.h"

#define TSOCK_MAX_ADDRS 8

/* Where requests go: parsed from an http:// URL, its host resolved. */
typedef struct {
    char host[256];     /* as in the URL, brackets of an IPv6 literal removed */
    int port;           /* the URL's, or 80 */
    char hostport[300]; /* the Host header's value */
    char path[2048];    /* path and query, at least "/" */
    int n;              /* addresses below; 0 when resolving failed */
    struct sockaddr_storage addr[TSOCK_MAX_ADDRS];
    socklen_t addrlen[TSOCK_MAX_ADDRS];
    char resolve_error[200]; /* why n is 0 ("" when resolved) */
} tsock_target;

/* Parse an http:// URL into *t and resolve its host (getaddrinfo; may
 * block). BENCH_EUSAGE when the URL is not plain http or has no host. A
 * host that does not resolve is not an error here: t->n is 0 and
 * t->resolve_error says why, so each request can fail as a connect error
 * the way libcurl's would. */
bench_status tsock_target_init(tsock_target *t, const char *url, bench_err *err);

/* Start connecting to address i of t: a new non-blocking socket with
 * TCP_NODELAY and kernel receive timestamps, in *fd (the caller's, to
 * close). Returns 0 when connected, EINPROGRESS when the connect goes on
 * (wait for writability, then tsock_connect_result), or an errno value
 * (*fd is then -1). */
int tsock_connect(const tsock_target *t, int i, int *fd);

/* The outcome of a connect that was in progress: 0 or an errno value. */
int tsock_connect_result(int fd);

/* One non-blocking read of up to n bytes (recvmsg with MSG_DONTWAIT and
 * `flags`, e.g. MSG_PEEK). Returns the bytes read, 0 at end of stream, or
 * -1 with errno (EAGAIN when nothing is there). *t_ns is the kernel's
 * receive time of the last segment read (with MSG_PEEK and n = 1: of the
 * first unread byte), on the harness clock, or -1 when the kernel gave
 * none or one that cannot be right (more than 1 ms after the read, or
 * more than 10 s before it: the wall clock stepped), in which case the
 * caller stamps the read itself. */
ssize_t tsock_recv(int fd, void *buf, size_t n, int flags, int64_t *t_ns);

/* Control-message room a receive needs for its stamp. */
#define TSOCK_CMSG_SPACE 128

/* The kernel's receive stamp carried by a message just received (its
 * SCM_TIMESTAMPNS control message) on the harness clock, or -1, under the
 * same rules as tsock_recv's. For receives made elsewhere (rxring.h). */
int64_t tsock_msg_stamp(const struct msghdr *m);

/* Make sure the kernel is stamping received segments, for the rest of the
 * process. It starts doing so only some milliseconds after the first
 * socket asks (a deferred job, net_enable_timestamp), and stops when the
 * last such socket closes, so segments of a run's first requests, or of a
 * level whose connections are all new, could come without a stamp. The
 * first call opens a loopback listening socket with SO_TIMESTAMPNS that
 * stays open until exit, and sends bytes to itself over loopback until one
 * comes back stamped (up to about 2 s); later calls return at once.
 * Returns 0 when stamps flow, -1 when they did not (reads are then stamped
 * by their callers). Thread-safe. */
int tsock_stamps_on(void);

/* Convert a CLOCK_REALTIME time in ns to CLOCK_MONOTONIC, with the offset
 * between the two clocks sampled now (exposed for the tests). */
int64_t tsock_realtime_to_mono(int64_t rt_ns);

#endif
