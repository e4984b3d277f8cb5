#include "tsock.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* The offset between the clocks is re-sampled this often: they move
 * together but for steps of the wall clock (settimeofday, NTP steps). */
#define OFFSET_TTL_NS (50 * 1000 * 1000LL)
/* A kernel stamp older than this against the read is not believed (a step
 * of the wall clock between the segment and the read): the caller stamps
 * the read itself. */
#define STAMP_MAX_AGE_NS (10LL * 1000 * 1000 * 1000)
#define STAMP_MAX_AHEAD_NS (1000 * 1000LL)
/* A sample of the offset is taken again while the wall-clock read's
 * bracket of monotonic reads is wider than this, up to OFFSET_TRIES times
 * (the narrowest is kept): its error is half the bracket. */
#define OFFSET_BRACKET_NS 1000
#define OFFSET_TRIES 8

static bench_status url_part(CURLU *u, CURLUPart what, unsigned flags, char *out, size_t n,
                             const char *url, const char *name, bench_err *err)
{
    char *v = NULL;
    CURLUcode uc = curl_url_get(u, what, &v, flags);
    if (uc != CURLUE_OK || !v) {
        curl_free(v);
        return bench_fail(err, BENCH_EUSAGE, "URL '%s': no %s", url, name);
    }
    size_t l = strlen(v);
    if (l >= n) {
        curl_free(v);
        return bench_fail(err, BENCH_EUSAGE, "URL '%s': %s longer than %zu bytes", url, name,
                          n - 1);
    }
    memcpy(out, v, l + 1);
    curl_free(v);
    return BENCH_OK;
}

bench_status tsock_target_init(tsock_target *t, const char *url, bench_err *err)
{
    bench_status st = BENCH_OK;
    memset(t, 0, sizeof *t);
    CURLU *u = curl_url();
    char scheme[16], port[16];
    if (!u)
        return bench_fail(err, BENCH_ENOMEM, "out of memory parsing URL");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        st = bench_fail(err, BENCH_EUSAGE, "URL '%s' cannot be parsed", url);
        goto out;
    }
    if ((st = url_part(u, CURLUPART_SCHEME, 0, scheme, sizeof scheme, url, "scheme", err)))
        goto out;
    if (strcasecmp(scheme, "http") != 0) {
        st = bench_fail(err, BENCH_EUSAGE,
                        "URL '%s': the built-in HTTP client speaks plain http:// only", url);
        goto out;
    }
    if ((st = url_part(u, CURLUPART_HOST, 0, t->host, sizeof t->host, url, "host", err)) ||
        (st = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof port, url, "port",
                       err)) ||
        (st = url_part(u, CURLUPART_PATH, 0, t->path, sizeof t->path, url, "path", err)))
        goto out;
    char *q = NULL;
    if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q) {
        size_t pl = strlen(t->path), ql = strlen(q);
        if (pl + 1 + ql >= sizeof t->path) {
            curl_free(q);
            st = bench_fail(err, BENCH_EUSAGE, "URL '%s': path and query too long", url);
            goto out;
        }
        t->path[pl] = '?';
        memcpy(t->path + pl + 1, q, ql + 1);
        curl_free(q);
    }
    t->port = atoi(port);
    int v6 = t->host[0] == '[';
    /* The Host header carries the port unless it is the scheme's own, as
     * browsers and libcurl send it. */
    if (t->port == 80)
        snprintf(t->hostport, sizeof t->hostport, "%s", t->host);
    else
        snprintf(t->hostport, sizeof t->hostport, "%s:%d", t->host, t->port);
    if (v6) {
        size_t l = strlen(t->host);
        memmove(t->host, t->host + 1, l - 2);
        t->host[l - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
    int rc = getaddrinfo(t->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(t->resolve_error, sizeof t->resolve_error, "could not resolve host '%s': %s",
                 t->host, gai_strerror(rc));
        goto out;
    }
    for (struct addrinfo *a = res; a && t->n < TSOCK_MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof t->addr[0])
            continue;
        memcpy(&t->addr[t->n], a->ai_addr, a->ai_addrlen);
        t->addrlen[t->n++] = a->ai_addrlen;
    }
    freeaddrinfo(res);
    if (t->n == 0)
        snprintf(t->resolve_error, sizeof t->resolve_error, "host '%s' has no TCP address",
                 t->host);
out:
    curl_url_cleanup(u);
    return st;
}

