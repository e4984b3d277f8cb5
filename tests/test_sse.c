/* Unit tests: the incremental SSE parser, on synthetic streams and on the
 * real server transcripts in the samples directory fed at every split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "dynbuf.h"
#include "fileio.h"
#include "sse.h"

/* ---- event recorder ---------------------------------------------------- */

/* One recorded event; the strings are owned by the recorder. */
typedef struct {
    char *type;
    char *data;
    size_t len;
} rec_event;

/* Records every event (record mode) or compares each against a reference
 * list without allocating (check mode, used for the many split runs). */
typedef struct {
    rec_event *ev;        /* record mode: owned array */
    size_t n, cap;        /* events seen so far */
    const rec_event *ref; /* check mode: borrowed reference */
    size_t nref;
    int mismatch; /* check mode: some event differed */
    int stop_at;  /* return non-zero from the callback at this event (1-based) */
} recorder;

static char *memdup0(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int rec_cb(void *ud, const char *type, const char *data, size_t len)
{
    recorder *r = ud;
    if (r->ref) {
        if (r->n >= r->nref || r->ref[r->n].len != len || memcmp(r->ref[r->n].data, data, len) ||
            strcmp(r->ref[r->n].type, type))
            r->mismatch = 1;
    } else {
        if (r->n == r->cap) {
            size_t ncap = r->cap ? 2 * r->cap : 16;
            rec_event *ne = realloc(r->ev, ncap * sizeof *ne);
            if (!ne)
                return 1;
            r->ev = ne;
            r->cap = ncap;
        }
        r->ev[r->n].type = memdup0(type, strlen(type));
        r->ev[r->n].data = memdup0(data, len);
        r->ev[r->n].len = len;
        CU_ASSERT_EQUAL(data[len], '\0'); /* NUL-terminated as promised */
    }
    r->n++;
    return r->stop_at && (int)r->n == r->stop_at;
}

static void rec_free(recorder *r)
{
    for (size_t i = 0; i < r->n && r->ev; i++) {
        free(r->ev[i].type);
        free(r->ev[i].data);
    }
    free(r->ev);
    memset(r, 0, sizeof *r);
}

/* Parse s in one go with generous caps, recording events. Returns the feed
 * status; *pending gets sse_finish's flag. */
static bench_status parse_all(const char *s, size_t n, recorder *r, int *pending)
{
    sse_parser *p;
    bench_err e;
    if (sse_create(1 << 20, 1 << 20, rec_cb, r, &p) != BENCH_OK)
        return BENCH_ENOMEM;
    bench_status st = sse_feed(p, s, n, &e);
    sse_finish(p, pending);
    CU_ASSERT_EQUAL(sse_event_count(p), r->n);
    sse_destroy(p);
    return st;
}

static bench_status parse_str(const char *s, recorder *r, int *pending)
{
    return parse_all(s, strlen(s), r, pending);
}

/* Feed s one byte at a time. */
static bench_status parse_bytewise(const char *s, size_t n, recorder *r, int *pending)
{
    sse_parser *p;
    bench_err e;
    bench_status st = BENCH_OK;
    if (sse_create(1 << 20, 1 << 20, rec_cb, r, &p) != BENCH_OK)
        return BENCH_ENOMEM;
    for (size_t i = 0; i < n && st == BENCH_OK; i++)
        st = sse_feed(p, s + i, 1, &e);
    sse_finish(p, pending);
    sse_destroy(p);
    return st;
}

/* ---- transcripts ------------------------------------------------------- */

static const char *const transcripts[] = {
    "sse_llamacpp_sample.txt",
    "sse_llamacpp_midstream_error_sample.txt",
    "sse_mockllm_sample.txt",
};

/* The independent expectation: every line starting with "data: " is one
 * event whose data is the rest of the line (true of these transcripts). */
static size_t expected_events(const char *s, size_t n, rec_event *out, size_t max)
{
    size_t count = 0, i = 0;
    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n;
        if (end - i >= 5 && memcmp(s + i, "data:", 5) == 0) {
            size_t v = i + 5 + (end - i > 5 && s[i + 5] == ' ');
            if (count < max) {
                out[count].type = (char *)"message";
                out[count].data = (char *)s + v;
                out[count].len = end - v;
            }
            count++;
        }
        i = end + 1;
    }
    return count;
}

