/* Unit tests: rxring, the native transport's io_uring receives, over real
 * loopback TCP connections: bytes come out whole and in order with the
 * kernel's receive stamp, a read larger than one buffer continues in the
 * next ones, the eventfd fires when receives wait, end of stream ends the
 * receive, and a cancelled receive reads nothing more. Where the kernel
 * refuses io_uring (a seccomp profile, kernel.io_uring_disabled), the one
 * thing checked is that rxring_create says so, as the worker then reads
 * with recvmsg. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "cutest.h"
#include "rxring.h"
#include "tsock.h"

static int g_avail;
static char g_why[sizeof(((bench_err *)0)->msg)];

/* A connected loopback pair: *c the client end (kernel stamps on, as
 * tsock_connect sets them), *s the server end. 0 or -1. */
static int tcp_pair(int *c, int *s)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    *c = *s = -1;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        goto fail;
    *c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(*c, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    *s = accept(l, NULL, NULL);
    if (*s < 0)
        goto fail;
    close(l);
    return 0;
fail:
    if (l >= 0)
        close(l);
    if (*c >= 0)
        close(*c);
    *c = -1;
    return -1;
}

/* A ring of `conns` with one loopback connection armed under `tag`; 0 or
 * -1 (the ring and sockets are then closed). */
static int ring_conn(unsigned conns, uint64_t tag, rxring **r, int *c, int *s)
{
    bench_err e;
    *r = NULL;
    if (rxring_create(conns, r, &e) != BENCH_OK)
        return -1;
    if (tcp_pair(c, s) == 0) {
        if (rxring_arm(*r, *c, tag) == 0)
            return 0;
        close(*c);
        close(*s);
    }
    rxring_destroy(*r);
    *r = NULL;
    return -1;
}

/* Wait up to 2 s for the ring's eventfd, then reap: 1 when it fired. */
static int wait_reap(rxring *r)
{
    struct pollfd p = {.fd = rxring_event_fd(r), .events = POLLIN};
    int fired = rxring_pending(r) || poll(&p, 1, 2000) == 1;
    CU_ASSERT_EQUAL(rxring_reap(r), 0);
    return fired;
}

/* Collect completions of `tag` into buf until `want` bytes came or 2 s
 * passed; the number of completions, their first stamp in *t_first, and
 * whether every one carried a stamp and stayed armed. */
static int collect(rxring *r, uint64_t tag, char *buf, size_t want, size_t *got, int64_t *t_first,
                   int *all_stamped, int *all_more)
{
    int n = 0;
    *got = 0;
    *t_first = -1;
    *all_stamped = *all_more = 1;
    int64_t until = clock_now_ns() + 2000000000LL;
    while (*got < want && clock_now_ns() < until) {
        wait_reap(r);
        rxring_cqe c;
        while (rxring_next(r, &c)) {
            CU_ASSERT_EQUAL(c.tag, tag);
            CU_ASSERT(c.res > 0);
            if (c.res <= 0 || *got + (size_t)c.res > want)
                return -1;
            memcpy(buf + *got, c.data, (size_t)c.res);
            *got += (size_t)c.res;
            if (*t_first < 0)
                *t_first = c.t_ns;
            *all_stamped &= c.t_ns >= 0;
            *all_more &= c.more;
            n++;
        }
    }
    return n;
}

/* A ring, idle with its eventfd; or the reason none can be had. */
static void test_create(void)
{
    if (!g_avail) {
        printf("\n  io_uring is not available here: %s\n", g_why);
        CU_ASSERT(strstr(g_why, "io_uring") != NULL);
        return;
    }
    rxring *r = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(rxring_create(100000, &r, &e), BENCH_OK);
    CU_ASSERT(rxring_event_fd(r) >= 0);
    CU_ASSERT_FALSE(rxring_pending(r));
    CU_ASSERT_EQUAL(rxring_reap(r), 0);
    rxring_cqe q;
    CU_ASSERT_EQUAL(rxring_next(r, &q), 0);
    rxring_destroy(r);
}

