/* sse.c - incremental Server-Sent Events parser (see sse.h).
 *
 * Design: the feed loop finds line ends with memchr (one cached scan for '\n'
 * and one for '\r' per call, so CR-only and LF-only streams are both linear)
 * and hands whole lines to process_line(). A line that lies entirely inside
 * one feed is parsed in place; only a line split across feeds is copied into
 * the line buffer. The data, event-type and id buffers are dynbufs that keep
 * their allocation across events, so the steady state allocates nothing. */
#include "sse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

struct sse_parser {
    size_t max_line;
    size_t max_event;
    sse_event_cb cb;
    void *ud;
    dynbuf line;  /* the start of a line split across feeds */
    dynbuf data;  /* data lines of the current event, joined with '\n' */
    dynbuf etype; /* event type of the current event, "" = "message" */
    dynbuf id;    /* last id: value seen */
    int has_data; /* at least one data line since the last dispatch */
    int skip_lf;  /* the previous feed ended in CR: a leading LF belongs to it */
    int bom_done; /* past the point where a BOM may appear */
    int bom_pos;  /* BOM bytes matched so far at the stream start */
    long retry_ms;
    size_t count;
    bench_status failed; /* sticky failure until sse_reset */
};

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

bench_status sse_create(size_t max_line, size_t max_event, sse_event_cb cb, void *ud,
                        sse_parser **out)
{
    *out = NULL;
    sse_parser *p = calloc(1, sizeof *p);
    if (!p)
        return BENCH_ENOMEM;
    p->max_line = max_line;
    p->max_event = max_event;
    p->cb = cb;
    p->ud = ud;
    dynbuf_init(&p->line, max_line);
    dynbuf_init(&p->data, max_event);
    /* a field value is part of a line, so max_line bounds these too */
    dynbuf_init(&p->etype, max_line);
    dynbuf_init(&p->id, max_line);
    sse_reset(p);
    *out = p;
    return BENCH_OK;
}

void sse_reset(sse_parser *p)
{
    dynbuf_reset(&p->line);
    dynbuf_reset(&p->data);
    dynbuf_reset(&p->etype);
    dynbuf_reset(&p->id);
    p->has_data = 0;
    p->skip_lf = 0;
    p->bom_done = 0;
    p->bom_pos = 0;
    p->retry_ms = -1;
    p->count = 0;
    p->failed = BENCH_OK;
}

void sse_destroy(sse_parser *p)
{
    if (!p)
        return;
    dynbuf_free(&p->line);
    dynbuf_free(&p->data);
    dynbuf_free(&p->etype);
    dynbuf_free(&p->id);
    free(p);
}

const char *sse_last_id(const sse_parser *p)
{
    return p->id.p ? p->id.p : "";
}

long sse_retry_ms(const sse_parser *p)
{
    return p->retry_ms;
}

size_t sse_event_count(const sse_parser *p)
{
    return p->count;
}

/* Record a failure so that later feeds refuse to run on inconsistent state. */
static bench_status fail_sticky(sse_parser *p, bench_status st)
{
    p->failed = st;
    return st;
}

static bench_status line_too_long(sse_parser *p, bench_err *err)
{
    return fail_sticky(p,
                       bench_fail(err, BENCH_ETOOBIG,
                                  "SSE line longer than the %zu-byte cap (max_line)", p->max_line));
}

/* Map a dynbuf failure on the line buffer to a message. */
static bench_status line_add_failed(sse_parser *p, bench_status st, bench_err *err)
{
    if (st == BENCH_ETOOBIG)
        return line_too_long(p, err);
    return fail_sticky(p, bench_fail(err, st, "out of memory buffering an SSE line"));
}

/* Blank line: hand the event to the callback (when it has data) and start a
 * new one. The id is not touched: it persists across events by design. */
static bench_status dispatch(sse_parser *p, bench_err *err)
{
    int stop = 0;
    if (p->has_data) {
        p->count++;
        if (p->cb)
            stop = p->cb(p->ud, p->etype.len ? p->etype.p : "message", p->data.p ? p->data.p : "",
                         p->data.len);
    }
    dynbuf_reset(&p->data);
    dynbuf_reset(&p->etype);
    p->has_data = 0;
    if (stop)
        return bench_fail(err, BENCH_EINTR, "SSE event callback stopped the stream");
    return BENCH_OK;
}

/* Replace the contents of b with v (at most max_line bytes, as v is part of
 * a line that already passed the cap). */
static bench_status set_field(sse_parser *p, dynbuf *b, const char *v, size_t vlen, bench_err *err)
{
    dynbuf_reset(b);
    bench_status st = dynbuf_add(b, v, vlen);
    if (st != BENCH_OK)
        return line_add_failed(p, st, err);
    return BENCH_OK;
}