/* Convert LF line ends to CRLF (crlf=1) or CR (crlf=0). Caller frees. */
static char *convert_eol(const char *s, size_t n, int crlf, size_t *outlen)
{
    char *o = malloc(2 * n + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            o[k++] = '\r';
            if (crlf)
                o[k++] = '\n';
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* Feed s split in two at every position, then one byte at a time, checking
 * each run against ref. Returns the number of runs that differed. */
static size_t check_all_splits(const char *s, size_t n, const recorder *ref)
{
    size_t bad = 0;
    sse_parser *p;
    bench_err e;
    recorder chk = {0};
    chk.ref = ref->ev;
    chk.nref = ref->n;
    CU_ASSERT_EQUAL_FATAL(sse_create(1 << 20, 1 << 20, rec_cb, &chk, &p), BENCH_OK);
    for (size_t cut = 0; cut <= n; cut++) {
        int pending = -1;
        sse_reset(p);
        chk.n = 0;
        chk.mismatch = 0;
        bench_status st = sse_feed(p, s, cut, &e);
        if (st == BENCH_OK)
            st = sse_feed(p, s + cut, n - cut, &e);
        sse_finish(p, &pending);
        if (st != BENCH_OK || chk.mismatch || chk.n != ref->n || pending != 0 ||
            sse_event_count(p) != ref->n) {
            if (!bad)
                fprintf(stderr, "split at %zu: st=%d events=%zu/%zu mismatch=%d pending=%d\n", cut,
                        (int)st, chk.n, ref->n, chk.mismatch, pending);
            bad++;
        }
    }
    /* one byte at a time, through the same (reset) parser */
    sse_reset(p);
    chk.n = 0;
    chk.mismatch = 0;
    bench_status st = BENCH_OK;
    for (size_t i = 0; i < n && st == BENCH_OK; i++)
        st = sse_feed(p, s + i, 1, &e);
    int pending = -1;
    sse_finish(p, &pending);
    if (st != BENCH_OK || chk.mismatch || chk.n != ref->n || pending != 0) {
        fprintf(stderr, "bytewise: st=%d events=%zu/%zu mismatch=%d\n", (int)st, chk.n, ref->n,
                chk.mismatch);
        bad++;
    }
    sse_destroy(p);
    return bad;
}

/* For one transcript and one line-ending variant (0 = as captured (LF),
 * 1 = CRLF, 2 = CR only): whole-buffer parse equals the independent count
 * and data, and every split gives the same events. */
static void check_transcript(const char *name, int variant)
{
    size_t n;
    char *orig = cutest_load_sample(name, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(orig);

    rec_event expect[512];
    size_t nexp = expected_events(orig, n, expect, 512);
    CU_ASSERT(nexp > 0 && nexp <= 512);

    char *s = orig;
    size_t slen = n;
    if (variant) {
        s = convert_eol(orig, n, variant == 1, &slen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    }

    recorder whole = {0};
    int pending = -1;
    CU_ASSERT_EQUAL(parse_all(s, slen, &whole, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(pending, 0);
    CU_ASSERT_EQUAL(whole.n, nexp);
    for (size_t i = 0; i < whole.n && i < nexp; i++) {
        CU_ASSERT_STRING_EQUAL(whole.ev[i].type, "message");
        CU_ASSERT_EQUAL(whole.ev[i].len, expect[i].len);
        CU_ASSERT(whole.ev[i].len == expect[i].len &&
                  memcmp(whole.ev[i].data, expect[i].data, expect[i].len) == 0);
    }

    size_t bad = check_all_splits(s, slen, &whole);
    if (bad)
        fprintf(stderr, "%s variant %d: %zu split runs differ\n", name, variant, bad);
    CU_ASSERT_EQUAL(bad, 0);

    rec_free(&whole);
    if (s != orig)
        free(s);
    free(orig);
}

static void test_transcripts_lf(void)
{
    for (size_t i = 0; i < sizeof transcripts / sizeof *transcripts; i++)
        check_transcript(transcripts[i], 0);
}

static void test_transcripts_crlf(void)
{
    for (size_t i = 0; i < sizeof transcripts / sizeof *transcripts; i++)
        check_transcript(transcripts[i], 1);
}

static void test_transcripts_cr(void)
{
    for (size_t i = 0; i < sizeof transcripts / sizeof *transcripts; i++)
        check_transcript(transcripts[i], 2);
}

/* Fixed counts and final payloads (read off the files with grep), so a
 * mistake in the independent counter cannot hide a parser mistake. */
static void test_transcript_known_counts(void)
{
    static const struct {
        const char *name;
        size_t events;
        const char *last;
    } known[] = {
        {"sse_llamacpp_sample.txt", 16, "[DONE]"},
        {"sse_llamacpp_midstream_error_sample.txt", 90,
         "{\"error\":{\"code\":500,\"message\":\"The model produced output that does not match "
         "the expected Content-only format\",\"type\":\"server_error\"}}"},
        {"sse_mockllm_sample.txt", 3, "[DONE]"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        size_t n;
        char *s = cutest_load_sample(known[i].name, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        recorder r = {0};
        int pending = -1;
        CU_ASSERT_EQUAL(parse_all(s, n, &r, &pending), BENCH_OK);
        CU_ASSERT_EQUAL(r.n, known[i].events);
        if (r.n)
            CU_ASSERT_STRING_EQUAL(r.ev[r.n - 1].data, known[i].last);
        rec_free(&r);
        free(s);
    }
}

/* ---- synthetic streams -------------------------------------------------- */

static void test_comments(void)
{
    recorder r = {0};
    int pending = -1;
    CU_ASSERT_EQUAL(
        parse_str(": keep-alive\n\n:\ndata: a\n: between\ndata: b\n\n: tail\n", &r, &pending),
        BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    if (r.n == 1)
        CU_ASSERT_STRING_EQUAL(r.ev[0].data, "a\nb");
    CU_ASSERT_EQUAL(pending, 0);
    rec_free(&r);
}

static void test_multiline_and_space_rules(void)
{
    recorder r = {0};
    int pending;
    const char *s = "data: one\ndata:two\ndata:  three\ndata\ndata: \n\n" /* 1 */
                    "data\n\n"                                            /* 2: empty data */
                    "data:\n\n"                                           /* 3: empty data */
                    "data: a:b: c\n\n";                                   /* 4 */
    CU_ASSERT_EQUAL(parse_str(s, &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 4);
    CU_ASSERT_EQUAL(r.ev[0].len, strlen("one\ntwo\n three\n\n"));
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "one\ntwo\n three\n\n");
    CU_ASSERT_STRING_EQUAL(r.ev[1].data, "");
    CU_ASSERT_EQUAL(r.ev[1].len, 0);
    CU_ASSERT_STRING_EQUAL(r.ev[2].data, "");
    CU_ASSERT_STRING_EQUAL(r.ev[3].data, "a:b: c");
    rec_free(&r);

    /* a NUL inside data is data; len says how much */
    static const char nul[] = "data: a\0b\n\n";
    CU_ASSERT_EQUAL(parse_all(nul, sizeof nul - 1, &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.ev[0].len, 3);
    CU_ASSERT(memcmp(r.ev[0].data, "a\0b", 3) == 0);
    rec_free(&r);
}

static void test_no_dispatch_without_data(void)
{
    recorder r = {0};
    int pending;
    /* blank lines and events without data dispatch nothing, and the event
     * type does not leak into the next event */
    CU_ASSERT_EQUAL(parse_str("\n\n\nevent: ping\n\nid: 7\n\ndata: x\n\n", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].type, "message");
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "x");
    CU_ASSERT_EQUAL(pending, 0);
    rec_free(&r);
}

static void test_event_id_retry(void)
{
    recorder r = {0};
    sse_parser *p;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(sse_create(1024, 1024, rec_cb, &r, &p), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(sse_last_id(p), "");
    CU_ASSERT_EQUAL(sse_retry_ms(p), -1);
    const char *s = "event: update\nid: 42\nretry: 3000\ndata: a\n\n"
                    "data: b\n\n"         /* type back to message, id persists */
                    "retry: 12x\nid\n"    /* invalid retry ignored; id with no colon clears */
                    "data: c\nevent\n\n"; /* event with no colon = empty = message */
    CU_ASSERT_EQUAL(sse_feed(p, s, 39, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(sse_last_id(p), "42");
    CU_ASSERT_EQUAL(sse_retry_ms(p), 3000);
    CU_ASSERT_EQUAL(sse_feed(p, s + 39, strlen(s) - 39, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.ev[0].type, "update");
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "a");
    CU_ASSERT_STRING_EQUAL(r.ev[1].type, "message");
    CU_ASSERT_STRING_EQUAL(r.ev[2].type, "message");
    CU_ASSERT_STRING_EQUAL(sse_last_id(p), "");
    CU_ASSERT_EQUAL(sse_retry_ms(p), 3000);

    /* an id containing NUL is ignored; unknown fields are ignored */
    static const char nulid[] = "id: 9\nid: a\0b\nfoo: bar\ndata: d\n\n";
    CU_ASSERT_EQUAL(sse_feed(p, nulid, sizeof nulid - 1, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(sse_last_id(p), "9");
    CU_ASSERT_EQUAL(sse_event_count(p), 4);

    sse_reset(p);
    CU_ASSERT_EQUAL(sse_event_count(p), 0);
    CU_ASSERT_STRING_EQUAL(sse_last_id(p), "");
    CU_ASSERT_EQUAL(sse_retry_ms(p), -1);
    sse_destroy(p);
    rec_free(&r);
}

static void test_line_endings(void)
{
    recorder r = {0};
    int pending;
    /* CR, LF and CRLF mixed; CR CR is a blank line; LF after CR is not */
    CU_ASSERT_EQUAL(parse_str("data: a\rdata: b\r\n\r\ndata: c\n\ndata: d\r\r", &r, &pending),
                    BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "a\nb");
    CU_ASSERT_STRING_EQUAL(r.ev[1].data, "c");
    CU_ASSERT_STRING_EQUAL(r.ev[2].data, "d");
    CU_ASSERT_EQUAL(pending, 0);
    rec_free(&r);

    /* CRLF split across feeds: the LF must not count as a blank line */
    sse_parser *p;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(sse_create(64, 64, rec_cb, &r, &p), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, "data: x\r", 8, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, "", 0, &e), BENCH_OK); /* empty feed keeps the CR state */
    CU_ASSERT_EQUAL(sse_feed(p, "\ndata: y\r", 9, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 0);
    CU_ASSERT_EQUAL(sse_feed(p, "\n\r", 2, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(sse_feed(p, "\n", 1, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "x\ny");
    /* but LF, LF after a split CR: the second LF is a blank line */
    CU_ASSERT_EQUAL(sse_feed(p, "data: z\r", 8, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, "\n\n", 2, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT_STRING_EQUAL(r.ev[1].data, "z");
    sse_destroy(p);
    rec_free(&r);
}

static void test_bom(void)
{
    recorder r = {0};
    int pending;
    const char *s = "\xEF\xBB\xBF"
                    "data: x\n\n";
    CU_ASSERT_EQUAL(parse_str(s, &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "x");
    rec_free(&r);
    CU_ASSERT_EQUAL(parse_bytewise(s, strlen(s), &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "x");
    rec_free(&r);

    /* a BOM later in the stream is not stripped: the field is then unknown */
    CU_ASSERT_EQUAL(parse_str("data: x\n\n\xEF\xBB\xBF"
                              "data: y\n\n",
                              &r, &pending),
                    BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    rec_free(&r);

    /* a partial BOM is data: "\xEF\xBB" + "data" is an unknown field name */
    static const char half[] = "\xEF\xBB"
                               "data: y\n\ndata: z\n\n";
    CU_ASSERT_EQUAL(parse_bytewise(half, sizeof half - 1, &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "z");
    rec_free(&r);

    /* a BOM byte then a line end at the start: a one-line unknown field */
    CU_ASSERT_EQUAL(parse_str("\xEF\ndata: w\n\n", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "w");
    rec_free(&r);
}

static void test_oversized_line(void)
{
    recorder r = {0};
    sse_parser *p;
    bench_err e;
    char line[64];
    CU_ASSERT_EQUAL_FATAL(sse_create(16, 1024, rec_cb, &r, &p), BENCH_OK);

    /* exactly at the cap is fine, whole or split */
    snprintf(line, sizeof line, "data: 0123456789\n\n"); /* 16-byte line */
    CU_ASSERT_EQUAL(sse_feed(p, line, strlen(line), &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, line, 7, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, line + 7, strlen(line) - 7, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 2);

    /* one byte more in a single feed */
    snprintf(line, sizeof line, "data: 0123456789A\n\n");
    e.msg[0] = '\0';
    CU_ASSERT_EQUAL(sse_feed(p, line, strlen(line), &e), BENCH_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "16"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "max_line"));
    /* sticky until reset */
    CU_ASSERT_NOT_EQUAL(sse_feed(p, "data: ok\n\n", 10, &e), BENCH_OK);
    sse_reset(p);
    CU_ASSERT_EQUAL(sse_feed(p, "data: ok\n\n", 10, &e), BENCH_OK);

    /* split across feeds, and without any terminator yet */
    sse_reset(p);
    CU_ASSERT_EQUAL(sse_feed(p, line, 10, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, line + 10, strlen(line) - 10, &e), BENCH_ETOOBIG);
    sse_reset(p);
    CU_ASSERT_EQUAL(sse_feed(p, line, 10, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, line + 10, 7, &e), BENCH_ETOOBIG);
    /* a huge comment is a line too */
    sse_reset(p);
    CU_ASSERT_EQUAL(sse_feed(p, ": a very long comment line\n", 27, &e), BENCH_ETOOBIG);
    sse_destroy(p);
    rec_free(&r);
}

static void test_oversized_event(void)
{
    recorder r = {0};
    sse_parser *p;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(sse_create(64, 10, rec_cb, &r, &p), BENCH_OK);
    /* joined "123456\n789" is exactly 10 bytes */
    const char *ok = "data: 123456\ndata: 789\n\n";
    CU_ASSERT_EQUAL(sse_feed(p, ok, strlen(ok), &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "123456\n789");
    /* "123456\n7890" is 11 */
    const char *big = "data: 123456\ndata: 7890\n\n";
    e.msg[0] = '\0';
    CU_ASSERT_EQUAL(sse_feed(p, big, strlen(big), &e), BENCH_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "10"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "max_event"));
    CU_ASSERT_EQUAL(r.n, 1);
    sse_reset(p);
    /* the event buffer is per event: many small events never trip it */
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(sse_feed(p, ok, strlen(ok), &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_event_count(p), 100);
    sse_destroy(p);
    rec_free(&r);
}

static void test_pending_at_eof(void)
{
    recorder r = {0};
    int pending = -1;
    /* event missing its blank line */
    CU_ASSERT_EQUAL(parse_str("data: a\n\ndata: b\n", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(pending, 1);
    rec_free(&r);
    /* partial line */
    CU_ASSERT_EQUAL(parse_str("data: a\n\ndata: b", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(pending, 1);
    rec_free(&r);
    /* complete stream, and one ending with a trailing comment line */
    CU_ASSERT_EQUAL(parse_str("data: a\n\n: bye\n", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(pending, 0);
    rec_free(&r);
    /* CR-terminated blank line at the end: complete */
    CU_ASSERT_EQUAL(parse_str("data: a\r\r", &r, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(pending, 0);
    rec_free(&r);

    /* finish discards the partial event: the parser continues cleanly */
    sse_parser *p;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(sse_create(64, 64, rec_cb, &r, &p), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, "data: lost\ndata: x", 18, &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_finish(p, NULL), BENCH_OK);
    CU_ASSERT_EQUAL(sse_finish(p, &pending), BENCH_OK);
    CU_ASSERT_EQUAL(pending, 0);
    CU_ASSERT_EQUAL(sse_feed(p, "data: kept\n\n", 12, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_STRING_EQUAL(r.ev[0].data, "kept");
    sse_destroy(p);
    rec_free(&r);
}

static void test_callback_stop(void)
{
    recorder r = {0};
    sse_parser *p;
    bench_err e;
    r.stop_at = 2;
    CU_ASSERT_EQUAL_FATAL(sse_create(64, 64, rec_cb, &r, &p), BENCH_OK);
    const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    CU_ASSERT_EQUAL(sse_feed(p, s, strlen(s), &e), BENCH_EINTR);
    CU_ASSERT_EQUAL(r.n, 2);
    CU_ASSERT_EQUAL(sse_event_count(p), 2);
    sse_destroy(p);
    rec_free(&r);

    /* a NULL callback only counts */
    CU_ASSERT_EQUAL_FATAL(sse_create(64, 64, NULL, NULL, &p), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, s, strlen(s), &e), BENCH_OK);
    CU_ASSERT_EQUAL(sse_event_count(p), 3);
    sse_destroy(p);
    sse_destroy(NULL);
}

static CU_TestInfo tests[] = {
    {"transcripts LF: every split equals whole parse", test_transcripts_lf},
    {"transcripts CRLF: every split equals whole parse", test_transcripts_crlf},
    {"transcripts CR: every split equals whole parse", test_transcripts_cr},
    {"transcripts: fixed event counts and last payloads", test_transcript_known_counts},
    {"comments ignored", test_comments},
    {"multi-line data and space rules", test_multiline_and_space_rules},
    {"no dispatch without data", test_no_dispatch_without_data},
    {"event, id, retry fields", test_event_id_retry},
    {"CR / LF / CRLF, CRLF split across feeds", test_line_endings},
    {"BOM at stream start", test_bom},
    {"oversized line -> ETOOBIG", test_oversized_line},
    {"oversized event -> ETOOBIG", test_oversized_event},
    {"partial event at EOF is pending", test_pending_at_eof},
    {"callback stop -> EINTR", test_callback_stop},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("sse", tests);
}
