/* h1.c - incremental HTTP/1.1 response parser (see h1.h).
 *
 * Design: one loop over the fed bytes, switching on the state. Lines (the
 * status line, header lines, chunk-size lines, trailer lines) are found with
 * memchr; a line lying whole inside one feed is parsed in place, and only a
 * line split across feeds is copied into line[]. Body bytes, Content-Length
 * or chunk data, are handed to on_body straight from the caller's buffer,
 * as many as the feed holds, so the body path costs one callback per feed
 * and no per-byte work; the CRLF after chunk data is two byte compares.
 *
 * Caps and where they apply, so that any split of the input gives the same
 * result (h1.h):
 *   - the header section (status line through the blank line), each
 *     interim response's counted on its own, and the trailer section:
 *     H1_MAX_HEAD bytes, counted as bytes arrive;
 *   - a chunk-size line (extensions included): sizeof line bytes;
 *   - a status or header line split across feeds must fit line[] (a longer
 *     line is accepted only when it arrives whole in one feed: the parser
 *     has nowhere to assemble it). Trailer lines are ignored, so they need
 *     no assembly and have no such limit.
 * A status line is rejected as soon as its first bytes differ from
 * "HTTP/1.", so a peer speaking another protocol fails at once, whatever it
 * sends next. */
#include "h1.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#define PFX "HTTP response: "

enum {
    S_STATUS,     /* before or inside a status line */
    S_HEADER,     /* inside a header section */
    S_BODY_CL,    /* remaining (> 0) bytes of a Content-Length body left */
    S_BODY_CLOSE, /* body until the connection closes */
    S_CHUNK_SIZE, /* before or inside a chunk-size line */
    S_CHUNK_DATA, /* remaining (> 0) bytes of chunk data left */
    S_CHUNK_CR,   /* chunk data read: CRLF (or a bare LF) expected */
    S_CHUNK_LF,   /* chunk data and CR read: LF expected */
    S_TRAILER,    /* inside the trailer section after the last chunk */
    S_DONE,       /* the response is complete */
};

enum {
    F_STARTED = 1u << 0,     /* a byte has been fed since h1_reset */
    F_INTERIM = 1u << 1,     /* the header section being read is a 1xx response's */
    F_HAD_INTERIM = 1u << 2, /* an interim response was skipped */
    F_CL = 1u << 3,          /* Content-Length seen (its value in remaining) */
    F_TE = 1u << 4,          /* Transfer-Encoding seen */
    F_TE_CHUNKED = 1u << 5,  /* ... and its last coding is chunked */
    F_CONN_CLOSE = 1u << 6,  /* Connection: close */
    F_CONN_KEEP = 1u << 7,   /* Connection: keep-alive */
};

void h1_reset(h1_resp *p, h1_header_cb on_header, h1_body_cb on_body, void *ud)
{
    memset(p, 0, offsetof(h1_resp, line));
    p->on_header = on_header;
    p->on_body = on_body;
    p->ud = ud;
    p->state = S_STATUS;
    p->remaining = -1;
    p->flags = 0;
    p->code = 0;
    p->failed = BENCH_OK;
}

int h1_headers_done(const h1_resp *p)
{
    return p->state >= S_BODY_CL;
}

int h1_done(const h1_resp *p)
{
    return p->state == S_DONE;
}

int h1_empty(const h1_resp *p)
{
    return !(p->flags & F_STARTED);
}

/* ---- messages ----------------------------------------------------------- */

/* Bytes of peer input quoted in a message, at most QUOTE_MAX of them. */
#define QUOTE_MAX 40
typedef struct {
    char s[QUOTE_MAX * 4 + 4];
} quoted;

/* s[0, n) as printable text: other bytes as \xNN, "..." when cut. */
static const char *quote(quoted *q, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            q->s[k++] = (char)c;
        } else {
            q->s[k++] = '\\';
            q->s[k++] = 'x';
            q->s[k++] = hex[c >> 4];
            q->s[k++] = hex[c & 15];
        }
    }
    if (n > QUOTE_MAX)
        for (int j = 0; j < 3; j++)
            q->s[k++] = '.';
    q->s[k] = '\0';
    return q->s;
}

static bench_status bad_status_line(const char *s, size_t n, bench_err *err)
{
    quoted q;
    return bench_fail(err, BENCH_EPROTO, PFX "bad status line '%s'", quote(&q, s, n));
}

