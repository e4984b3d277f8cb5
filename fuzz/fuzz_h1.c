/* fuzz_h1.c - libFuzzer target: the HTTP/1.1 response parser (h1.h),
 * docs/FUZZING.md.
 *
 * Input: a 4-byte header, then the bytes of a connection. Header bytes 0-1
 * are the first cut (little-endian, modulo the length + 1), byte 2 the size
 * of the pieces fed after it (modulo 64; 0: the rest at once), byte 3 the
 * callback stops: bits 0-2 stop at every k-th header, bits 3-5 at every
 * k-th body piece (0: never).
 *
 * The connection is parsed twice, whole and in pieces, as a client would:
 * after BENCH_EINTR feeding goes on from *used, after a complete response
 * the parser is reset for the next one, and after the last byte h1_eof.
 * Both runs must agree on every response (status, version, keep-alive,
 * framing, Content-Type, headers, body), the number of responses, the
 * final status and what h1_eof says: h1.h promises any split is the same
 * stream. The one documented exception is a status or header line longer
 * than line[] split across feeds (BENCH_ETOOBIG in the split run; in the
 * whole run too when the input ends inside that line).
 * Each run also checks what h1.h promises of every call: *used within the
 * feed and all of it unless done or stopped, progress after a stop, body
 * bytes pointing into the feed being parsed (never buffered), trimmed
 * header names and values, failures sticky and with a message, and a feed
 * after the end refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"

#define HDR 4

typedef struct {
    uint64_t hash;      /* headers and responses, in order */
    uint64_t body_hash; /* body bytes (FNV-1a: the same however they are cut) */
    uint64_t delivered; /* body bytes of the current response */
    unsigned headers;   /* header callbacks */
    unsigned pieces;    /* body callbacks */
    unsigned stop_hdr;  /* stop at every stop_hdr-th header (0: never) */
    unsigned stop_body; /* stop at every stop_body-th body piece (0: never) */
    const char *feed;   /* the buffer being fed, for the pointer check */
    size_t feed_len;
} seen;

typedef struct {
    bench_status st;     /* last feed's status (an EINTR resumed is OK) */
    bench_status eof_st; /* h1_eof after every byte was fed OK */
    int eof_done;
    int split_cap; /* the split-only line cap was hit */
    size_t responses;
    uint64_t hash, body_hash;
} outcome;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int ows(char c)
{
    return c == ' ' || c == '\t';
}

static int on_header(void *ud, const char *name, size_t nn, const char *value, size_t vn)
{
    seen *s = ud;
    if (nn == 0 || ows(name[0]) || ows(name[nn - 1]) || memchr(name, ':', nn))
        abort(); /* h1.h: a name, trimmed */
    if (vn && (ows(value[0]) || ows(value[vn - 1])))
        abort(); /* h1.h: the value trimmed */
    s->hash = mix(s->hash, name, nn);
    s->hash = mix(s->hash, "=", 1);
    s->hash = mix(s->hash, value, vn);
    s->hash = mix(s->hash, "\n", 1);
    s->headers++;
    return s->stop_hdr && s->headers % s->stop_hdr == 0;
}

static int on_body(void *ud, const char *p, size_t n)
{
    seen *s = ud;
    if (n == 0 || p < s->feed || p + n > s->feed + s->feed_len)
        abort(); /* body bytes come straight from the feed, never empty */
    s->body_hash = mix(s->body_hash, p, n);
    s->delivered += n;
    s->pieces++;
    return s->stop_body && s->pieces % s->stop_body == 0;
}

static void check_msg(const bench_err *e)
{
    if (!memchr(e->msg, '\0', sizeof e->msg) || strncmp(e->msg, "HTTP response: ", 15) != 0)
        abort();
}