/* Small writes: whole, in order, stamped between the write and the reap. */
static void test_bytes_and_stamps(void)
{
    if (!g_avail)
        return;
    rxring *r;
    int c, s;
    CU_ASSERT_EQUAL_FATAL(ring_conn(4, 0x1234500000007ULL, &r, &c, &s), 0);
    for (int k = 0; k < 3; k++) {
        char msg[32], buf[64];
        int len = snprintf(msg, sizeof msg, "data: event %d\n\n", k);
        int64_t t0 = clock_now_ns();
        CU_ASSERT_EQUAL_FATAL(write(s, msg, (size_t)len), len);
        size_t got;
        int64_t t;
        int stamped, more;
        int n = collect(r, 0x1234500000007ULL, buf, (size_t)len, &got, &t, &stamped, &more);
        int64_t t1 = clock_now_ns();
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_EQUAL(got, (size_t)len);
        CU_ASSERT_EQUAL(memcmp(buf, msg, (size_t)len), 0);
        CU_ASSERT(more);
        /* The kernel's receive time: after the write began, not after the
         * completion was handed out. */
        CU_ASSERT(stamped);
        CU_ASSERT(t >= t0 - 50000 && t <= t1);
        if (!(t >= t0 - 50000 && t <= t1))
            fprintf(stderr, "stamp %lld outside [%lld, %lld]\n", (long long)t, (long long)t0,
                    (long long)t1);
    }
    close(s);
    close(c);
    rxring_destroy(r);
}

/* A write larger than a buffer comes out in several completions, in order,
 * each stamped; the eventfd fired for it. */