/* ---- lines -------------------------------------------------------------- */

/* The first bytes of the status line begun in line[] and continued by
 * b[0, n) agree with "HTTP/1." as far as they go. */
static int status_prefix_ok(const h1_resp *p, const char *b, size_t n)
{
    static const char want[] = "HTTP/1.";
    for (size_t k = 0; k < 7 && k < p->line_len + n; k++) {
        char c = k < p->line_len ? p->line[k] : b[k - p->line_len];
        if (c != want[k])
            return 0;
    }
    return 1;
}

/* The status line refused early (status_prefix_ok): quote what came of it. */
static bench_status bad_status_start(const h1_resp *p, const char *b, size_t n, bench_err *err)
{
    char s[QUOTE_MAX + 1];
    size_t k = p->line_len < sizeof s ? p->line_len : sizeof s;
    memcpy(s, p->line, k);
    if (k < sizeof s) {
        size_t more = n < sizeof s - k ? n : sizeof s - k;
        memcpy(s + k, b, more);
        k += more;
    }
    return bad_status_line(s, k, err);
}

/* The next line from buf[*pos, n). On BENCH_OK, either *s and *len are the
 * line (its LF and a CR before it removed; borrowed from buf or line[]) and
 * *pos is past its LF, or *s is NULL: the line goes on past buf, its bytes
 * are kept for the next feed and *pos = n. Applies the caps of the state's
 * lines (see the top of this file) before keeping anything. */
static bench_status take_line(h1_resp *p, const char *buf, size_t n, size_t *pos, const char **s,
                              size_t *len, bench_err *err)
{
    size_t i = *pos;
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t take = nl ? (size_t)(nl - (buf + i)) : n - i; /* line bytes in this feed */

    *s = NULL;
    if (p->state == S_STATUS && !status_prefix_ok(p, buf + i, take))
        return bad_status_start(p, buf + i, take - (nl && take && nl[-1] == '\r'), err);
    if (p->state == S_CHUNK_SIZE) {
        if (take > sizeof p->line - p->line_len)
            return bench_fail(err, BENCH_ETOOBIG, PFX "chunk size line longer than %zu bytes",
                              sizeof p->line);
    } else {
        size_t add = take + (nl != NULL);
        if (add > H1_MAX_HEAD - p->head_len)
            return bench_fail(err, BENCH_ETOOBIG, PFX "%s section longer than %u bytes",
                              p->state == S_TRAILER ? "trailer" : "header", H1_MAX_HEAD);
        p->head_len += add;
    }

    if (nl && p->line_len == 0) { /* whole in this feed: in place */
        *s = buf + i;
        *len = take;
    } else {
        size_t room = sizeof p->line - p->line_len;
        size_t keep = take < room ? take : room;
        /* Trailer lines are only tested for being empty: a prefix will do. */
        if (take > room && p->state != S_TRAILER)
            return bench_fail(err, BENCH_ETOOBIG,
                              PFX "%s line split across reads longer than %zu bytes",
                              p->state == S_STATUS ? "status" : "header", sizeof p->line);
        memcpy(p->line + p->line_len, buf + i, keep);
        p->line_len += keep;
        if (!nl) {
            *pos = n;
            return BENCH_OK;
        }
        *s = p->line;
        *len = p->line_len;
    }
    p->line_len = 0; /* line[] stays intact until the next take_line */
    *pos = i + take + 1;
    if (*len && (*s)[*len - 1] == '\r')
        (*len)--;
    return BENCH_OK;
}

/* ---- header section ----------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* s[0, n) equals the lower-case word w, ignoring ASCII case. */
static int ieq(const char *s, size_t n, const char *w)
{
    size_t k = 0;
    for (; k < n && w[k]; k++)
        if (lower(s[k]) != w[k])
            return 0;
    return k == n && !w[k];
}

/* Call f on each element of a comma-separated list (RFC 9110 5.6.1), OWS
 * trimmed, empty elements skipped. */
static void each_token(const char *v, size_t n, h1_resp *p,
                       void (*f)(h1_resp *p, const char *t, size_t tn))
{
    size_t i = 0;
    while (i < n) {
        const char *c = memchr(v + i, ',', n - i);
        size_t end = c ? (size_t)(c - v) : n;
        size_t a = i, b = end;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a)
            f(p, v + a, b - a);
        i = end + 1;
    }
}

