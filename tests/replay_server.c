/* replay_server.c - a test peer that answers streaming requests with a
 * transcript captured from a real server (../shared/samples), at a stated
 * pace, and logs the CLOCK_MONOTONIC time of every write it makes.
 *
 * Written in C with plain sockets and threads, so that it is built by meson
 * with the tests, needs no interpreter, and stamps its writes with the very
 * clock (CLOCK_MONOTONIC) bench stamps its reads with: the test compares the
 * two directly. A request's arrival is converted by tsock.h, as bench's
 * reads are.
 *
 * usage: replay_server --transcript FILE [--port P] [--ttft-ms N] [--gap-ms N]
 *                      [--per-write N] [--close | --drop | --one-per-conn] [--log FILE]
 *
 * A transcript starting with "HTTP/" is raw (status line, headers, chunked
 * framing, as captured): its header block is written as soon as a request has
 * been read, its first HTTP chunk --ttft-ms later, and each following HTTP
 * chunk (the terminating 0-size one included) --gap-ms after the one before,
 * --per-write HTTP chunks per write (default 1), bytes exactly as captured.
 * Any other transcript is an SSE body: the server writes "HTTP/1.1 200 OK"
 * with Content-Type: text/event-stream itself, at once, then the events (an
 * event ends with its blank line) --per-write at a time (default 1), the
 * first write --ttft-ms after the request, the next ones --gap-ms apart. The
 * body is chunked (one HTTP chunk per write, the terminating chunk in the
 * last write), or with --close sent without framing and ended by closing the
 * connection, or with --drop chunked but cut off: the connection is closed
 * where the terminating chunk should be. Delays chain from the previous
 * write's due time.
 *
 * Only paths ending in "/completions" get the transcript; any other path is
 * 404 with a llama-server style error body ({"error":{"code":404,...}}), so
 * the server has no /tokenize. Connections are kept alive (not with --close
 * or --drop) and served one thread each.
 *
 * --one-per-conn answers only the first request of each connection (as
 * above, kept alive: no Connection: close); the connection's next request
 * is read in full and the connection then closed without an answer. That
 * is the keep-alive race a client must survive (a server closing an idle
 * connection just as the client reuses it): the request never got a byte
 * back, so the client sends it again on a fresh connection.
 *
 * Prints "PORT <n>" on stdout once listening on 127.0.0.1 (--port 0, the
 * default, picks a free port). The log (--log) gets one line per request and
 * per write, each written whole:
 *     req <request-id> <t_ns>                   the request arrived: the kernel's
 *                                               receive stamp of the read that took
 *                                               its first bytes (else when fully read)
 *     write <request-id> <i> <t_ns> <off> <len> write i (0: the headers); off, len:
 *                                               the transcript bytes it carried
 *     unanswered <request-id> <t_ns>            --one-per-conn: request fully read,
 *                                               the connection then closed unanswered
 * <request-id> is the request's X-Request-Id header ("-" when absent), t_ns
 * CLOCK_MONOTONIC (for a write, just before it). A request's arrival is
 * the kernel's stamp, not the time its thread read it: on a loaded machine
 * a new connection's thread can wake tens of ms late, and the tests measure
 * the client, not this server's scheduling. Runs until killed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tsock.h"

#define REQ_MAX (4u << 20) /* largest request (headers and body) accepted */

typedef struct {
    size_t off, len;
} unit;