/* A response is complete: fold what the caller may read into the hash. */
static void response_done(const h1_resp *p, seen *s)
{
    if (!h1_headers_done(p) || p->status < 200 || p->status > 999)
        abort();
    if (p->body_bytes != s->delivered || !memchr(p->ctype, '\0', sizeof p->ctype))
        abort();
    int v[5] = {p->status, p->minor, p->keep_alive, p->chunked, 0};
    s->hash = mix(s->hash, v, sizeof v);
    s->hash = mix(s->hash, p->ctype, strlen(p->ctype) + 1);
    s->hash = mix(s->hash, &p->body_bytes, sizeof p->body_bytes);
    s->delivered = 0;
}

/* Feed in[0, n): first [0, cut), then pieces of `piece` bytes (0: the rest). */
static void parse(const char *in, size_t n, size_t cut, size_t piece, unsigned stops, outcome *o)
{
    seen s = {.hash = 0xcbf29ce484222325ULL,
              .body_hash = 0xcbf29ce484222325ULL,
              .stop_hdr = stops & 7,
              .stop_body = (stops >> 3) & 7};
    h1_resp p;
    bench_err err;
    size_t off = 0;
    memset(o, 0, sizeof *o);
    h1_reset(&p, on_header, on_body, &s);
    while (off < n) {
        size_t end = off < cut ? cut : piece && piece < n - off ? off + piece : n;
        while (off < end) {
            size_t used = (size_t)-1;
            s.feed = in + off;
            s.feed_len = end - off;
            bench_status st = h1_feed(&p, in + off, end - off, &used, &err);
            if (st != BENCH_OK && st != BENCH_EINTR) {
                bench_err again;
                check_msg(&err);
                o->st = st;
                o->split_cap = st == BENCH_ETOOBIG && strstr(err.msg, "split across reads");
                if (h1_feed(&p, "x", 1, &used, &again) != st || h1_eof(&p, &again) != st)
                    abort(); /* sticky until h1_reset */
                goto out;
            }
            if (used > end - off || (st == BENCH_EINTR && used == 0))
                abort();
            if (st == BENCH_EINTR)
                check_msg(&err);
            off += used;
            if (h1_done(&p)) {
                response_done(&p, &s);
                o->responses++;
                if (off < end) {
                    if (h1_feed(&p, in + off, end - off, &used, &err) != BENCH_EPROTO ||
                        used != 0 || !h1_done(&p))
                        abort(); /* h1.h: bytes after the end are refused */
                    check_msg(&err);
                }
                h1_reset(&p, on_header, on_body, &s);
                if (!h1_empty(&p))
                    abort();
            } else if (st == BENCH_OK && off != end) {
                abort(); /* not done, not stopped: every byte is used */
            }
        }
    }
    o->eof_st = h1_eof(&p, &err);
    o->eof_done = h1_done(&p);
    if (o->eof_st != BENCH_OK)
        check_msg(&err);
    else if (o->eof_done && !h1_empty(&p))
        response_done(&p, &s);
out:
    o->hash = s.hash;
    o->body_hash = s.body_hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    const char *in = (const char *)data + HDR;
    size_t n = size - HDR;
    size_t cut = ((size_t)data[0] | (size_t)data[1] << 8) % (n + 1);
    size_t piece = data[2] % 64;
    unsigned stops = data[3];
    outcome whole, split;
    parse(in, n, 0, 0, stops, &whole);
    parse(in, n, cut, piece, stops, &split);
    /* The documented difference (h1.h): a long line cut by a feed. The
     * whole run meets it only for a line still going on at the end of the
     * input, which the split run must then meet too. */
    if (whole.split_cap && !split.split_cap)
        abort();
    if (split.split_cap)
        return 0;
    if (whole.st != split.st || whole.eof_st != split.eof_st || whole.eof_done != split.eof_done ||
        whole.responses != split.responses || whole.hash != split.hash ||
        whole.body_hash != split.body_hash) {
        fprintf(stderr,
                "fuzz_h1: whole and split parses differ (cut %zu, piece %zu: status %d/%d, eof "
                "%d/%d, responses %zu/%zu)\n",
                cut, piece, (int)whole.st, (int)split.st, (int)whole.eof_st, (int)split.eof_st,
                whole.responses, split.responses);
        abort();
    }
    return 0;
}