static void te_token(h1_resp *p, const char *t, size_t n)
{
    /* only the last coding matters: each one overrides the one before */
    if (ieq(t, n, "chunked"))
        p->flags |= F_TE_CHUNKED;
    else
        p->flags &= ~(unsigned)F_TE_CHUNKED;
}

static void conn_token(h1_resp *p, const char *t, size_t n)
{
    if (ieq(t, n, "close"))
        p->flags |= F_CONN_CLOSE;
    else if (ieq(t, n, "keep-alive"))
        p->flags |= F_CONN_KEEP;
}

static bench_status content_length(h1_resp *p, const char *v, size_t n, bench_err *err)
{
    quoted q;
    int64_t len = 0;
    if (n == 0)
        return bench_fail(err, BENCH_EPROTO, PFX "empty Content-Length");
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return bench_fail(err, BENCH_EPROTO, PFX "bad Content-Length '%s'", quote(&q, v, n));
        int d = v[i] - '0';
        if (len > (INT64_MAX - d) / 10)
            return bench_fail(err, BENCH_EPROTO, PFX "Content-Length '%s' too large",
                              quote(&q, v, n));
        len = len * 10 + d;
    }
    /* RFC 9112 6.3: differing values make the framing unknowable */
    if ((p->flags & F_CL) && p->remaining != len)
        return bench_fail(err, BENCH_EPROTO,
                          PFX "two different Content-Length values (%" PRId64 " and %" PRId64 ")",
                          p->remaining, len);
    p->flags |= F_CL;
    p->remaining = len;
    return BENCH_OK;
}

/* A header of the final response: note what framing, persistence and the
 * caller need. */
static bench_status interpret(h1_resp *p, const char *name, size_t nn, const char *v, size_t vn,
                              bench_err *err)
{
    switch (nn) {
    case 10:
        if (ieq(name, nn, "connection"))
            each_token(v, vn, p, conn_token);
        break;
    case 12:
        if (ieq(name, nn, "content-type")) {
            size_t k = vn < sizeof p->ctype - 1 ? vn : sizeof p->ctype - 1;
            memcpy(p->ctype, v, k);
            p->ctype[k] = '\0';
        }
        break;
    case 14:
        if (ieq(name, nn, "content-length"))
            return content_length(p, v, vn, err);
        break;
    case 17:
        if (ieq(name, nn, "transfer-encoding")) {
            p->flags |= F_TE;
            each_token(v, vn, p, te_token);
        }
        break;
    default:
        break;
    }
    return BENCH_OK;
}

/* RFC 9112 2.2: a bare CR must be rejected (or replaced), and a NUL in a
 * field is invalid (RFC 9110 5.5). */
static bench_status check_ctl(const char *what, const char *s, size_t n, bench_err *err)
{
    quoted q;
    if (memchr(s, '\r', n) || memchr(s, '\0', n))
        return bench_fail(err, BENCH_EPROTO, PFX "bare CR or NUL in a %s '%s'", what,
                          quote(&q, s, n));
    return BENCH_OK;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" (a missing reason is tolerated). */
static bench_status status_line(h1_resp *p, const char *s, size_t n, bench_err *err)
{
    quoted q;
    bench_status st;
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' ||
        !is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]) || (n > 12 && s[12] != ' '))
        return bad_status_line(s, n, err);
    if ((st = check_ctl("status line", s, n, err)) != BENCH_OK)
        return st;
    int code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (code < 100)
        return bench_fail(err, BENCH_EPROTO, PFX "bad status code in '%s'", quote(&q, s, n));
    if (code == 101)
        return bench_fail(err, BENCH_EPROTO,
                          PFX "unexpected 101 Switching Protocols (no upgrade was asked for)");
    p->minor = s[7] - '0';
    p->code = code;
    if (code < 200)
        p->flags |= F_INTERIM;
    p->state = S_HEADER;
    return BENCH_OK;
}

/* The blank line ending a header section: skip an interim response, or
 * settle the final one's persistence and framing (RFC 9112 6.3, 9.3). */
