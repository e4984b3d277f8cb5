/* rxring.c - socket receives through io_uring (rxring.h).
 *
 * Raw system calls against <linux/io_uring.h>: the ring's three shared
 * areas (submission queue, its entries, completion queue) are mapped once;
 * received bytes land in a provided-buffer ring of equal buffers, each
 * laid out by the kernel as struct io_uring_recvmsg_out, then the control
 * messages (the receive stamp), then the payload. */
#include "rxring.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsock.h"

/* One buffer: header, control room, and up to about 3.9 KiB of payload
 * (a read of more continues in the next buffer). */
#define BUF_SIZE 4096u
#define SQ_ENTRIES 64u
/* The user_data of the ring's own cancel requests. */
#define CANCEL_TAG UINT64_MAX

struct rxring {
    int fd;
    int efd;
    /* Submission queue. */
    void *sq_map;
    size_t sq_map_len;
    _Atomic unsigned *sq_head, *sq_tail, *sq_flags;
    unsigned sq_mask, sq_entries, *sq_array;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    unsigned sqt;   /* our tail, published at each submission */
    unsigned unsub; /* entries queued but not yet submitted */
    /* Completion queue (in sq_map: IORING_FEAT_SINGLE_MMAP). */
    _Atomic unsigned *cq_head, *cq_tail;
    unsigned cq_mask;
    struct io_uring_cqe *cqes;
    /* Provided buffers. */
    struct io_uring_buf *br; /* the ring of buffer descriptors */
    size_t br_len;
    unsigned nbuf;
    unsigned short br_tail;
    char *bufs;
    size_t bufs_len;
    int held;         /* buffer of the completion last handed out, -1 none */
    struct msghdr mh; /* the receive's template: no name, TSOCK_CMSG_SPACE of control */
};

static int sys_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned submit, unsigned min, unsigned flags)
{
    return (int)syscall(__NR_io_uring_enter, fd, submit, min, flags, NULL, 0);
}

