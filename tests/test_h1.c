/* Unit tests: the incremental HTTP/1.1 response parser (h1.h). Every input
 * is parsed whole, one byte at a time and split in two at every position,
 * and all runs must agree with the whole run and with the expected values
 * written down for it: status, headers seen, body, done, bytes used, the
 * error and its message, and what h1_eof says afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "h1.h"

/* ---- recorder ----------------------------------------------------------- */

#define HDRS_CAP (96u << 10)
#define BODY_CAP (192u << 10)

/* What the callbacks saw: headers as "name=value\n" lines, the body bytes
 * concatenated. */
typedef struct {
    char hdrs[HDRS_CAP];
    size_t hlen;
    char body[BODY_CAP];
    size_t blen;
    int overflow;     /* a buffer above was too small (a test bug) */
    int nheaders;     /* header callbacks */
    int nbody;        /* body callbacks */
    int empty_body;   /* a body callback with n == 0 */
    int stop_header;  /* stop at this header callback (1-based; 0 never) */
    int stop_body;    /* stop at every stop_body-th body callback (0 never) */
    const char *last; /* start of the last body piece (pointer checks) */
} rec;

static void add(char *dst, size_t cap, size_t *len, const char *s, size_t n, int *overflow)
{
    if (*len + n > cap) {
        *overflow = 1;
        return;
    }
    memcpy(dst + *len, s, n);
    *len += n;
}

static int on_header(void *ud, const char *name, size_t nn, const char *value, size_t vn)
{
    rec *r = ud;
    add(r->hdrs, sizeof r->hdrs, &r->hlen, name, nn, &r->overflow);
    add(r->hdrs, sizeof r->hdrs, &r->hlen, "=", 1, &r->overflow);
    add(r->hdrs, sizeof r->hdrs, &r->hlen, value, vn, &r->overflow);
    add(r->hdrs, sizeof r->hdrs, &r->hlen, "\n", 1, &r->overflow);
    r->nheaders++;
    return r->stop_header && r->nheaders == r->stop_header;
}

static int on_body(void *ud, const char *p, size_t n)
{
    rec *r = ud;
    if (n == 0)
        r->empty_body = 1;
    add(r->body, sizeof r->body, &r->blen, p, n, &r->overflow);
    r->last = p;
    r->nbody++;
    return r->stop_body && r->nbody % r->stop_body == 0;
}

/* ---- running the parser ------------------------------------------------- */

/* The outcome of one run over an input. */
typedef struct {
    bench_status st; /* last feed's status */
    size_t used;     /* bytes of the input consumed */
    int uneven;      /* a feed returning BENCH_OK consumed less than it was given, not done */
    int done, headers_done, status, minor, keep_alive, chunked;
    char ctype[H1_CTYPE_MAX];
    uint64_t body_bytes;
    bench_err err;
    bench_status eof_st; /* h1_eof after an OK run that was not done; else BENCH_OK */
    bench_err eof_err;
    int eof_done; /* h1_done after h1_eof */
    rec r;
} outcome;

/* Parse in[0, n) in pieces ending at cuts[0..ncuts) (then at n), resuming
 * after each BENCH_EINTR; stop at the first failure or when the response
 * is done. Then h1_eof when eof is set and the run is OK and not done. */
static void run(const char *in, size_t n, const size_t *cuts, size_t ncuts, int eof, outcome *o,
                int stop_header, int stop_body)
{
    h1_resp p;
    memset(o, 0, sizeof *o);
    o->r.stop_header = stop_header;
    o->r.stop_body = stop_body;
    h1_reset(&p, on_header, on_body, &o->r);
    size_t off = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        while (off < end) {
            size_t used = (size_t)-1;
            o->st = h1_feed(&p, in + off, end - off, &used, &o->err);
            if (o->st != BENCH_OK && o->st != BENCH_EINTR)
                goto stop;
            if (used > end - off || (o->st == BENCH_EINTR && used == 0)) {
                o->uneven = 1; /* would loop or run past the piece */
                goto stop;
            }
            off += used;
            if (h1_done(&p))
                goto stop;
            if (o->st == BENCH_OK && off != end)
                o->uneven = 1;
        }
    }
stop:
    if (o->st == BENCH_EINTR)
        o->st = BENCH_OK; /* resumed: the run as a whole went through */
    o->used = off;
    o->done = h1_done(&p);
    o->headers_done = h1_headers_done(&p);
    o->status = p.status;
    o->minor = p.minor;
    o->keep_alive = p.keep_alive;
    o->chunked = p.chunked;
    memcpy(o->ctype, p.ctype, sizeof o->ctype);
    o->body_bytes = p.body_bytes;
    o->eof_st = BENCH_OK;
    if (eof && o->st == BENCH_OK && !o->done)
        o->eof_st = h1_eof(&p, &o->eof_err);
    o->eof_done = h1_done(&p);
}

/* Every '|'-separated word of words occurs in msg. */
static int has_words(const char *msg, const char *words)
{
    char w[256];
    while (words && *words) {
        const char *bar = strchr(words, '|');
        size_t n = bar ? (size_t)(bar - words) : strlen(words);
        if (n >= sizeof w)
            return 0;
        memcpy(w, words, n);
        w[n] = '\0';
        if (!strstr(msg, w))
            return 0;
        words += n + (bar != NULL);
    }
    return 1;
}

/* A and B agree on everything a caller can observe (bytes used and the
 * message only when OK: the message quotes what the failing feed held). */
static int same(const outcome *a, const outcome *b)
{
    return a->st == b->st && a->done == b->done && a->headers_done == b->headers_done &&
           a->status == b->status && a->minor == b->minor && a->keep_alive == b->keep_alive &&
           a->chunked == b->chunked && strcmp(a->ctype, b->ctype) == 0 &&
           a->body_bytes == b->body_bytes && a->r.hlen == b->r.hlen &&
           memcmp(a->r.hdrs, b->r.hdrs, a->r.hlen) == 0 && a->r.blen == b->r.blen &&
           memcmp(a->r.body, b->r.body, a->r.blen) == 0 && a->eof_st == b->eof_st &&
           a->eof_done == b->eof_done && (a->st != BENCH_OK || a->used == b->used) && !b->uneven &&
           !b->r.overflow && !b->r.empty_body &&
           (a->eof_st == BENCH_OK || strcmp(a->eof_err.msg, b->eof_err.msg) == 0);
}

