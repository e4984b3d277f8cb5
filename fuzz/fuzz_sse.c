/* fuzz_sse.c - libFuzzer target: the SSE parser (sse.h) and the event
 * payloads it hands on (oai.h), docs/FUZZING.md.
 *
 * Input: an 8-byte header, then the stream. Header byte 0 picks the caps
 * (small ones, so the cap paths are reached, or the worker's 1 MiB), byte 1
 * the event after which the callback stops the stream (0: never), bytes
 * 2..7 the sizes of the pieces the stream is fed in (0: the rest at once).
 *
 * The stream is parsed twice, whole and in pieces, and both runs must agree
 * on every event, the final status, the last id, the retry value and the
 * event count: sse.h promises that any split is the same stream. Each
 * event's data goes through oai_parse_event_top, the whole input through
 * oai_error_message, and their outputs are checked to be terminated
 * strings within their arrays; each payload the allocation-free fast path
 * takes must read exactly as cJSON reads it (oai_fast_agrees). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "oai.h"
#include "oai_fast.h"
#include "sse.h"

#define HDR 8

/* What one parse saw: a running hash of the events and their count. */
typedef struct {
    uint64_t hash;
    size_t events;
    size_t stop_at; /* stop after this many events; 0 = never */
    int payloads;   /* also parse each payload with oai_parse_event_top */
    dynbuf text;    /* content text collected by the payload parser */
    oai_top top;
} seen;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
    return h;
}

static void check_str(const char *s, size_t size)
{
    if (!memchr(s, '\0', size))
        abort(); /* an output string not terminated within its array */
}

static void check_payload(seen *s, const char *data, size_t len)
{
    oai_event ev;
    bench_err err;
    bench_status st = oai_parse_event_top(data, len, &ev, &s->text, &s->top, &err);
    check_str(ev.error_msg, sizeof ev.error_msg);
    check_str(ev.finish_reason, sizeof ev.finish_reason);
    if (st != BENCH_OK)
        check_str(err.msg, sizeof err.msg);
    if (s->top.n < 0 || s->top.n > OAI_TOP_MAX)
        abort();
    for (int i = 0; i < s->top.n; i++)
        check_str(s->top.token[i], OAI_TOP_TOKEN_LEN);
    if (s->text.p && s->text.p[s->text.len] != '\0')
        abort();
    if (st == BENCH_ETOOBIG) /* the content cap: start again, as a new response */
        dynbuf_reset(&s->text);
    if (!oai_fast_agrees(data, len, s->text.max))
        abort(); /* the fast path read a payload differently from cJSON */
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    seen *s = ud;
    if (data[len] != '\0')
        abort(); /* sse.h: data is NUL-terminated after len bytes */
    s->hash = mix(s->hash, event, strlen(event) + 1);
    s->hash = mix(s->hash, &len, sizeof len);
    s->hash = mix(s->hash, data, len);
    s->events++;
    if (s->payloads)
        check_payload(s, data, len);
    return s->stop_at && s->events >= s->stop_at;
}

typedef struct {
    bench_status st;
    uint64_t hash;
    size_t events, count;
    long retry;
    uint64_t id_hash;
    int pending;
} outcome;

/* Parse body in pieces of the given sizes (cycled; 0 = the rest). */
static void parse(const uint8_t *hdr, const char *body, size_t n, const size_t *pieces,
                  int payloads, outcome *o)
{
    size_t max_line = (hdr[0] & 1) ? 1u << 20 : 8 + (hdr[0] >> 1);
    size_t max_event = (hdr[0] & 1) ? 1u << 20 : 16 + 4 * (size_t)(hdr[0] >> 1);
    seen s = {.hash = 0xcbf29ce484222325ULL, .stop_at = hdr[1], .payloads = payloads};
    sse_parser *p = NULL;
    bench_err err;
    memset(o, 0, sizeof *o);
    dynbuf_init(&s.text, 4096);
    if (sse_create(max_line, max_event, on_event, &s, &p) != BENCH_OK)
        abort();
    size_t off = 0;
    for (int k = 0; off < n && o->st == BENCH_OK; k++) {
        size_t want = pieces ? pieces[k % 6] : 0;
        size_t m = want && want < n - off ? want : n - off;
        o->st = sse_feed(p, body + off, m, &err);
        off += m;
    }
    if (o->st == BENCH_ETOOBIG) {
        /* Sticky until reset; after a reset the parser takes a new stream. */
        if (sse_feed(p, "x", 1, &err) != BENCH_ETOOBIG)
            abort();
        sse_reset(p);
        s.stop_at = 0;
        if (sse_feed(p, "data: ok\n\n", 10, &err) != BENCH_OK)
            abort();
    }
    sse_finish(p, &o->pending);
    o->hash = s.hash;
    o->events = s.events;
    o->count = sse_event_count(p);
    o->retry = sse_retry_ms(p);
    o->id_hash = mix(0, sse_last_id(p), strlen(sse_last_id(p)));
    sse_destroy(p);
    dynbuf_free(&s.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    const char *body = (const char *)data + HDR;
    size_t n = size - HDR;
    size_t pieces[6];
    for (int i = 0; i < 6; i++)
        pieces[i] = data[2 + i] % 48; /* 0 = the rest at once */
    outcome whole, split;
    parse(data, body, n, NULL, 1, &whole);
    parse(data, body, n, pieces, 0, &split);
    if (whole.st != split.st || whole.hash != split.hash || whole.events != split.events ||
        whole.count != split.count || whole.retry != split.retry ||
        whole.id_hash != split.id_hash || whole.pending != split.pending) {
        fprintf(stderr, "fuzz_sse: whole and split parses differ (status %d/%d, events %zu/%zu)\n",
                (int)whole.st, (int)split.st, whole.events, split.events);
        abort();
    }

    char msg[300];
    size_t msgsz = 1 + data[0] % sizeof msg;
    oai_error_message(body, n, msg, msgsz);
    check_str(msg, msgsz);
    return 0;
}