static void end_of_head(h1_resp *p)
{
    unsigned f = p->flags;
    if (f & F_INTERIM) {
        p->flags = F_STARTED | F_HAD_INTERIM;
        p->state = S_STATUS;
        p->head_len = 0;
        p->code = 0;
        return;
    }
    p->status = p->code;
    if (p->minor == 0)
        p->keep_alive = (f & F_CONN_KEEP) && !(f & F_CONN_CLOSE);
    else
        p->keep_alive = !(f & F_CONN_CLOSE);

    if (p->code == 204 || p->code == 304) {
        p->remaining = -1;
        p->state = S_DONE;
    } else if (f & F_TE) {
        /* TE overrides CL, but a message with both, or with TE from an
         * HTTP/1.0 server, may have been framed wrongly: do not reuse. */
        if ((f & F_CL) || p->minor == 0)
            p->keep_alive = 0;
        p->remaining = -1;
        if (f & F_TE_CHUNKED) {
            p->chunked = 1;
            p->state = S_CHUNK_SIZE;
        } else {
            p->keep_alive = 0;
            p->state = S_BODY_CLOSE;
        }
    } else if (f & F_CL) {
        p->state = p->remaining ? S_BODY_CL : S_DONE;
    } else {
        p->keep_alive = 0;
        p->remaining = -1;
        p->state = S_BODY_CLOSE;
    }
}

static bench_status stopped(bench_err *err)
{
    return bench_fail(err, BENCH_EINTR, PFX "stopped by the caller");
}

static bench_status header_line(h1_resp *p, const char *s, size_t n, bench_err *err)
{
    quoted q;
    bench_status st;
    if (n == 0) {
        end_of_head(p);
        return BENCH_OK;
    }
    if ((st = check_ctl("header line", s, n, err)) != BENCH_OK)
        return st;
    if (is_ows(s[0]))
        return bench_fail(err, BENCH_EPROTO,
                          PFX "obsolete line folding (a header line starting with whitespace) '%s'",
                          quote(&q, s, n));
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return bench_fail(err, BENCH_EPROTO, PFX "header line without a colon '%s'",
                          quote(&q, s, n));
    size_t nn = (size_t)(colon - s);
    while (nn && is_ows(s[nn - 1]))
        nn--;
    if (nn == 0)
        return bench_fail(err, BENCH_EPROTO, PFX "header line with an empty name '%s'",
                          quote(&q, s, n));
    const char *v = colon + 1;
    size_t vn = n - (size_t)(v - s);
    while (vn && is_ows(*v)) {
        v++;
        vn--;
    }
    while (vn && is_ows(v[vn - 1]))
        vn--;

    if (p->flags & F_INTERIM)
        return BENCH_OK; /* an interim response's headers are not the caller's */
    if ((st = interpret(p, s, nn, v, vn, err)) != BENCH_OK)
        return st;
    if (p->on_header && p->on_header(p->ud, s, nn, v, vn))
        return stopped(err);
    return BENCH_OK;
}

/* ---- chunked body ------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "HEX [BWS ; extensions]" (RFC 9112 7.1; extensions ignored). */
static bench_status chunk_size_line(h1_resp *p, const char *s, size_t n, bench_err *err)
{
    quoted q;
    int64_t size = 0;
    size_t k = 0;
    for (; k < n; k++) {
        int d = hex_value(s[k]);
        if (d < 0)
            break;
        if (k == 15) /* 15 digits always fit in int64_t */
            return bench_fail(err, BENCH_EPROTO, PFX "chunk size '%s' has more than 15 hex digits",
                              quote(&q, s, n));
        size = size * 16 + d;
    }
    size_t j = k;
    while (j < n && is_ows(s[j]))
        j++;
    if (k == 0 || (j < n && s[j] != ';'))
        return bench_fail(err, BENCH_EPROTO, PFX "bad chunk size line '%s'", quote(&q, s, n));
    if (size == 0) {
        p->head_len = 0; /* now counting the trailer section */
        p->state = S_TRAILER;
    } else {
        p->remaining = size;
        p->state = S_CHUNK_DATA;
    }
    return BENCH_OK;
}

/* ---- feeding ------------------------------------------------------------ */