static void report(const char *name, const char *how, size_t at, const outcome *o)
{
    fprintf(stderr,
            "%s, %s %zu: st=%d '%s' used=%zu done=%d status=%d ka=%d body=%zu hdrs=%zu "
            "eof=%d '%s' uneven=%d\n",
            name, how, at, (int)o->st, o->st ? o->err.msg : "", o->used, o->done, o->status,
            o->keep_alive, o->r.blen, o->r.hlen, (int)o->eof_st, o->eof_st ? o->eof_err.msg : "",
            o->uneven);
}

/* Parse in whole, then byte by byte, then split in two at every position
 * (or every stride-th when stride > 1), with the given callback stops; the
 * number of runs that differ from the whole run is returned. *whole is the
 * whole run (caller-allocated). */
static size_t check_splits(const char *name, const char *in, size_t n, size_t stride,
                           int stop_header, int stop_body, outcome *whole)
{
    outcome *o = malloc(sizeof *o);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    size_t bad = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);
    run(in, n, NULL, 0, 1, whole, stop_header, stop_body);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    run(in, n, cuts, n ? n - 1 : 0, 1, o, stop_header, stop_body);
    if (!same(whole, o)) {
        report(name, "bytewise", 0, o);
        bad++;
    }
    for (size_t c = 0; c <= n; c += stride) {
        run(in, n, &c, 1, 1, o, stop_header, stop_body);
        if (!same(whole, o)) {
            if (bad < 3)
                report(name, "split at", c, o);
            bad++;
        }
    }
    free(cuts);
    free(o);
    return bad;
}

/* ---- table of cases ----------------------------------------------------- */