int tsock_connect(const tsock_target *t, int i, int *fd)
{
    *fd = -1;
    int s = socket(t->addr[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Best effort: without it reads are stamped by the caller. */
    setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (connect(s, (const struct sockaddr *)&t->addr[i], t->addrlen[i]) == 0) {
        *fd = s;
        return 0;
    }
    int e = errno;
    if (e == EINPROGRESS) {
        *fd = s;
        return EINPROGRESS;
    }
    close(s);
    return e;
}

int tsock_connect_result(int fd)
{
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0)
        return errno;
    return e;
}

/* rt_ns on the monotonic clock, now being a CLOCK_MONOTONIC read just
 * taken (the caller's, so that a read costs one clock read, not two). */
static int64_t to_mono(int64_t rt_ns, int64_t now)
{
    static _Thread_local int64_t offset, sampled;
    static _Thread_local int have;
    if (!have || now - sampled > OFFSET_TTL_NS || now < sampled) {
        /* The wall clock read between two monotonic reads: the offset is
         * right to within half their distance. That is well under a
         * microsecond with the vDSO, but not when the thread is interrupted
         * between the reads (on this project's VM one sample was at least
         * 36 us wide: every stamp of the next 50 ms came out 18 us early),
         * so a wide bracket is sampled again. */
        int64_t best = INT64_MAX;
        for (int i = 0; i < OFFSET_TRIES && best > OFFSET_BRACKET_NS; i++) {
            int64_t m0 = clock_now_ns(), r = clock_unix_ns(), m1 = clock_now_ns();
            if (m1 - m0 < best) {
                best = m1 - m0;
                offset = r - (m0 + (m1 - m0) / 2);
                sampled = m1;
            }
        }
        have = 1;
    }
    return rt_ns - offset;
}

int64_t tsock_realtime_to_mono(int64_t rt_ns)
{
    return to_mono(rt_ns, clock_now_ns());
}

int64_t tsock_msg_stamp(const struct msghdr *m)
{
    if (m->msg_flags & MSG_CTRUNC)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        int64_t rt = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        if (rt <= 0)
            return -1;
        int64_t now = clock_now_ns(), mono = to_mono(rt, now);
        /* Later than the read by more than the offset's own error, or
         * older than any read could be: the wall clock stepped between the
         * segment and the read, and the stamp is not used. */
        if (mono > now + STAMP_MAX_AHEAD_NS || now - mono > STAMP_MAX_AGE_NS)
            return -1;
        return mono < now ? mono : now;
    }
    return -1;
}

ssize_t tsock_recv(int fd, void *buf, size_t n, int flags, int64_t *t_ns)
{
    union {
        char b[TSOCK_CMSG_SPACE];
        struct cmsghdr align;
    } cb;
    struct iovec io = {buf, n};
    struct msghdr m = {
        .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b};
    *t_ns = -1;
    ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT | flags);
    if (r > 0)
        *t_ns = tsock_msg_stamp(&m);
    return r;
}

static int stamps_rc = -1;

static void stamps_start(void)
{
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int a = -1;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || c < 0 || setsockopt(l, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) ||
        bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &sl) ||
        connect(c, (struct sockaddr *)&sa, sizeof sa) ||
        (a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
        goto out;
    for (int i = 0; i < 2000 && stamps_rc; i++) {
        char b;
        int64_t t;
        struct timespec ms = {0, 1000000};
        if (send(c, "x", 1, MSG_NOSIGNAL) != 1)
            break;
        struct pollfd p = {.fd = a, .events = POLLIN};
        if (poll(&p, 1, 1000) != 1 || tsock_recv(a, &b, 1, 0, &t) != 1)
            break;
        if (t >= 0)
            stamps_rc = 0;
        else
            nanosleep(&ms, NULL);
    }
out:
    if (a >= 0)
        close(a);
    if (c >= 0)
        close(c);
    /* l stays open: while one socket asks for them, the kernel keeps
     * stamping. */
    if (stamps_rc && l >= 0)
        close(l);
}

int tsock_stamps_on(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, stamps_start);
    return stamps_rc;
}