static void test_large_read_spans_buffers(void)
{
    if (!g_avail)
        return;
    rxring *r;
    int c, s;
    CU_ASSERT_EQUAL_FATAL(ring_conn(4, 3, &r, &c, &s), 0);
    size_t big = 200000;
    char *out = malloc(big), *in = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    for (size_t i = 0; i < big; i++)
        out[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    size_t sent = 0;
    while (sent < big) {
        ssize_t w = write(s, out + sent, big - sent);
        CU_ASSERT_FATAL(w > 0);
        sent += (size_t)w;
    }
    struct pollfd p = {.fd = rxring_event_fd(r), .events = POLLIN};
    CU_ASSERT(rxring_pending(r) || poll(&p, 1, 2000) == 1);
    size_t got;
    int64_t t;
    int stamped, more;
    int n = collect(r, 3, in, big, &got, &t, &stamped, &more);
    CU_ASSERT_EQUAL(got, big);
    CU_ASSERT(n >= (int)(big / 4096));
    CU_ASSERT_EQUAL(memcmp(in, out, big), 0);
    CU_ASSERT(stamped);
    CU_ASSERT(more);
    free(out);
    free(in);
    close(s);
    close(c);
    rxring_destroy(r);
}

/* The peer's close ends the receive: 0 bytes, not armed any more. */
static void test_end_of_stream(void)
{
    if (!g_avail)
        return;
    rxring *r;
    int c, s;
    CU_ASSERT_EQUAL_FATAL(ring_conn(4, 11, &r, &c, &s), 0);
    CU_ASSERT_EQUAL(write(s, "bye", 3), 3);
    close(s);
    int saw_data = 0, saw_end = 0;
    int64_t until = clock_now_ns() + 2000000000LL;
    while (!saw_end && clock_now_ns() < until) {
        wait_reap(r);
        rxring_cqe q;
        while (rxring_next(r, &q)) {
            CU_ASSERT_EQUAL(q.tag, 11);
            if (q.res > 0) {
                CU_ASSERT_FALSE(saw_end);
                saw_data += q.res;
            } else {
                CU_ASSERT_EQUAL(q.res, 0);
                CU_ASSERT_FALSE(q.more);
                saw_end = 1;
            }
        }
    }
    CU_ASSERT_EQUAL(saw_data, 3);
    CU_ASSERT(saw_end);
    close(c);
    rxring_destroy(r);
}

/* A cancelled receive ends (-ECANCELED, not armed) and reads nothing more:
 * bytes sent after it stay in the socket for whoever reads next. */
static void test_cancel(void)
{
    if (!g_avail)
        return;
    rxring *r;
    int c, s;
    CU_ASSERT_EQUAL_FATAL(ring_conn(4, 21, &r, &c, &s), 0);
    CU_ASSERT_EQUAL(rxring_cancel(r, 21), 0);
    CU_ASSERT_EQUAL(rxring_reap(r), 0);
    int ended = 0;
    rxring_cqe q;
    while (rxring_next(r, &q)) {
        CU_ASSERT_EQUAL(q.tag, 21);
        CU_ASSERT_EQUAL(q.res, -ECANCELED);
        CU_ASSERT_FALSE(q.more);
        ended++;
    }
    CU_ASSERT_EQUAL(ended, 1);
    CU_ASSERT_EQUAL(write(s, "late", 4), 4);
    usleep(20000);
    CU_ASSERT_EQUAL(rxring_reap(r), 0);
    CU_ASSERT_EQUAL(rxring_next(r, &q), 0);
    char b[8];
    int64_t t;
    CU_ASSERT_EQUAL(tsock_recv(c, b, sizeof b, 0, &t), 4);
    CU_ASSERT_EQUAL(memcmp(b, "late", 4), 0);
    close(s);
    close(c);
    rxring_destroy(r);
}

/* Many connections at once: each one's bytes under its own tag. */
static void test_many_connections(void)
{
    if (!g_avail)
        return;
    enum { N = 32 };
    rxring *r = NULL;
    bench_err e;
    int c[N], s[N];
    CU_ASSERT_EQUAL_FATAL(rxring_create(N, &r, &e), BENCH_OK);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(tcp_pair(&c[i], &s[i]), 0);
        CU_ASSERT_EQUAL_FATAL(rxring_arm(r, c[i], (uint64_t)i), 0);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++) {
            char m[16];
            int len = snprintf(m, sizeof m, "%02d.%d;", i, round);
            CU_ASSERT_EQUAL(write(s[i], m, (size_t)len), len);
        }
    char got[N][64];
    size_t len[N] = {0};
    int64_t until = clock_now_ns() + 2000000000LL;
    size_t total = 0;
    while (total < N * 15 && clock_now_ns() < until) {
        wait_reap(r);
        rxring_cqe q;
        while (rxring_next(r, &q)) {
            CU_ASSERT_FATAL(q.tag < N && q.res > 0 && len[q.tag] + (size_t)q.res < 64);
            memcpy(got[q.tag] + len[q.tag], q.data, (size_t)q.res);
            len[q.tag] += (size_t)q.res;
            total += (size_t)q.res;
        }
    }
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof want, "%02d.0;%02d.1;%02d.2;", i, i, i);
        CU_ASSERT_EQUAL(len[i], strlen(want));
        CU_ASSERT_EQUAL(memcmp(got[i], want, strlen(want)), 0);
        close(s[i]);
        close(c[i]);
    }
    rxring_destroy(r);
}

static CU_TestInfo tests[] = {
    {"a ring, or the reason there is none", test_create},
    {"small writes: whole, in order, kernel-stamped", test_bytes_and_stamps},
    {"a large write spans buffers, in order", test_large_read_spans_buffers},
    {"end of stream ends the receive", test_end_of_stream},
    {"a cancelled receive reads nothing more", test_cancel},
    {"32 connections, each under its tag", test_many_connections},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    tsock_stamps_on();
    rxring *r = NULL;
    bench_err e;
    g_avail = rxring_create(1, &r, &e) == BENCH_OK;
    if (!g_avail)
        snprintf(g_why, sizeof g_why, "%s", e.msg);
    rxring_destroy(r);
    return cutest_run("rxring", tests);
}