typedef struct {
    const char *name;
    const char *in;
    bench_status st;   /* of the feeds */
    const char *words; /* '|'-separated words of the message (every run) */
    const char *exact; /* a further substring of the whole run's message */
    int status, minor, keep_alive, chunked;
    const char *ctype;
    const char *headers; /* "name=value\n"... */
    const char *body;
    int done;
    long used;           /* -1: all of in (checked when st is BENCH_OK) */
    bench_status eof_st; /* h1_eof after the feeds (OK when done) */
    const char *eof_words;
} h1_case;

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static const h1_case cases[] = {
    /* ---- bodies and framing ---- */
    {"chunked with extensions and trailers",
     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
     "chunked\r\n\r\n"
     "5;ext=1\r\nhello\r\n7 ; a=\"b\";c\r\n, world\r\n0;last\r\nX-Trailer: yes\r\nY: z\r\n\r\n",
     BENCH_OK, "", "", 200, 1, 1, 1, "text/event-stream",
     "Content-Type=text/event-stream\nTransfer-Encoding=chunked\n", "hello, world", 1, -1, BENCH_OK,
     ""},
    {"chunked: bare LF, upper-case hex, leading zeros, last coding chunked",
     "HTTP/1.1 200 OK\nTransfer-Encoding: gzip, Chunked\n\n00A\nabcdefghij\n0\n\n", BENCH_OK, "",
     "", 200, 1, 1, 1, "", "Transfer-Encoding=gzip, Chunked\n", "abcdefghij", 1, -1, BENCH_OK, ""},
    {"chunked: TE split over two header lines",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n",
     BENCH_OK, "", "", 200, 1, 1, 1, "", "Transfer-Encoding=gzip\nTransfer-Encoding=chunked\n",
     "abc", 1, -1, BENCH_OK, ""},
    {"chunked: 15 hex digits are accepted", CHUNKED_HEAD "000000000000002\r\nab\r\n0\r\n\r\n",
     BENCH_OK, "", "", 200, 1, 1, 1, "", "Transfer-Encoding=chunked\n", "ab", 1, -1, BENCH_OK, ""},
    {"Content-Length body, ctype trimmed",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: \t application/json; "
     "charset=utf-8 "
     "\t\r\n\r\nhello",
     BENCH_OK, "", "", 200, 1, 1, 0, "application/json; charset=utf-8",
     "Content-Length=5\nContent-Type=application/json; charset=utf-8\n", "hello", 1, -1, BENCH_OK,
     ""},
    {"Content-Length 0", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", BENCH_OK, "", "", 200, 1, 1,
     0, "", "Content-Length=0\n", "", 1, -1, BENCH_OK, ""},
    {"duplicate equal Content-Length",
     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 003\r\n\r\nabc", BENCH_OK, "", "",
     200, 1, 1, 0, "", "Content-Length=3\ncontent-length=003\n", "abc", 1, -1, BENCH_OK, ""},
    {"close-delimited body", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close", BENCH_OK, "",
     "", 200, 1, 0, 0, "", "Server=x\n", "body until close", 0, -1, BENCH_OK, ""},
    {"close-delimited, no body at all", "HTTP/1.1 500 Oops\r\n\r\n", BENCH_OK, "", "", 500, 1, 0, 0,
     "", "", "", 0, -1, BENCH_OK, ""},
    {"TE not ending in chunked: body until close",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n", BENCH_OK,
     "", "", 200, 1, 0, 0, "", "Transfer-Encoding=chunked, gzip\n", "5\r\nhello\r\n0\r\n\r\n", 0,
     -1, BENCH_OK, ""},
    {"TE and CL: TE wins, no keep-alive",
     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
     "2\r\nhi\r\n0\r\n\r\n",
     BENCH_OK, "", "", 200, 1, 0, 1, "", "Content-Length=100\nTransfer-Encoding=chunked\n", "hi", 1,
     -1, BENCH_OK, ""},
    {"100 Continue and 103 then 200",
     "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n"
     "Content-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     BENCH_OK, "", "", 200, 1, 1, 0, "", "Content-Length=2\n", "ok", 1, -1, BENCH_OK, ""},
    {"102 Processing without headers then 201",
     "HTTP/1.1 102\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", BENCH_OK, "", "",
     201, 1, 1, 0, "", "Content-Length=1\n", "x", 1, -1, BENCH_OK, ""},
    {"204 with a Content-Length has no body",
     "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", BENCH_OK, "", "", 204, 1, 1, 0, "",
     "Content-Length=10\n", "", 1, -1, BENCH_OK, ""},
    {"304 with chunked has no body",
     "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", BENCH_OK, "", "", 304, 1, 1,
     0, "", "Transfer-Encoding=chunked\n", "", 1, -1, BENCH_OK, ""},
    {"HTTP/1.0: no keep-alive by default", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
     BENCH_OK, "", "", 200, 0, 0, 0, "", "Content-Length=3\n", "abc", 1, -1, BENCH_OK, ""},
    {"HTTP/1.0 with Connection: keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc", BENCH_OK, "", "",
     200, 0, 1, 0, "", "Connection=Keep-Alive\nContent-Length=3\n", "abc", 1, -1, BENCH_OK, ""},
    {"HTTP/1.0 chunked: no reuse",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: "
     "chunked\r\n\r\n0\r\n\r\n",
     BENCH_OK, "", "", 200, 0, 0, 1, "", "Connection=keep-alive\nTransfer-Encoding=chunked\n", "",
     1, -1, BENCH_OK, ""},
    {"HTTP/1.1 Connection: close in a token list",
     "HTTP/1.1 200 OK\r\nConnection: upgrade , CLOSE\r\nContent-Length: 1\r\n\r\nz", BENCH_OK, "",
     "", 200, 1, 0, 0, "", "Connection=upgrade , CLOSE\nContent-Length=1\n", "z", 1, -1, BENCH_OK,
     ""},
    {"HTTP/1.1 Connection without close keeps alive",
     "HTTP/1.1 200 OK\r\nConnection: closed, keep-alive\r\nContent-Length: 1\r\n\r\nz", BENCH_OK,
     "", "", 200, 1, 1, 0, "", "Connection=closed, keep-alive\nContent-Length=1\n", "z", 1, -1,
     BENCH_OK, ""},
    {"missing reason, bare LF, trimmed names and values",
     "HTTP/1.1 404\nX-A \t:\t v  w \t\nX-Empty:\n\n", BENCH_OK, "", "", 404, 1, 0, 0, "",
     "X-A=v  w\nX-Empty=\n", "", 0, -1, BENCH_OK, ""},
    {"status line with an empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", BENCH_OK, "",
     "", 200, 1, 1, 0, "", "Content-Length=0\n", "", 1, -1, BENCH_OK, ""},
    {"Content-Type cut to H1_CTYPE_MAX - 1",
     "HTTP/1.1 200 OK\r\nContent-Type: "
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890123456789\r\nContent-Length: 0\r\n\r\n",
     BENCH_OK, "", "", 200, 1, 1, 0,
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
     "123456789012345678901234567890123456",
     "Content-Type="
     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890123456789\nContent-Length=0\n",
     "", 1, -1, BENCH_OK, ""},
    {"response ends inside the feed: used stops there",
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", BENCH_OK, "", "", 200, 1, 1, 0, "",
     "Content-Length=2\n", "ok", 1, 40, BENCH_OK, ""},
    {"chunked response ends inside the feed", CHUNKED_HEAD "1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
     BENCH_OK, "", "", 200, 1, 1, 1, "", "Transfer-Encoding=chunked\n", "a", 1, 58, BENCH_OK, ""},

    /* ---- status line errors ---- */
    {"not HTTP: SSH banner", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", BENCH_EPROTO,
     "HTTP response: bad status line 'S", "'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'", 0, 0, 0, 0,
     "", "", "", 0, 0, BENCH_OK, ""},
    {"not HTTP: binary, quoted escaped and cut",
     "\x15\x03\x01\x01\x02\x02P and then a lot more than forty bytes of text", BENCH_EPROTO,
     "bad status line '\\x15",
     "'\\x15\\x03\\x01\\x01\\x02\\x02P and then a lot more than forty b...'", 0, 0, 0, 0, "", "",
     "", 0, 0, BENCH_OK, ""},
    {"HTTP/2 status line", "HTTP/2 200\r\n\r\n", BENCH_EPROTO, "bad status line 'HTTP/", "", 0, 0,
     0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"blank line before the status line", "\r\nHTTP/1.1 200 OK\r\n\r\n", BENCH_EPROTO,
     "bad status line", "", 0, 0, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", BENCH_EPROTO, "bad status line 'HTTP/1.1 20 OK'",
     "", 0, 0, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"no space after the code", "HTTP/1.1 200OK\r\n\r\n", BENCH_EPROTO, "bad status line", "", 0, 0,
     0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"two-digit minor", "HTTP/1.10 200 OK\r\n\r\n", BENCH_EPROTO, "bad status line", "", 0, 0, 0, 0,
     "", "", "", 0, 0, BENCH_OK, ""},
    {"status below 100", "HTTP/1.1 099 Odd\r\n\r\n", BENCH_EPROTO, "bad status code", "", 0, 0, 0,
     0, "", "", "", 0, 0, BENCH_OK, ""},
    {"101 Switching Protocols",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
     BENCH_EPROTO, "101 Switching Protocols", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"bare CR in the status line", "HTTP/1.1 200 O\rK\r\n\r\n", BENCH_EPROTO, "bare CR or NUL", "",
     0, 0, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},

    /* ---- header errors ---- */
    {"header line without a colon", "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", BENCH_EPROTO,
     "header line without a colon 'NoColonHere'", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\n\r\n", BENCH_EPROTO,
     "obsolete line folding|'  folded'", "", 0, 1, 0, 0, "", "X-A=a\n", "", 0, 0, BENCH_OK, ""},
    {"obs-fold with a tab right after the status line", "HTTP/1.1 200 OK\r\n\tX: y\r\n\r\n",
     BENCH_EPROTO, "obsolete line folding", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"line starting with a space", "HTTP/1.1 200 OK\r\n : v\r\n\r\n", BENCH_EPROTO,
     "obsolete line folding", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"empty header name after trimming", "HTTP/1.1 200 OK\r\n: v\r\n\r\n", BENCH_EPROTO,
     "empty name", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"bare CR in a header", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", BENCH_EPROTO,
     "bare CR or NUL in a header line 'X: a\\x0db'", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK,
     ""},
    {"NUL in a header", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", BENCH_EPROTO, "bare CR or NUL", "", 0,
     1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"Content-Length not digits", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", BENCH_EPROTO,
     "bad Content-Length '12a'", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"Content-Length negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", BENCH_EPROTO,
     "bad Content-Length '-1'", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"Content-Length as a list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", BENCH_EPROTO,
     "bad Content-Length '5, 5'", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"Content-Length empty", "HTTP/1.1 200 OK\r\nContent-Length:  \r\n\r\n", BENCH_EPROTO,
     "empty Content-Length", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},
    {"Content-Length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
     BENCH_EPROTO, "Content-Length '9223372036854775808' too large", "", 0, 1, 0, 0, "", "", "", 0,
     0, BENCH_OK, ""},
    {"Content-Length 2^63-1 is accepted",
     "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nab", BENCH_OK, "", "", 200, 1,
     1, 0, "", "Content-Length=9223372036854775807\n", "ab", 0, -1, BENCH_EPROTO,
     "connection closed 2 bytes into a Content-Length body of 9223372036854775807 bytes"},
    {"differing Content-Length values",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", BENCH_EPROTO,
     "two different Content-Length values (5 and 6)", "", 0, 1, 0, 0, "", "Content-Length=5\n", "",
     0, 0, BENCH_OK, ""},
    {"interim headers are not checked for framing",
     "HTTP/1.1 100 Continue\r\nContent-Length: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
     "1\r\n\r\n!",
     BENCH_OK, "", "", 200, 1, 1, 0, "", "Content-Length=1\n", "!", 1, -1, BENCH_OK, ""},
    {"interim headers are still checked for syntax",
     "HTTP/1.1 100 Continue\r\nbroken\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", BENCH_EPROTO,
     "header line without a colon", "", 0, 1, 0, 0, "", "", "", 0, 0, BENCH_OK, ""},

    /* ---- chunked errors ---- */
    {"empty chunk size", CHUNKED_HEAD "\r\n", BENCH_EPROTO, "bad chunk size line ''", "", 200, 1, 1,
     1, "", "Transfer-Encoding=chunked\n", "", 0, 0, BENCH_OK, ""},
    {"non-hex chunk size", CHUNKED_HEAD "zz\r\n", BENCH_EPROTO, "bad chunk size line 'zz'", "", 200,
     1, 1, 1, "", "Transfer-Encoding=chunked\n", "", 0, 0, BENCH_OK, ""},
    {"chunk size followed by junk", CHUNKED_HEAD "5 x\r\nhello\r\n", BENCH_EPROTO,
     "bad chunk size line '5 x'", "", 200, 1, 1, 1, "", "Transfer-Encoding=chunked\n", "", 0, 0,
     BENCH_OK, ""},
    {"16 hex digits", CHUNKED_HEAD "0000000000000001\r\nx\r\n0\r\n\r\n", BENCH_EPROTO,
     "chunk size '0000000000000001' has more than 15 hex digits", "", 200, 1, 1, 1, "",
     "Transfer-Encoding=chunked\n", "", 0, 0, BENCH_OK, ""},
    {"chunk data followed by junk", CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n", BENCH_EPROTO,
     "chunk data not followed by CRLF (got 'X')", "", 200, 1, 1, 1, "",
     "Transfer-Encoding=chunked\n", "hello", 0, 0, BENCH_OK, ""},
    {"chunk data followed by CR and junk", CHUNKED_HEAD "5\r\nhello\rX0\r\n\r\n", BENCH_EPROTO,
     "chunk data not followed by CRLF (got 'X')", "", 200, 1, 1, 1, "",
     "Transfer-Encoding=chunked\n", "hello", 0, 0, BENCH_OK, ""},

    /* ---- the connection closes (h1_eof) ---- */
    {"eof inside the status line", "HTTP/1.1 20", BENCH_OK, "", "", 0, 0, 0, 0, "", "", "", 0, -1,
     BENCH_EPROTO, "connection closed inside the status line, after 11 bytes"},
    {"eof after an interim response", "HTTP/1.1 100 Continue\r\n\r\n", BENCH_OK, "", "", 0, 1, 0, 0,
     "", "", "", 0, -1, BENCH_EPROTO,
     "after an interim 1xx response, before the final response's status"},
    {"eof inside the header section", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A", BENCH_OK, "",
     "", 0, 1, 0, 0, "", "Content-Length=5\n", "", 0, -1, BENCH_EPROTO,
     "connection closed inside the header section, after 39 bytes"},
    {"eof inside a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
     BENCH_OK, "", "", 200, 1, 1, 0, "", "Content-Length=10\n", "hello", 0, -1, BENCH_EPROTO,
     "connection closed 5 bytes into a Content-Length body of 10 bytes"},
    {"eof inside a chunked body", CHUNKED_HEAD "5\r\nhello\r\n3\r\nab", BENCH_OK, "", "", 200, 1, 1,
     1, "", "Transfer-Encoding=chunked\n", "helloab", 0, -1, BENCH_EPROTO,
     "connection closed 7 bytes into a chunked body, before its last chunk"},
    {"eof after chunk data, before its CRLF", CHUNKED_HEAD "5\r\nhello\r", BENCH_OK, "", "", 200, 1,
     1, 1, "", "Transfer-Encoding=chunked\n", "hello", 0, -1, BENCH_EPROTO,
     "connection closed 5 bytes into a chunked body, before its last chunk"},
    {"eof inside the trailer section", CHUNKED_HEAD "2\r\nab\r\n0\r\nX: y\r\n", BENCH_OK, "", "",
     200, 1, 1, 1, "", "Transfer-Encoding=chunked\n", "ab", 0, -1, BENCH_EPROTO,
     "connection closed inside the trailer section of a chunked body (after its last chunk, 2 "
     "body bytes)"},
};

static void check_case(const h1_case *c, int stop_header, int stop_body)
{
    size_t n = strlen(c->in);
    if (strcmp(c->name, "NUL in a header") == 0)
        n = strlen("HTTP/1.1 200 OK\r\nX: a") + 1 + strlen("b\r\n\r\n");
    outcome *w = malloc(sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    size_t bad = check_splits(c->name, c->in, n, 1, stop_header, stop_body, w);
    if (bad)
        fprintf(stderr, "%s: %zu runs differ from the whole run\n", c->name, bad);
    CU_ASSERT_EQUAL(bad, 0);

    /* the whole run against what is written down */
    int ok = w->st == c->st && has_words(w->err.msg, c->st ? c->words : "") &&
             (!c->exact[0] || strstr(w->err.msg, c->exact)) &&
             (c->st != BENCH_OK || w->used == (c->used < 0 ? n : (size_t)c->used)) &&
             w->done == c->done && w->minor == c->minor &&
             w->status == (w->headers_done ? c->status : 0) &&
             (c->st != BENCH_OK || w->status == c->status) && w->keep_alive == c->keep_alive &&
             w->chunked == c->chunked && strcmp(w->ctype, c->ctype) == 0 &&
             w->r.hlen == strlen(c->headers) && memcmp(w->r.hdrs, c->headers, w->r.hlen) == 0 &&
             w->r.blen == strlen(c->body) && memcmp(w->r.body, c->body, w->r.blen) == 0 &&
             w->body_bytes == w->r.blen && w->eof_st == c->eof_st &&
             (c->eof_st == BENCH_OK || has_words(w->eof_err.msg, c->eof_words)) &&
             /* a close-delimited body is done once the connection closes */
             w->eof_done == (c->st == BENCH_OK && c->eof_st == BENCH_OK);
    if (!ok) {
        report(c->name, "whole, expected differ", 0, w);
        fprintf(stderr, "  headers '%.*s' body '%.*s' ctype '%s' minor %d chunked %d\n",
                (int)w->r.hlen, w->r.hdrs, (int)w->r.blen, w->r.body, w->ctype, w->minor,
                w->chunked);
    }
    CU_ASSERT(ok);
    free(w);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(&cases[i], 0, 0);
}

/* The same cases with callbacks stopping the parse (every header callback,
 * then every body callback), the feeding resumed from *used each time: the
 * outcome must not change. */
static void test_cases_resumed_after_stops(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], 1, 0);
        check_case(&cases[i], 2, 1);
    }
}