static int sys_register(int fd, unsigned op, void *arg, unsigned n)
{
    return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

/* Queue buffer bid for the kernel; buf_publish makes what is queued
 * visible to it. */
static void buf_put(rxring *r, unsigned bid)
{
    struct io_uring_buf *b = &r->br[r->br_tail & (r->nbuf - 1)];
    b->addr = (uint64_t)(uintptr_t)(r->bufs + (size_t)bid * BUF_SIZE);
    b->len = BUF_SIZE;
    b->bid = (unsigned short)bid;
    r->br_tail++;
}

static void buf_publish(rxring *r)
{
    atomic_store_explicit((_Atomic unsigned short *)&((struct io_uring_buf_ring *)r->br)->tail,
                          r->br_tail, memory_order_release);
}

static unsigned pow2_at_least(unsigned n)
{
    unsigned p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

bench_status rxring_create(unsigned conns, rxring **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    *out = NULL;
    rxring *r = calloc(1, sizeof *r);
    if (!r)
        return bench_fail(err, BENCH_ENOMEM, "io_uring: out of memory");
    r->fd = r->efd = -1;
    r->held = -1;
    r->sq_map = r->sqes = MAP_FAILED;
    r->br = MAP_FAILED;
    r->bufs = MAP_FAILED;
    unsigned cq = pow2_at_least(conns * 4 < 1024 ? 1024 : conns * 4);
    if (cq > 32768)
        cq = 32768;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
              IORING_SETUP_TASKRUN_FLAG;
    p.cq_entries = cq;
    r->fd = sys_setup(SQ_ENTRIES, &p);
    if (r->fd < 0) {
        st = bench_fail(err, BENCH_ESYS, "io_uring_setup: %s", strerror(errno));
        goto out;
    }
    if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_NODROP)) {
        st = bench_fail(err, BENCH_ESYS, "io_uring: this kernel's rings lack features used here");
        goto out;
    }
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    r->sq_map_len = sq_len > cq_len ? sq_len : cq_len;
    r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                     IORING_OFF_SQ_RING);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                   IORING_OFF_SQES);
    if (r->sq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
        st = bench_fail(err, BENCH_ESYS, "io_uring: mmap: %s", strerror(errno));
        goto out;
    }
    char *m = r->sq_map;
    r->sq_head = (_Atomic unsigned *)(m + p.sq_off.head);
    r->sq_tail = (_Atomic unsigned *)(m + p.sq_off.tail);
    r->sq_flags = (_Atomic unsigned *)(m + p.sq_off.flags);
    r->sq_mask = *(unsigned *)(m + p.sq_off.ring_mask);
    r->sq_entries = p.sq_entries;
    r->sq_array = (unsigned *)(m + p.sq_off.array);
    r->sqt = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
    r->cq_head = (_Atomic unsigned *)(m + p.cq_off.head);
    r->cq_tail = (_Atomic unsigned *)(m + p.cq_off.tail);
    r->cq_mask = *(unsigned *)(m + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);

    r->nbuf = pow2_at_least(conns < 256 ? 256 : conns);
    if (r->nbuf > 8192)
        r->nbuf = 8192;
    r->br_len = r->nbuf * sizeof(struct io_uring_buf);
    r->br = mmap(NULL, r->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r->bufs_len = (size_t)r->nbuf * BUF_SIZE;
    r->bufs = mmap(NULL, r->bufs_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->br == MAP_FAILED || r->bufs == MAP_FAILED) {
        st = bench_fail(err, BENCH_ENOMEM, "io_uring: out of memory for %u buffers", r->nbuf);
        goto out;
    }
    /* A child forked meanwhile (an evaluation's sandbox, gnuplot) must not
     * share these pages copy-on-write with the kernel's view of them. */
    madvise(r->br, r->br_len, MADV_DONTFORK);
    madvise(r->bufs, r->bufs_len, MADV_DONTFORK);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)r->br;
    reg.ring_entries = r->nbuf;
    reg.bgid = 0;
    if (sys_register(r->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
        st = bench_fail(err, BENCH_ESYS, "io_uring: provided buffer ring: %s", strerror(errno));
        goto out;
    }
    for (unsigned i = 0; i < r->nbuf; i++)
        buf_put(r, i);
    buf_publish(r);
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0 || sys_register(r->fd, IORING_REGISTER_EVENTFD, &r->efd, 1) < 0) {
        st = bench_fail(err, BENCH_ESYS, "io_uring: eventfd: %s", strerror(errno));
        goto out;
    }
    r->mh.msg_controllen = TSOCK_CMSG_SPACE;
    *out = r;
    r = NULL;
out:
    rxring_destroy(r);
    return st;
}

void rxring_destroy(rxring *r)
{
    if (!r)
        return;
    /* Closing the ring cancels its armed receives and drops their
     * references to the sockets. */
    if (r->fd >= 0)
        close(r->fd);
    if (r->efd >= 0)
        close(r->efd);
    if (r->sq_map != MAP_FAILED)
        munmap(r->sq_map, r->sq_map_len);
    if (r->sqes != MAP_FAILED)
        munmap(r->sqes, r->sqes_len);
    if (r->br != MAP_FAILED)
        munmap(r->br, r->br_len);
    if (r->bufs != MAP_FAILED)
        munmap(r->bufs, r->bufs_len);
    free(r);
}

int rxring_event_fd(const rxring *r)
{
    return r->efd;
}

int rxring_pending(const rxring *r)
{
    return (atomic_load_explicit(r->sq_flags, memory_order_relaxed) & IORING_SQ_TASKRUN) ||
           atomic_load_explicit(r->cq_head, memory_order_relaxed) !=
               atomic_load_explicit(r->cq_tail, memory_order_acquire);
}

/* Submit what is queued, and with `reap` run the waiting receives. */
static int enter(rxring *r, int reap)
{
    for (;;) {
        int n = sys_enter(r->fd, r->unsub, 0, reap ? IORING_ENTER_GETEVENTS : 0);
        if (n >= 0) {
            r->unsub -= (unsigned)n <= r->unsub ? (unsigned)n : r->unsub;
            return 0;
        }
        if (errno != EINTR)
            return -errno;
    }
}