/* Interpret one complete line (terminator removed). */
static bench_status process_line(sse_parser *p, const char *s, size_t len, bench_err *err)
{
    bench_status st = BENCH_OK;
    if (len == 0)
        return dispatch(p, err);
    if (s[0] == ':')
        return BENCH_OK; /* comment */

    const char *colon = memchr(s, ':', len);
    size_t flen = colon ? (size_t)(colon - s) : len;
    const char *v = colon ? colon + 1 : s + len;
    size_t vlen = colon ? len - flen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }

    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (p->has_data && (st = dynbuf_add(&p->data, "\n", 1)) != BENCH_OK)
            goto data_fail;
        if ((st = dynbuf_add(&p->data, v, vlen)) != BENCH_OK)
            goto data_fail;
        p->has_data = 1;
    } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
        st = set_field(p, &p->etype, v, vlen, err);
    } else if (flen == 2 && memcmp(s, "id", 2) == 0) {
        /* the specification ignores an id containing NUL */
        if (!memchr(v, '\0', vlen))
            st = set_field(p, &p->id, v, vlen, err);
    } else if (flen == 5 && memcmp(s, "retry", 5) == 0) {
        /* only ASCII digits are valid; anything else is ignored */
        long ms = 0;
        size_t i;
        for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
            ms = ms > (LONG_MAX - 9) / 10 ? LONG_MAX : ms * 10 + (v[i] - '0');
        if (vlen && i == vlen)
            p->retry_ms = ms;
    }
    /* other fields are ignored */
    return st;

data_fail:
    if (st == BENCH_ETOOBIG)
        return fail_sticky(p, bench_fail(err, BENCH_ETOOBIG,
                                         "SSE event data longer than the %zu-byte cap (max_event)",
                                         p->max_event));
    return fail_sticky(p, bench_fail(err, st, "out of memory buffering SSE event data"));
}

/* Position of the first c in buf[from, n), or n. */
static size_t scan(const char *buf, size_t from, size_t n, char c)
{
    const char *q = memchr(buf + from, c, n - from);
    return q ? (size_t)(q - buf) : n;
}

bench_status sse_feed(sse_parser *p, const char *buf, size_t n, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t i = 0;

    if (p->failed != BENCH_OK)
        return bench_fail(err, p->failed, "SSE parser used after a failure without sse_reset");
    if (n == 0)
        return BENCH_OK;

    /* A UTF-8 BOM is dropped at the very start of the stream only; it may
     * itself be split across feeds. A partial match was data after all. */
    while (!p->bom_done && i < n) {
        if ((unsigned char)buf[i] == utf8_bom[p->bom_pos]) {
            i++;
            if (++p->bom_pos == 3)
                p->bom_done = 1;
        } else {
            p->bom_done = 1;
            if (p->bom_pos && (st = dynbuf_add(&p->line, utf8_bom, (size_t)p->bom_pos)))
                return line_add_failed(p, st, err);
        }
    }
    if (p->skip_lf && i < n) {
        p->skip_lf = 0;
        if (buf[i] == '\n')
            i++;
    }

    size_t nl = scan(buf, i, n, '\n');
    size_t cr = scan(buf, i, n, '\r');
    while (i < n) {
        if (nl < i)
            nl = scan(buf, i, n, '\n');
        if (cr < i)
            cr = scan(buf, i, n, '\r');
        size_t e = nl < cr ? nl : cr;

        if (e == n) { /* no terminator: keep the partial line for the next feed */
            if ((st = dynbuf_add(&p->line, buf + i, n - i)) != BENCH_OK)
                return line_add_failed(p, st, err);
            return BENCH_OK;
        }

        const char *ls = buf + i;
        size_t llen = e - i;
        if (p->line.len) {
            if ((st = dynbuf_add(&p->line, ls, llen)) != BENCH_OK)
                return line_add_failed(p, st, err);
            ls = p->line.p;
            llen = p->line.len;
        } else if (llen > p->max_line) {
            return line_too_long(p, err);
        }

        /* Consume the terminator before interpreting the line, so that a
         * callback stop leaves the parser right after this line. */
        i = e + 1;
        if (buf[e] == '\r') {
            if (i < n && buf[i] == '\n')
                i++;
            else if (i == n)
                p->skip_lf = 1;
        }

        st = process_line(p, ls, llen, err);
        dynbuf_reset(&p->line);
        if (st != BENCH_OK)
            return st;
    }
    return BENCH_OK;
}

bench_status sse_finish(sse_parser *p, int *pending)
{
    int partial = p->line.len > 0 || p->has_data || (!p->bom_done && p->bom_pos > 0);
    if (pending)
        *pending = partial;
    dynbuf_reset(&p->line);
    dynbuf_reset(&p->data);
    dynbuf_reset(&p->etype);
    p->has_data = 0;
    p->skip_lf = 0;
    return BENCH_OK;
}