static struct {
    char *data;
    size_t len;
    int raw;
    size_t head_len; /* raw: the captured header block */
    unit *units;     /* HTTP chunks (raw) or SSE events */
    size_t n_units;
    long ttft_ms, gap_ms, per_write;
    int close_after; /* --close: unframed body, ended by closing */
    int drop;        /* --drop: chunked, but closed without the terminating chunk */
    int one_req;     /* --one-per-conn: a connection's second request is not answered */
    int log_fd;
    pthread_mutex_t log_lock;
} g = {.ttft_ms = 20, .gap_ms = 5, .per_write = 1, .log_fd = -1};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One recvmsg into buf; the kernel's receive stamp of what it read on
 * CLOCK_MONOTONIC (tsock_msg_stamp, the client's own conversion), -1
 * without one. */
static int64_t recv_stamped(int fd, char *buf, size_t n, ssize_t *got)
{
    union {
        char b[TSOCK_CMSG_SPACE];
        struct cmsghdr align;
    } cb;
    struct iovec io = {buf, n};
    struct msghdr m = {
        .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b};
    *got = recvmsg(fd, &m, 0);
    return *got > 0 ? tsock_msg_stamp(&m) : -1;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_line(const char *fmt, ...)
{
    if (g.log_fd < 0)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n <= 0 || (size_t)n >= sizeof line)
        return;
    pthread_mutex_lock(&g.log_lock);
    ssize_t w = write(g.log_fd, line, (size_t)n);
    (void)w;
    pthread_mutex_unlock(&g.log_lock);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int add_unit(size_t off, size_t len)
{
    unit *u = realloc(g.units, (g.n_units + 1) * sizeof *u);
    if (!u)
        return -1;
    g.units = u;
    g.units[g.n_units++] = (unit){off, len};
    return 0;
}

/* Split the raw transcript into its header block and HTTP chunks (each unit
 * spans the size line, the data and its CRLF; the last one, size 0, runs to
 * the end of the file). */
static int split_raw(void)
{
    const char *hend = memmem(g.data, g.len, "\r\n\r\n", 4);
    if (!hend)
        return -1;
    g.head_len = (size_t)(hend - g.data) + 4;
    size_t pos = g.head_len;
    while (pos < g.len) {
        char *end;
        unsigned long sz = strtoul(g.data + pos, &end, 16);
        const char *crlf = memmem(g.data + pos, g.len - pos, "\r\n", 2);
        if (!crlf || end == g.data + pos)
            return -1;
        if (sz == 0)
            return add_unit(pos, g.len - pos);
        size_t next = (size_t)(crlf - g.data) + 2 + sz + 2;
        if (next > g.len || add_unit(pos, next - pos))
            return -1;
        pos = next;
    }
    return 0;
}

/* Split an SSE body into events, each with its terminating blank line. */
static int split_sse(void)
{
    size_t pos = 0;
    while (pos < g.len) {
        size_t end = g.len;
        for (size_t i = pos; i + 1 < g.len; i++) {
            if (g.data[i] == '\n' && g.data[i + 1] == '\n') {
                end = i + 2;
                break;
            }
            if (i + 3 < g.len && memcmp(g.data + i, "\r\n\r\n", 4) == 0) {
                end = i + 4;
                break;
            }
        }
        if (add_unit(pos, end - pos))
            return -1;
        pos = end;
    }
    return 0;
}

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) || sb.st_size <= 0) {
        fclose(f);
        return -1;
    }
    g.len = (size_t)sb.st_size;
    g.data = malloc(g.len + 1);
    size_t got = g.data ? fread(g.data, 1, g.len, f) : 0;
    fclose(f);
    if (got != g.len)
        return -1;
    g.data[g.len] = '\0';
    g.raw = g.len > 5 && memcmp(g.data, "HTTP/", 5) == 0;
    return g.raw ? split_raw() : split_sse();
}

/* Replay the transcript as the answer to request `id`. -1 when the peer is
 * gone. */
static int replay(int fd, const char *id)
{
    char head[256];
    const char *hp = head;
    size_t hl;
    if (g.raw) {
        hp = g.data;
        hl = g.head_len;
    } else {
        hl = (size_t)snprintf(head, sizeof head,
                              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Cache-Control: no-cache\r\n%s\r\n",
                              g.close_after ? "Connection: close\r\n"
                                            : "Transfer-Encoding: chunked\r\n");
    }
    int64_t due = now_ns();
    log_line("write %s 0 %lld %zu %zu\n", id, (long long)due, (size_t)0, g.raw ? hl : 0);
    if (send_all(fd, hp, hl))
        return -1;
    due += g.ttft_ms * 1000000;
    char *buf = NULL;
    int rc = 0;
    int idx = 1;
    for (size_t u = 0; u < g.n_units; u += (size_t)g.per_write, idx++) {
        size_t last = u + (size_t)g.per_write < g.n_units ? u + (size_t)g.per_write : g.n_units;
        size_t off = g.units[u].off;
        size_t len = g.units[last - 1].off + g.units[last - 1].len - off;
        const char *p = g.data + off;
        size_t n = len;
        if (!g.raw && !g.close_after) { /* one HTTP chunk per write */
            free(buf);
            buf = malloc(len + 64);
            if (!buf) {
                rc = -1;
                break;
            }
            int k = sprintf(buf, "%zx\r\n", len);
            memcpy(buf + k, p, len);
            n = (size_t)k + len;
            memcpy(buf + n, "\r\n", 2);
            n += 2;
            if (last == g.n_units && !g.drop) {
                memcpy(buf + n, "0\r\n\r\n", 5);
                n += 5;
            }
            p = buf;
        }
        sleep_until(due);
        log_line("write %s %d %lld %zu %zu\n", id, idx, (long long)now_ns(), off, len);
        if (send_all(fd, p, n)) {
            rc = -1;
            break;
        }
        due += g.gap_ms * 1000000;
    }
    free(buf);
    return rc;
}