/* A zeroed submission entry, queued (published, not yet submitted). */
static struct io_uring_sqe *sqe_get(rxring *r)
{
    if (r->sqt - atomic_load_explicit(r->sq_head, memory_order_acquire) >= r->sq_entries &&
        (enter(r, 0) != 0 ||
         r->sqt - atomic_load_explicit(r->sq_head, memory_order_acquire) >= r->sq_entries))
        return NULL;
    unsigned i = r->sqt & r->sq_mask;
    struct io_uring_sqe *e = &r->sqes[i];
    memset(e, 0, sizeof *e);
    r->sq_array[i] = i;
    return e;
}

static void sqe_push(rxring *r)
{
    r->sqt++;
    r->unsub++;
    atomic_store_explicit(r->sq_tail, r->sqt, memory_order_release);
}

int rxring_arm(rxring *r, int fd, uint64_t tag)
{
    struct io_uring_sqe *e = sqe_get(r);
    if (!e)
        return -EBUSY;
    e->opcode = IORING_OP_RECVMSG;
    e->fd = fd;
    e->addr = (uint64_t)(uintptr_t)&r->mh;
    e->len = 1;
    e->ioprio = IORING_RECV_MULTISHOT;
    e->flags = IOSQE_BUFFER_SELECT;
    e->buf_group = 0;
    e->user_data = tag;
    sqe_push(r);
    return enter(r, 0);
}

int rxring_cancel(rxring *r, uint64_t tag)
{
    struct io_uring_sqe *e = sqe_get(r);
    if (!e)
        return -EBUSY;
    e->opcode = IORING_OP_ASYNC_CANCEL;
    e->fd = -1;
    e->addr = tag;
    e->user_data = CANCEL_TAG;
    sqe_push(r);
    return 0;
}

int rxring_reap(rxring *r)
{
    return enter(r, 1);
}

int rxring_next(rxring *r, rxring_cqe *c)
{
    if (r->held >= 0) {
        buf_put(r, (unsigned)r->held);
        buf_publish(r);
        r->held = -1;
    }
    unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
    for (;;) {
        if (head == atomic_load_explicit(r->cq_tail, memory_order_acquire))
            return 0;
        struct io_uring_cqe q = r->cqes[head & r->cq_mask];
        atomic_store_explicit(r->cq_head, ++head, memory_order_release);
        if (q.user_data == CANCEL_TAG)
            continue;
        c->tag = q.user_data;
        c->res = q.res;
        c->more = (q.flags & IORING_CQE_F_MORE) != 0;
        c->data = NULL;
        c->t_ns = -1;
        if (!(q.flags & IORING_CQE_F_BUFFER))
            return 1; /* an error, or the end of a receive that read nothing */
        r->held = (int)(q.flags >> IORING_CQE_BUFFER_SHIFT);
        const char *b = r->bufs + (size_t)r->held * BUF_SIZE;
        struct io_uring_recvmsg_out o;
        size_t room = sizeof o + TSOCK_CMSG_SPACE;
        memcpy(&o, b, sizeof o);
        if (q.res < 0 || (size_t)q.res < room || o.namelen != 0 ||
            o.controllen > TSOCK_CMSG_SPACE) {
            c->res = -EPROTO; /* cannot be from this ring's receives */
            return 1;
        }
        /* The payload's length as the kernel gives it; end of stream when
         * 0 (the receive then ends). */
        size_t len = o.payloadlen;
        if (len > (size_t)q.res - room)
            len = (size_t)q.res - room;
        c->res = (int)len;
        c->data = b + room;
        if (len > 0) {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_control = (void *)(b + sizeof o);
            m.msg_controllen = o.controllen;
            m.msg_flags = (int)o.flags;
            c->t_ns = tsock_msg_stamp(&m);
        }
        return 1;
    }
}
