/* h1.h - incremental HTTP/1.1 response parser (RFC 9112), fed the bytes
 * of one connection exactly as they are read.
 *
 * It frames one response at a time: the status line, the header section
 * (interim 1xx responses are skipped whole, 101 excepted), then the body
 * by Transfer-Encoding: chunked, Content-Length, or the connection's end
 * (RFC 9112 6.3). Body bytes are handed to a callback as they are decoded,
 * chunk framing removed, so a streamed body reaches the caller with no
 * copying and no delay. Everything a peer controls is capped: the header
 * section and the trailer section (H1_MAX_HEAD bytes each), a chunk-size
 * line (sizeof line bytes, extensions included), and a status or header
 * line split across two or more feeds (sizeof line bytes: a longer line is
 * accepted only when it arrives whole in one feed, as it is then read in
 * place; split, it fails with BENCH_ETOOBIG). The parser allocates
 * nothing; an h1_resp is a plain value the caller embeds and reuses across
 * the responses of a kept-alive connection (h1_reset).
 *
 * Errors are one-line messages in a bench_err naming what was wrong, e.g.
 * "HTTP response: bad chunk size line 'zz'" or "HTTP response: header
 * section longer than 65536 bytes". */
#ifndef BENCH_H1_H
#define BENCH_H1_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Largest header section (status line and headers of one response,
 * interim responses counted separately) accepted. */
#define H1_MAX_HEAD (64u << 10)
/* Longest Content-Type kept (longer values are cut). */
#define H1_CTYPE_MAX 128

/* One header line of the final response, name and value trimmed of
 * surrounding whitespace, borrowed for the call only. Return 0 to go on,
 * non-zero to stop: h1_feed then returns BENCH_EINTR. */
typedef int (*h1_header_cb)(void *ud, const char *name, size_t name_len, const char *value,
                            size_t value_len);
/* Decoded body bytes, borrowed for the call only. Return 0 to go on,
 * non-zero to stop: h1_feed then returns BENCH_EINTR. */
typedef int (*h1_body_cb)(void *ud, const char *p, size_t n);

typedef struct {
    /* Set by h1_reset; read-only to the caller. */
    h1_header_cb on_header; /* may be NULL */
    h1_body_cb on_body;     /* may be NULL: body bytes are dropped */
    void *ud;
    /* Results, valid as the fields below say. */
    int status;           /* final status code once h1_headers_done(); else 0 */
    int minor;            /* HTTP/1.<minor> of the final response */
    int keep_alive;       /* the connection may carry another request after this one */
    char ctype[H1_CTYPE_MAX]; /* Content-Type of the final response, "" if none */
    uint64_t body_bytes;  /* decoded body bytes delivered so far */
    /* Internal state. */
    int state;
    int chunked;
    int64_t remaining; /* Content-Length left, or the current chunk's bytes left; -1 unknown
                          (while headers are read: the Content-Length seen) */
    size_t head_len;   /* bytes of the current header (or trailer) section so far */
    size_t line_len;   /* bytes held in line[] */
    char line[1024];   /* a status/header line being assembled across reads; longer lines are
                          matched in place when whole in one feed (see h1.c) */
    unsigned flags;    /* what the header section said so far (F_* of h1.c) */
    int code;          /* status code of the response being read */
    bench_status failed; /* a malformed-input or cap failure, sticky until h1_reset */
} h1_resp;

/* Prepare p for a new response on a connection. The callbacks and ud are
 * kept in p; nothing is allocated. */
void h1_reset(h1_resp *p, h1_header_cb on_header, h1_body_cb on_body, void *ud);

/* Feed n bytes read from the connection (borrowed for the call only).
 * *used is set to the bytes consumed: all n, or fewer when the response
 * ended inside this buffer (the rest belongs to no response: a server that
 * sends bytes after a complete response is violating the protocol, and the
 * caller should close the connection). Returns BENCH_OK, BENCH_EPROTO with
 * a message for malformed input, BENCH_ETOOBIG when a cap is exceeded (both
 * sticky: every later feed fails again until h1_reset; *used is then of no
 * use), or BENCH_EINTR when a callback asked to stop: that returns at once,
 * *used counting the bytes already delivered, and feeding the rest from
 * buf + *used goes on where it stopped. Once the response is done, a feed
 * of n > 0 bytes returns BENCH_EPROTO ("bytes after the end of the
 * response", *used = 0; not sticky: the response read stays valid), an
 * empty one BENCH_OK. */
bench_status h1_feed(h1_resp *p, const char *buf, size_t n, size_t *used, bench_err *err);

/* The connection ended (the peer closed it) after everything fed so far.
 * BENCH_OK when that completes the response (a body delimited by the
 * connection's end: h1_done() is then true) or it was already complete;
 * BENCH_EPROTO with a message naming what was missing otherwise, e.g.
 * "connection closed 1234 bytes into a chunked body, before its last
 * chunk", or "connection closed before any response" when nothing was fed
 * since h1_reset (h1_empty()). After a failed feed it returns that failure
 * again. */
bench_status h1_eof(h1_resp *p, bench_err *err);

/* The final response's header section has been read (status, ctype and
 * keep_alive are valid). */
int h1_headers_done(const h1_resp *p);

/* The whole response has been read. */
int h1_done(const h1_resp *p);

/* Nothing of a response has been fed yet (for telling a kept-alive
 * connection the server had already closed from a reply cut short). */
int h1_empty(const h1_resp *p);

#endif