/* ---- single behaviours -------------------------------------------------- */

/* A chunk's bytes reach on_body straight from the caller's buffer, the half
 * of a chunk a feed holds at once, with no copy. */
static void test_body_not_buffered(void)
{
    static const char head[] = CHUNKED_HEAD;
    static const char ev[] = "96\r\ndata: {\"choices\":[{\"delta\":{\"content\":\" token\"}}]}"
                             "................................................................"
                             "..................................\n\n\r\n";
    rec r = {0};
    h1_resp p;
    bench_err e;
    size_t used = 0;
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, head, strlen(head), &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, strlen(head));
    CU_ASSERT(h1_headers_done(&p));
    CU_ASSERT_EQUAL(p.status, 200);

    /* one event in one chunk: one callback, pointing into the feed */
    CU_ASSERT_EQUAL_FATAL(strlen(ev), 4 + 150 + 2);
    CU_ASSERT_EQUAL(h1_feed(&p, ev, strlen(ev), &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, strlen(ev));
    CU_ASSERT_EQUAL(r.nbody, 1);
    CU_ASSERT_EQUAL(r.blen, 150);
    CU_ASSERT_PTR_EQUAL(r.last, ev + 4);
    CU_ASSERT_EQUAL(p.body_bytes, 150);

    /* half a chunk: delivered at once */
    CU_ASSERT_EQUAL(h1_feed(&p, "10\r\nabcde", 9, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.blen, 155);
    CU_ASSERT_EQUAL(memcmp(r.body + 150, "abcde", 5), 0);
    CU_ASSERT_EQUAL(h1_feed(&p, "fghijklmnop\r\n0\r\n\r\n", 18, &used, &e), BENCH_OK);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(r.blen, 166);
    CU_ASSERT_EQUAL(p.body_bytes, 166);
}

/* Two responses in one buffer: the first feed stops at the end of the
 * first, *used pointing at the second; after h1_reset the rest parses as
 * the second. Also every split of the buffer in two. */
static void test_pipelined(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                             "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "6\r\nsecond\r\n0\r\n\r\n";
    const size_t n = sizeof in - 1, len1 = 43;
    rec r = {0};
    h1_resp p;
    bench_err e;
    size_t used = 0;
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, in, n, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, len1);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(p.status, 200);
    CU_ASSERT(p.keep_alive);
    CU_ASSERT_EQUAL(r.blen, 5);
    CU_ASSERT_EQUAL(memcmp(r.body, "first", 5), 0);
    CU_ASSERT_EQUAL(memcmp(in + used, "HTTP/1.1 404", 12), 0);
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_OK); /* already complete */

    memset(&r, 0, sizeof r);
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT(h1_empty(&p));
    CU_ASSERT_FALSE(h1_done(&p));
    CU_ASSERT_EQUAL(p.status, 0);
    CU_ASSERT_EQUAL(h1_feed(&p, in + len1, n - len1, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, n - len1);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(p.status, 404);
    CU_ASSERT_EQUAL(p.body_bytes, 6);
    CU_ASSERT_EQUAL(r.blen, 6);
    CU_ASSERT_EQUAL(memcmp(r.body, "second", 6), 0);
    CU_ASSERT_EQUAL(r.nheaders, 1);

    /* every split: the same two responses */
    size_t bad = 0;
    for (size_t c = 0; c <= n; c++) {
        size_t off = 0, nresp = 0;
        char bodies[32] = "";
        size_t blen = 0;
        int statuses[2] = {0, 0};
        memset(&r, 0, sizeof r);
        h1_reset(&p, on_header, on_body, &r);
        for (int k = 0; k < 2; k++) {
            size_t end = k == 0 ? c : n;
            while (off < end) {
                if (h1_feed(&p, in + off, end - off, &used, &e) != BENCH_OK)
                    goto next;
                off += used;
                if (h1_done(&p)) {
                    if (nresp < 2)
                        statuses[nresp] = p.status;
                    nresp++;
                    memcpy(bodies + blen, r.body, r.blen);
                    blen += r.blen;
                    memset(&r, 0, sizeof r);
                    h1_reset(&p, on_header, on_body, &r);
                }
            }
        }
    next:
        if (nresp != 2 || off != n || statuses[0] != 200 || statuses[1] != 404 || blen != 11 ||
            memcmp(bodies, "firstsecond", 11) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Feeding after the end: BENCH_EPROTO, nothing used, the response stays
 * valid and a further empty feed is fine. */
static void test_feed_after_done(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    rec r = {0};
    h1_resp p;
    bench_err e;
    size_t used = 99;
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, in, sizeof in - 1, &used, &e), BENCH_OK);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(h1_feed(&p, "junk", 4, &used, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT(has_words(e.msg, "HTTP response: 4 bytes after the end of the response"));
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(p.status, 200);
    CU_ASSERT_EQUAL(h1_feed(&p, "", 0, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.blen, 2);
}

/* A failure is sticky until h1_reset; then the parser works again. */
static void test_failure_sticky(void)
{
    rec r = {0};
    h1_resp p;
    bench_err e;
    size_t used;
    static const char good[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, "HTTP/1.1 200 OK\r\nbad\r\n", 22, &used, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(h1_feed(&p, "\r\n", 2, &used, &e), BENCH_EPROTO);
    CU_ASSERT(has_words(e.msg, "after a failure without h1_reset"));
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_EPROTO);
    CU_ASSERT(has_words(e.msg, "after a failure"));
    CU_ASSERT_FALSE(h1_headers_done(&p));

    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, good, sizeof good - 1, &used, &e), BENCH_OK);
    CU_ASSERT(h1_done(&p));

    /* a cap failure too */
    static char big[2000];
    memset(big, '1', sizeof big);
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, CHUNKED_HEAD, strlen(CHUNKED_HEAD), &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(h1_feed(&p, big, sizeof big, &used, &e), BENCH_ETOOBIG);
    CU_ASSERT(has_words(e.msg, "HTTP response: chunk size line longer than 1024 bytes"));
    CU_ASSERT_EQUAL(h1_feed(&p, "\r\n", 2, &used, &e), BENCH_ETOOBIG);
}

/* h1_empty and h1_eof before anything, and on an empty feed. */
static void test_empty(void)
{
    h1_resp p;
    bench_err e;
    size_t used = 5;
    h1_reset(&p, NULL, NULL, NULL);
    CU_ASSERT(h1_empty(&p));
    CU_ASSERT_FALSE(h1_headers_done(&p));
    CU_ASSERT_FALSE(h1_done(&p));
    CU_ASSERT_EQUAL(h1_feed(&p, "", 0, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT(h1_empty(&p));
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_EPROTO);
    CU_ASSERT_STRING_EQUAL(e.msg, "HTTP response: connection closed before any response");
    CU_ASSERT(h1_empty(&p));

    CU_ASSERT_EQUAL(h1_feed(&p, "H", 1, &used, &e), BENCH_OK);
    CU_ASSERT_FALSE(h1_empty(&p));
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_EPROTO);
    CU_ASSERT(has_words(e.msg, "inside the status line, after 1 bytes"));
    CU_ASSERT_EQUAL(h1_eof(&p, NULL), BENCH_EPROTO); /* err may be NULL */

    /* after an interim response: no longer empty */
    h1_reset(&p, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(h1_feed(&p, "HTTP/1.1 100 Continue\r\n\r\n", 25, &used, &e), BENCH_OK);
    CU_ASSERT_FALSE(h1_empty(&p));
    CU_ASSERT_FALSE(h1_headers_done(&p));
    CU_ASSERT_EQUAL(p.status, 0);
}

/* NULL callbacks: headers ignored, body counted only. */
static void test_null_callbacks(void)
{
    static const char in[] = CHUNKED_HEAD "3\r\nabc\r\n0\r\n\r\n";
    h1_resp p;
    bench_err e;
    size_t used;
    h1_reset(&p, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(h1_feed(&p, in, sizeof in - 1, &used, &e), BENCH_OK);
    CU_ASSERT_EQUAL(used, sizeof in - 1);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(p.body_bytes, 3);
}

/* Callback stops: BENCH_EINTR at once, *used just past what was handed
 * over; the rest of the buffer then goes on. */
static void test_callback_stop(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 6\r\n\r\n"
                             "abcdef";
    rec r = {0};
    h1_resp p;
    bench_err e;
    size_t used = 0, off;
    r.stop_header = 2;
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, in, sizeof in - 1, &used, &e), BENCH_EINTR);
    CU_ASSERT(has_words(e.msg, "stopped by the caller"));
    CU_ASSERT_EQUAL(r.nheaders, 2);
    CU_ASSERT_EQUAL(used, strlen("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n"));
    CU_ASSERT_FALSE(h1_headers_done(&p));
    off = used;

    r.stop_body = 1;
    CU_ASSERT_EQUAL(h1_feed(&p, in + off, 10, &used, &e), BENCH_OK); /* "C: 3\r\nCont" */
    off += used;
    CU_ASSERT_EQUAL(h1_feed(&p, in + off, sizeof in - 1 - off - 2, &used, &e), BENCH_EINTR);
    off += used;
    CU_ASSERT(h1_headers_done(&p));
    CU_ASSERT_EQUAL(r.blen, 4);
    CU_ASSERT_EQUAL(off, sizeof in - 1 - 2);
    CU_ASSERT_FALSE(h1_done(&p));
    CU_ASSERT_EQUAL(h1_feed(&p, in + off, 2, &used, &e), BENCH_EINTR); /* the last bytes */
    CU_ASSERT_EQUAL(used, 2);
    CU_ASSERT(h1_done(&p));
    CU_ASSERT_EQUAL(r.blen, 6);
    CU_ASSERT_EQUAL(memcmp(r.body, "abcdef", 6), 0);
    CU_ASSERT_EQUAL(r.nheaders, 4);

    /* a close-delimited body stopped: every byte of the feed was handed over */
    memset(&r, 0, sizeof r);
    r.stop_body = 1;
    h1_reset(&p, on_header, on_body, &r);
    CU_ASSERT_EQUAL(h1_feed(&p, "HTTP/1.1 200 OK\r\n\r\nxyz", 22, &used, &e), BENCH_EINTR);
    CU_ASSERT_EQUAL(used, 22);
    CU_ASSERT_EQUAL(r.blen, 3);
    CU_ASSERT_EQUAL(h1_eof(&p, &e), BENCH_OK);
    CU_ASSERT(h1_done(&p));
}

/* A response with "X-Long: vvv...": its header line is `len` bytes with the
 * CR (LF excluded). Caller frees. */
static char *long_line_response(size_t len, size_t *n, size_t *line_at)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nA: b\r\n";
    static const char tail[] = "\nContent-Length: 2\r\n\r\nok";
    char *s = malloc(sizeof head + len + sizeof tail);
    if (!s)
        return NULL;
    size_t k = sizeof head - 1;
    memcpy(s, head, k);
    memcpy(s + k, "X-Long: ", 8);
    memset(s + k + 8, 'v', len - 9);
    s[k + len - 1] = '\r';
    memcpy(s + k + len, tail, sizeof tail);
    *line_at = k;
    *n = k + len + sizeof tail - 1;
    return s;
}

/* A header line longer than line[] works when it arrives whole in one feed;
 * split across feeds it must fit line[] (h1.h). */
static void test_long_header_line(void)
{
    size_t n, at;
    outcome *o = malloc(sizeof *o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);

    char *s = long_line_response(4000, &n, &at);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run(s, n, NULL, 0, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    CU_ASSERT(o->done);
    CU_ASSERT_EQUAL(o->r.nheaders, 3);
    CU_ASSERT_EQUAL(o->r.hlen, strlen("A=b\nX-Long=\nContent-Length=2\n") + 4000 - 9);
    CU_ASSERT_EQUAL(o->r.blen, 2);
    /* the line whole in the second feed, or the first: fine */
    run(s, n, &at, 1, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    CU_ASSERT(o->done);
    size_t after = at + 4001;
    run(s, n, &after, 1, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    CU_ASSERT(o->done);
    /* split inside it: the documented cap */
    size_t mid = at + 2000;
    run(s, n, &mid, 1, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_ETOOBIG);
    CU_ASSERT(has_words(o->err.msg, "header line split across reads longer than 1024 bytes"));
    free(s);

    /* exactly line[] bytes (CR included): every split works */
    outcome *w = malloc(sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    s = long_line_response(sizeof((h1_resp *)0)->line, &n, &at);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(check_splits("1024-byte header line", s, n, 1, 0, 0, w), 0);
    CU_ASSERT_EQUAL(w->st, BENCH_OK);
    CU_ASSERT(w->done);
    free(s);

    /* one more byte: split inside it fails */
    s = long_line_response(sizeof((h1_resp *)0)->line + 1, &n, &at);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    mid = at + 1;
    run(s, n, &mid, 1, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_ETOOBIG);
    run(s, n, NULL, 0, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    free(s);

    /* a long status line (reason) split: the same cap */
    char *st = malloc(3000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    memcpy(st, "HTTP/1.1 200 ", 13);
    memset(st + 13, 'r', 2000);
    memcpy(st + 2013, "\r\n\r\n", 4);
    run(st, 2017, NULL, 0, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    CU_ASSERT_EQUAL(o->status, 200);
    mid = 1500;
    run(st, 2017, &mid, 1, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_ETOOBIG);
    CU_ASSERT(has_words(o->err.msg, "status line split across reads longer than 1024 bytes"));
    free(st);
    free(w);
    free(o);
}

/* Pad headers to make a header section of exactly `total` bytes (status
 * line and final CRLF included), followed by "ok". Caller frees. */
static char *sized_head(size_t total, const char *status_line, size_t *n)
{
    char *s = malloc(total + 64);
    if (!s)
        return NULL;
    size_t k = strlen(status_line);
    memcpy(s, status_line, k);
    static const char cl[] = "Content-Length: 2\r\n";
    memcpy(s + k, cl, sizeof cl - 1);
    k += sizeof cl - 1;
    while (k < total - 2) {
        size_t left = total - 2 - k; /* bytes of headers still to add */
        size_t line = left > 1000 ? 900 : left;
        /* "X-Pad: " + v + CRLF = line bytes; a short remainder goes whole */
        if (line < 10)
            line = 10;
        memcpy(s + k, "X-Pad: ", 7);
        memset(s + k + 7, 'p', line - 9);
        memcpy(s + k + line - 2, "\r\n", 2);
        k += line;
    }
    memcpy(s + k, "\r\nok", 4);
    *n = k + 4;
    return s;
}

/* Header section caps: H1_MAX_HEAD bytes pass, one more fails, wherever
 * the input is split; an interim response counts on its own. */
static void test_head_caps(void)
{
    size_t n;
    outcome *w = malloc(sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    char *s = sized_head(H1_MAX_HEAD, "HTTP/1.1 200 OK\r\n", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(n, H1_MAX_HEAD + 2);
    CU_ASSERT_EQUAL(check_splits("64 KiB head", s, n, 61, 0, 0, w), 0);
    CU_ASSERT_EQUAL(w->st, BENCH_OK);
    CU_ASSERT(w->done);
    CU_ASSERT_EQUAL(w->r.blen, 2);
    free(s);

    s = sized_head(H1_MAX_HEAD + 1, "HTTP/1.1 200 OK\r\n", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(check_splits("64 KiB + 1 head", s, n, 61, 0, 0, w), 0);
    CU_ASSERT_EQUAL(w->st, BENCH_ETOOBIG);
    CU_ASSERT(has_words(w->err.msg, "HTTP response: header section longer than 65536 bytes"));
    free(s);

    /* 65 KiB of headers */
    s = sized_head(65u << 10, "HTTP/1.1 200 OK\r\n", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run(s, n, NULL, 0, 1, w, 0, 0);
    CU_ASSERT_EQUAL(w->st, BENCH_ETOOBIG);
    CU_ASSERT(has_words(w->err.msg, "header section longer than 65536 bytes"));
    free(s);

    /* a 65 KiB line of garbage with no LF */
    s = malloc(65u << 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memcpy(s, "HTTP/1.1 200 ", 13);
    memset(s + 13, 'x', (65u << 10) - 13);
    run(s, 65u << 10, NULL, 0, 1, w, 0, 0);
    CU_ASSERT_EQUAL(w->st, BENCH_ETOOBIG);
    CU_ASSERT(has_words(w->err.msg, "header section longer than 65536 bytes"));
    free(s);

    /* an interim response and a final one of 64 KiB each */
    char *fin = sized_head(H1_MAX_HEAD, "HTTP/1.1 200 OK\r\n", &n);
    char *both = malloc(2 * n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(both);
    memcpy(both, fin, n - 2);
    memcpy(both, "HTTP/1.1 103 Early\r\nLink: </x.css>\r\n", 36); /* as long as the first lines */
    memcpy(both + n - 2, fin, n);
    run(both, 2 * n - 2, NULL, 0, 1, w, 0, 0);
    CU_ASSERT_EQUAL(w->st, BENCH_OK);
    CU_ASSERT_EQUAL(w->status, 200);
    CU_ASSERT(w->done);
    free(both);
    free(fin);
    free(w);
}

/* Trailer section and chunk-size line caps, wherever the input is split. */
static void test_chunk_caps(void)
{
    outcome *w = malloc(sizeof *w);
    size_t hl = strlen(CHUNKED_HEAD);
    char *s = malloc(hl + (70u << 10));
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    /* chunk-size line of 1024 bytes (CR included) passes; 1025 fails */
    for (size_t len = 1024; len <= 1025; len++) {
        memcpy(s, CHUNKED_HEAD, hl);
        memcpy(s + hl, "1;", 2);
        memset(s + hl + 2, 'e', len - 3);
        memcpy(s + hl + len - 1, "\r\nz\r\n0\r\n\r\n", 10);
        size_t n = hl + len + 9;
        CU_ASSERT_EQUAL(check_splits("chunk size line", s, n, 7, 0, 0, w), 0);
        CU_ASSERT_EQUAL(w->st, len == 1024 ? BENCH_OK : BENCH_ETOOBIG);
        if (len == 1025)
            CU_ASSERT(has_words(w->err.msg, "chunk size line longer than 1024 bytes"));
    }

    /* trailer section: long lines are fine (they are not kept), the whole
     * section is capped at H1_MAX_HEAD */
    for (size_t total = H1_MAX_HEAD; total <= H1_MAX_HEAD + 1; total++) {
        memcpy(s, CHUNKED_HEAD "0\r\n", hl + 3);
        size_t k = hl + 3;
        size_t tl = total - 2; /* one trailer line (with its CRLF), then CRLF */
        memcpy(s + k, "T: ", 3);
        memset(s + k + 3, 't', tl - 5);
        memcpy(s + k + tl - 2, "\r\n\r\n", 4);
        size_t n = k + tl + 2;
        CU_ASSERT_EQUAL(check_splits("trailer section", s, n, 509, 0, 0, w), 0);
        if (total == H1_MAX_HEAD) {
            CU_ASSERT_EQUAL(w->st, BENCH_OK);
            CU_ASSERT(w->done);
        } else {
            CU_ASSERT_EQUAL(w->st, BENCH_ETOOBIG);
            CU_ASSERT(has_words(w->err.msg, "trailer section longer than 65536 bytes"));
        }
    }
    free(s);
    free(w);
}

/* A large chunked body fed in odd-sized pieces arrives intact. */
static void test_large_chunked_body(void)
{
    const size_t body = 150000, chunk = 4093;
    char *in = malloc(body + body / chunk * 16 + 256);
    char *expect = malloc(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
    size_t k = (size_t)sprintf(in, CHUNKED_HEAD);
    for (size_t i = 0; i < body; i++)
        expect[i] = (char)('a' + (i * 7) % 26);
    for (size_t off = 0; off < body; off += chunk) {
        size_t m = body - off < chunk ? body - off : chunk;
        k += (size_t)sprintf(in + k, "%zx\r\n", m);
        memcpy(in + k, expect + off, m);
        k += m;
        memcpy(in + k, "\r\n", 2);
        k += 2;
    }
    k += (size_t)sprintf(in + k, "0\r\n\r\n");
    size_t cuts[4096], nc = 0;
    for (size_t c = 1; c < k && nc < 4096; c += 1 + (c * 31) % 97)
        cuts[nc++] = c;
    outcome *o = malloc(sizeof *o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    run(in, k, cuts, nc, 1, o, 0, 0);
    CU_ASSERT_EQUAL(o->st, BENCH_OK);
    CU_ASSERT(o->done);
    CU_ASSERT_EQUAL(o->used, k);
    CU_ASSERT_EQUAL(o->body_bytes, body);
    CU_ASSERT(o->r.blen == body && memcmp(o->r.body, expect, body) == 0);
    free(o);
    free(expect);
    free(in);
}

/* An independent, whole-buffer reading of a chunked body at s[0, n) (all
 * sizes plain hex, no extensions, no trailers): the decoded bytes into out,
 * their count returned; (size_t)-1 when it does not read as expected. */
static size_t dechunk(const char *s, size_t n, char *out, size_t cap)
{
    size_t i = 0, k = 0;
    for (;;) {
        char *end;
        unsigned long size = strtoul(s + i, &end, 16);
        if (end == s + i || (size_t)(end - s) + 2 > n || memcmp(end, "\r\n", 2) != 0)
            return (size_t)-1;
        i = (size_t)(end - s) + 2;
        if (size == 0)
            return i + 2 == n && memcmp(s + i, "\r\n", 2) == 0 ? k : (size_t)-1;
        if (i + size + 2 > n || k + size > cap || memcmp(s + i + size, "\r\n", 2) != 0)
            return (size_t)-1;
        memcpy(out + k, s + i, size);
        k += size;
        i += size + 2;
    }
}

/* A real llama.cpp response (status line, headers, chunked SSE stream) at
 * every split: the body the parser decodes is the one read independently. */
static void test_llamacpp_transcript(void)
{
    size_t n;
    char *s = cutest_load_sample("sse_llamacpp_sample_http_raw.txt", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *body = strstr(s, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    body += 4;
    char *expect = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
    size_t elen = dechunk(body, n - (size_t)(body - s), expect, n);
    CU_ASSERT_FATAL(elen != (size_t)-1 && elen > 1000);

    outcome *w = malloc(sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_EQUAL(check_splits("llama.cpp transcript", s, n, 1, 0, 0, w), 0);
    CU_ASSERT_EQUAL(w->st, BENCH_OK);
    CU_ASSERT(w->done);
    CU_ASSERT_EQUAL(w->used, n);
    CU_ASSERT_EQUAL(w->status, 200);
    CU_ASSERT_EQUAL(w->minor, 1);
    CU_ASSERT_EQUAL(w->keep_alive, 1);
    CU_ASSERT_EQUAL(w->chunked, 1);
    CU_ASSERT_STRING_EQUAL(w->ctype, "text/event-stream");
    CU_ASSERT(strstr(w->r.hdrs, "Server=llama.cpp\n") != NULL);
    CU_ASSERT(strstr(w->r.hdrs, "Keep-Alive=timeout=5, max=100\n") != NULL);
    CU_ASSERT_EQUAL(w->body_bytes, elen);
    CU_ASSERT(w->r.blen == elen && memcmp(w->r.body, expect, elen) == 0);
    CU_ASSERT(elen > 14 && memcmp(w->r.body + elen - 14, "data: [DONE]\n\n", 14) == 0);
    /* and with every callback stopping the parse */
    CU_ASSERT_EQUAL(check_splits("llama.cpp transcript, stops", s, n, 3, 1, 1, w), 0);
    CU_ASSERT(w->r.blen == elen && memcmp(w->r.body, expect, elen) == 0);
    free(w);
    free(expect);
    free(s);
}

static CU_TestInfo tests[] = {
    {"cases: whole, bytewise, every split agree with the table", test_cases},
    {"cases: callback stops, resumed, change nothing", test_cases_resumed_after_stops},
    {"body reaches on_body unbuffered, half chunks at once", test_body_not_buffered},
    {"pipelined responses: used, reset, every split", test_pipelined},
    {"feeding after the end -> EPROTO, response kept", test_feed_after_done},
    {"failures are sticky until reset", test_failure_sticky},
    {"h1_empty and h1_eof before anything", test_empty},
    {"NULL callbacks", test_null_callbacks},
    {"callback stop -> EINTR, resumable", test_callback_stop},
    {"long header lines: whole in a feed, or split within line[]", test_long_header_line},
    {"header section cap (64 KiB) at every split", test_head_caps},
    {"chunk-size line and trailer caps", test_chunk_caps},
    {"large chunked body in odd pieces", test_large_chunked_body},
    {"real llama.cpp response at every split", test_llamacpp_transcript},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("h1", tests);
}