bench_status h1_feed(h1_resp *p, const char *buf, size_t n, size_t *used, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t i = 0;
    const char *s;
    size_t len;

    if (p->failed != BENCH_OK) {
        st = bench_fail(err, p->failed, PFX "parser used after a failure without h1_reset");
        goto out;
    }
    if (n == 0)
        goto out;
    if (p->state == S_DONE) {
        /* not sticky: the response read is complete and stays valid */
        *used = 0;
        return bench_fail(err, BENCH_EPROTO, PFX "%zu bytes after the end of the response", n);
    }
    p->flags |= F_STARTED;

    while (i < n && p->state != S_DONE) {
        switch (p->state) {
        case S_BODY_CL:
        case S_CHUNK_DATA: {
            /* the state is settled before the callback, so a stop leaves
             * the parser ready to go on from *used */
            size_t k = n - i;
            if ((uint64_t)k > (uint64_t)p->remaining)
                k = (size_t)p->remaining;
            p->remaining -= (int64_t)k;
            if (p->remaining == 0)
                p->state = p->state == S_BODY_CL ? S_DONE : S_CHUNK_CR;
            p->body_bytes += k;
            i += k;
            if (p->on_body && p->on_body(p->ud, buf + i - k, k)) {
                st = stopped(err);
                goto out;
            }
            break;
        }
        case S_BODY_CLOSE:
            p->body_bytes += n - i;
            if (p->on_body && p->on_body(p->ud, buf + i, n - i)) {
                i = n;
                st = stopped(err);
                goto out;
            }
            i = n;
            break;
        case S_CHUNK_CR:
        case S_CHUNK_LF:
            if (buf[i] == '\n') {
                p->state = S_CHUNK_SIZE;
            } else if (buf[i] == '\r' && p->state == S_CHUNK_CR) {
                p->state = S_CHUNK_LF;
            } else {
                quoted q;
                st = bench_fail(err, BENCH_EPROTO, PFX "chunk data not followed by CRLF (got '%s')",
                                quote(&q, buf + i, 1));
                goto out;
            }
            i++;
            break;
        default: /* the line states */
            if ((st = take_line(p, buf, n, &i, &s, &len, err)) != BENCH_OK || !s)
                goto out;
            switch (p->state) {
            case S_STATUS:
                st = status_line(p, s, len, err);
                break;
            case S_HEADER:
                st = header_line(p, s, len, err);
                break;
            case S_CHUNK_SIZE:
                st = chunk_size_line(p, s, len, err);
                break;
            default: /* S_TRAILER: trailer fields are ignored */
                if (len == 0)
                    p->state = S_DONE;
                break;
            }
            if (st != BENCH_OK)
                goto out;
            break;
        }
    }

out:
    *used = i;
    if (st != BENCH_OK && st != BENCH_EINTR)
        p->failed = st;
    return st;
}

bench_status h1_eof(h1_resp *p, bench_err *err)
{
    if (p->failed != BENCH_OK)
        return bench_fail(err, p->failed, PFX "parser used after a failure without h1_reset");
    switch (p->state) {
    case S_DONE:
        return BENCH_OK;
    case S_BODY_CLOSE:
        p->state = S_DONE;
        return BENCH_OK;
    case S_STATUS:
        if (!(p->flags & F_STARTED))
            return bench_fail(err, BENCH_EPROTO, PFX "connection closed before any response");
        if (p->line_len)
            return bench_fail(err, BENCH_EPROTO,
                              PFX "connection closed inside the status line, after %zu bytes",
                              p->line_len);
        return bench_fail(err, BENCH_EPROTO,
                          PFX "connection closed after an interim 1xx response, before the "
                              "final response's status line");
    case S_HEADER:
        return bench_fail(err, BENCH_EPROTO,
                          PFX "connection closed inside the header section, after %zu bytes",
                          p->head_len);
    case S_BODY_CL:
        return bench_fail(err, BENCH_EPROTO,
                          PFX "connection closed %" PRIu64 " bytes into a Content-Length body of "
                              "%" PRIu64 " bytes",
                          p->body_bytes, p->body_bytes + (uint64_t)p->remaining);
    case S_TRAILER:
        return bench_fail(err, BENCH_EPROTO,
                          PFX "connection closed inside the trailer section of a chunked body "
                              "(after its last chunk, %" PRIu64 " body bytes)",
                          p->body_bytes);
    default: /* the chunk states */
        return bench_fail(err, BENCH_EPROTO,
                          PFX "connection closed %" PRIu64 " bytes into a chunked body, before its "
                              "last chunk",
                          p->body_bytes);
    }
}