/* Header value of name in the header block [h, h+n) into out (cut). */
static int header_value(const char *h, size_t n, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = h, *e = h + n;
    while (p < e) {
        const char *eol = memmem(p, (size_t)(e - p), "\r\n", 2);
        if (!eol)
            eol = e;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= outsz)
                vl = outsz - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *in = malloc(REQ_MAX);
    size_t have = 0;
    int served = 0; /* requests of this connection read so far */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    /* Stamps of the reads that took the first bytes in `in` and the last. */
    int64_t t_first = -1, t_last = -1;
    while (in) {
        /* One request: headers, then Content-Length bytes of body. */
        char *hend;
        while (!(hend = memmem(in, have, "\r\n\r\n", 4))) {
            if (have == REQ_MAX)
                goto out;
            ssize_t r;
            int64_t t = recv_stamped(fd, in + have, REQ_MAX - have, &r);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            if (have == 0)
                t_first = t;
            t_last = t;
            have += (size_t)r;
        }
        size_t hlen = (size_t)(hend - in) + 4;
        char v[128], id[128] = "-", method[16] = "", path[256] = "";
        size_t clen = 0;
        if (header_value(in, hlen, "Content-Length", v, sizeof v))
            clen = strtoul(v, NULL, 10);
        if (header_value(in, hlen, "X-Request-Id", v, sizeof v) && v[0] && !strpbrk(v, " \t"))
            snprintf(id, sizeof id, "%s", v);
        if (sscanf(in, "%15s %255s", method, path) != 2 || clen > REQ_MAX - hlen)
            goto out;
        while (have < hlen + clen) {
            ssize_t r = recv(fd, in + have, REQ_MAX - have, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        if (g.one_req && served++ > 0) {
            log_line("unanswered %s %lld\n", id, (long long)now_ns());
            goto out;
        }
        log_line("req %s %lld\n", id, (long long)(t_first >= 0 ? t_first : now_ns()));
        size_t pl = strlen(path);
        char *q = strchr(path, '?');
        if (q)
            pl = (size_t)(q - path);
        int ours = pl >= 12 && memcmp(path + pl - 12, "/completions", 12) == 0;
        if (ours && strcmp(method, "POST") == 0) {
            if (replay(fd, id) || g.close_after || g.drop)
                goto out;
        } else {
            static const char body[] = "{\"error\":{\"code\":404,\"message\":\"File Not "
                                       "Found\",\"type\":\"not_found_error\"}}";
            char resp[512];
            int n = snprintf(resp, sizeof resp,
                             "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; "
                             "charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
                             sizeof body - 1, body);
            if (send_all(fd, resp, (size_t)n))
                goto out;
        }
        memmove(in, in + hlen + clen, have - hlen - clen);
        have -= hlen + clen;
        t_first = have ? t_last : -1; /* the next request's first bytes came then */
    }
out:
    free(in);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static int opt_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *transcript = NULL, *log_path = NULL;
    long port = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--close") == 0 || strcmp(a, "--drop") == 0) {
            *(a[2] == 'c' ? &g.close_after : &g.drop) = 1;
            continue;
        }
        if (strcmp(a, "--one-per-conn") == 0) {
            g.one_req = 1;
            continue;
        }
        if (!v)
            bad = 1;
        else if (strcmp(a, "--transcript") == 0)
            transcript = v;
        else if (strcmp(a, "--log") == 0)
            log_path = v;
        else if (strcmp(a, "--port") == 0)
            bad = opt_long(v, 0, 65535, &port);
        else if (strcmp(a, "--ttft-ms") == 0)
            bad = opt_long(v, 0, 600000, &g.ttft_ms);
        else if (strcmp(a, "--gap-ms") == 0)
            bad = opt_long(v, 0, 600000, &g.gap_ms);
        else if (strcmp(a, "--per-write") == 0)
            bad = opt_long(v, 1, 1000000, &g.per_write);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "replay_server: bad option '%s' (see the comment at the top)\n", a);
            return 2;
        }
        i++;
    }
    if (!transcript || load(transcript)) {
        fprintf(stderr, "replay_server: cannot load a transcript from %s\n",
                transcript ? transcript : "(no --transcript)");
        return 2;
    }
    pthread_mutex_init(&g.log_lock, NULL);
    if (log_path && (g.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC,
                                     0644)) < 0) {
        fprintf(stderr, "replay_server: %s: %s\n", log_path, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    /* Receive stamps asked for on the listening socket too, so that the
     * kernel stamps from before the first connection (it starts some ms
     * after the first socket asks). */
    if (ls >= 0)
        setsockopt(ls, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 128) ||
        getsockname(ls, (struct sockaddr *)&a, &al)) {
        fprintf(stderr, "replay_server: cannot listen on 127.0.0.1:%ld: %s\n", port,
                strerror(errno));
        return 1;
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "replay_server: accept: %s\n", strerror(errno));
            return 1;
        }
        /* Small writes must leave at once, not wait for the previous one's ACK. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, serve_conn, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&at);
    }
}
