/* Integration test: bench against transcripts of servers this project did not
 * write (../shared/samples, $BENCH_SAMPLES_DIR), replayed by
 * tests/replay_server.c byte for byte at a stated pace: the first write
 * TTFT_MS after the request, the next ones GAP_MS apart.
 *
 * For each transcript, bench runs at concurrency 1 and 3; the results file
 * must hold, for every request: the class (ok; server_error_event for the
 * stream that fails mid-way), one chunk per content-carrying event of the
 * transcript (not the role-only first event, the empty finish event, nor the
 * usage-only "choices": [] event), usage.completion_tokens as the output
 * token count (-1 where the transcript has no usage), and timestamps that
 * agree with the server's send log:
 *   - every chunk arrives after the write that carried it and within
 *     LAG_MAX_MS of it, the median lag under LAG_MEDIAN_MS;
 *   - TTFT is at least the stated one (TTFT_MS, plus GAP_MS per write before
 *     the first content) and at least the server's own (the request's
 *     arrival, the kernel's stamp, to first content write), and beyond the
 *     server's by under LAG_MEDIAN_MS in the median (the excess is the
 *     request's way to the server);
 *   - each gap between chunks of different writes is within LAG_MAX_MS of
 *     the gap between those writes;
 *   - events of one HTTP chunk share one arrival time exactly, and events of
 *     several HTTP chunks in one write are under SAME_READ_MS apart in the
 *     median (each HTTP chunk is a write callback of its own: the gap is the
 *     parsing of the ones before it, but a thread preempted in between
 *     stretches it, hence the median).
 * Also: no /tokenize here, so bench says once that prompt sizes are
 * approximate and records so (prompt_sizing). The margins are wide because
 * the test machine has two cores shared with compilers; the lags measured
 * are typically a tenth of a millisecond. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "results_read.h"

#define TTFT_MS 20
#define GAP_MS 5
#define LAG_MAX_MS 100
#define LAG_MEDIAN_MS 10
#define SAME_READ_MS 2
#define MAX_EVENTS 1024
#define MAX_WRITES 1024
#define MAX_REQS 64
#define MS 1000000LL

/* ---- The transcript as the test reads it, independently of bench. */

typedef struct {
    char *data;
    size_t len;
    int raw;
    size_t n_units;               /* HTTP chunks (raw) or SSE events, as the server splits */
    int content_unit[MAX_EVENTS]; /* unit carrying each content event */
    int n_content;
    int n_events;
    int completion_tokens; /* last usage.completion_tokens, -1 none */
    int has_error, has_done;
    char finish_reason[16];
} transcript;

static void classify_event(transcript *t, const char *ev, size_t n, int unit)
{
    /* Join the data: lines. */
    char *payload = malloc(n + 1);
    size_t pl = 0;
    const char *p = ev, *e = ev + n;
    while (p < e) {
        const char *eol = memchr(p, '\n', (size_t)(e - p));
        if (!eol)
            eol = e;
        size_t ll = (size_t)(eol - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll >= 5 && memcmp(p, "data:", 5) == 0) {
            const char *v = p + 5;
            if (*v == ' ')
                v++;
            if (pl)
                payload[pl++] = '\n';
            memcpy(payload + pl, v, (size_t)(p + ll - v));
            pl += (size_t)(p + ll - v);
        }
        p = eol + 1;
    }
    payload[pl] = '\0';
    if (pl == 0) {
        free(payload);
        return;
    }
    t->n_events++;
    if (strcmp(payload, "[DONE]") == 0) {
        t->has_done = 1;
        free(payload);
        return;
    }
    cJSON *j = cJSON_Parse(payload);
    free(payload);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    if (cJSON_GetObjectItem(j, "error"))
        t->has_error = 1;
    cJSON *u = cJSON_GetObjectItem(j, "usage");
    cJSON *ct = u ? cJSON_GetObjectItem(u, "completion_tokens") : NULL;
    if (cJSON_IsNumber(ct))
        t->completion_tokens = ct->valueint;
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    if (c0) {
        cJSON *d = cJSON_GetObjectItem(c0, "delta");
        cJSON *txt = d ? cJSON_GetObjectItem(d, "content") : cJSON_GetObjectItem(c0, "text");
        if (cJSON_IsString(txt) && txt->valuestring[0]) {
            CU_ASSERT_FATAL(t->n_content < MAX_EVENTS);
            t->content_unit[t->n_content++] = unit;
        }
        cJSON *fr = cJSON_GetObjectItem(c0, "finish_reason");
        if (cJSON_IsString(fr))
            snprintf(t->finish_reason, sizeof t->finish_reason, "%s", fr->valuestring);
    }
    cJSON_Delete(j);
}

/* Feed one unit's SSE bytes; complete events are attributed to this unit. */
static void feed(transcript *t, char **pend, size_t *pn, const char *b, size_t n, int unit)
{
    *pend = realloc(*pend, *pn + n + 1);
    memcpy(*pend + *pn, b, n);
    *pn += n;
    for (;;) {
        char *end = NULL;
        for (size_t i = 0; i + 1 < *pn; i++)
            if ((*pend)[i] == '\n' &&
                ((*pend)[i + 1] == '\n' ||
                 (i + 2 < *pn && (*pend)[i + 1] == '\r' && (*pend)[i + 2] == '\n'))) {
                end = *pend + i + 1;
                break;
            }
        if (!end)
            break;
        size_t evlen = (size_t)(end - *pend);
        classify_event(t, *pend, evlen, unit);
        size_t skip = evlen + ((*pend)[evlen] == '\r' ? 2 : 1);
        memmove(*pend, *pend + skip, *pn - skip);
        *pn -= skip;
    }
}

static int transcript_load(const char *name, transcript *t)
{
    memset(t, 0, sizeof *t);
    t->completion_tokens = -1;
    t->data = cutest_load_sample(name, &t->len);
    if (!t->data)
        return -1;
    char *pend = NULL;
    size_t pn = 0;
    t->raw = t->len > 5 && memcmp(t->data, "HTTP/", 5) == 0;
    if (t->raw) {
        const char *h = strstr(t->data, "\r\n\r\n");
        size_t pos = (size_t)(h - t->data) + 4;
        while (pos < t->len) {
            char *end;
            unsigned long sz = strtoul(t->data + pos, &end, 16);
            const char *crlf = strstr(t->data + pos, "\r\n");
            if (sz == 0) {
                t->n_units++;
                break;
            }
            feed(t, &pend, &pn, crlf + 2, sz, (int)t->n_units);
            t->n_units++;
            pos = (size_t)(crlf - t->data) + 2 + sz + 2;
        }
    } else {
        /* The server sends one event (up to its blank line) per unit. */
        size_t pos = 0;
        while (pos < t->len) {
            const char *bl = strstr(t->data + pos, "\n\n");
            size_t end = bl ? (size_t)(bl - t->data) + 2 : t->len;
            feed(t, &pend, &pn, t->data + pos, end - pos, (int)t->n_units);
            t->n_units++;
            pos = end;
        }
    }
    free(pend);
    return 0;
}

/* ---- The replay server and its send log. */

typedef struct {
    char id[64];
    long long t_req;
    long long t_write[MAX_WRITES]; /* by write index; 0 = never */
    int n_writes;
} server_req;

static int read_log(const char *path, server_req *reqs, int max)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int n = 0;
    char kind[16], id[64];
    long long t;
    while (fscanf(f, "%15s %63s", kind, id) == 2) {
        server_req *r = NULL;
        for (int i = 0; i < n; i++)
            if (strcmp(reqs[i].id, id) == 0)
                r = &reqs[i];
        if (!r && n < max) {
            r = &reqs[n++];
            memset(r, 0, sizeof *r);
            snprintf(r->id, sizeof r->id, "%s", id);
        }
        if (strcmp(kind, "req") == 0) {
            if (fscanf(f, "%lld", &t) == 1 && r)
                r->t_req = t;
        } else {
            int idx;
            size_t off, len;
            if (fscanf(f, "%d %lld %zu %zu", &idx, &t, &off, &len) == 4 && r && idx >= 0 &&
                idx < MAX_WRITES) {
                r->t_write[idx] = t;
                if (idx + 1 > r->n_writes)
                    r->n_writes = idx + 1;
            }
        }
    }
    fclose(f);
    return n;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* ---- One case. */

typedef struct {
    const char *name;       /* transcript file */
    const char *api;        /* chat | completions */
    int per_write;          /* units per server write */
    const char *ending;     /* NULL, "--close" or "--drop" (replay_server.c) */
    const char *out_tokens; /* --output-tokens: what the transcript delivers */
    int want_class;
    int want_chunks; /* content events, counted by hand from the file */
    int want_out;    /* usage.completion_tokens, -1 none */
    const char *want_finish;
} replay_case;

static void run_case(const replay_case *c)
{
    transcript t;
    CU_ASSERT_EQUAL_FATAL(transcript_load(c->name, &t), 0);
    /* The table's numbers, read off the file by hand, agree with the parse. */
    CU_ASSERT_EQUAL(t.n_content, c->want_chunks);
    CU_ASSERT_EQUAL(t.completion_tokens, c->want_out);

    char *dir = cutest_tmpdir("replay");
    char *log = cutest_path(dir, "sends.log");
    char *h5 = cutest_path(dir, "replay.h5");
    char *tpath = cutest_path(cutest_samples_dir(), c->name);
    char pw[16], ttft[16], gap[16], url[64];
    snprintf(pw, sizeof pw, "%d", c->per_write);
    snprintf(ttft, sizeof ttft, "%d", TTFT_MS);
    snprintf(gap, sizeof gap, "%d", GAP_MS);
    const char *extra[] = {"--per-write", pw, "--ttft-ms", ttft, "--gap-ms", gap, c->ending, NULL};
    int port = 0;
    pid_t pid = cutest_replay_start(tpath, extra, log, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    const char *argv[] = {cutest_bench_exe(),
                          "--model",
                          "replayed",
                          "--endpoint",
                          url,
                          "--api",
                          c->api,
                          "--concurrency",
                          "1,3",
                          "--requests",
                          "4",
                          "--warmup",
                          "1",
                          "--output-tokens",
                          c->out_tokens,
                          "--output",
                          h5,
                          "--no-report",
                          "--no-progress",
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = port > 0 ? cutest_spawn(argv, &out, &err, 120) : -1;
    cutest_replay_stop(pid);
    int want_rc = req_class_is_success(c->want_class) ? 0 : 1;
    if (rc != want_rc)
        fprintf(stderr, "%s: bench exited %d: %s\n", c->name, rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, want_rc);
    /* No /tokenize here: said once, and recorded in the file. */
    const char *msg = err ? strstr(err, "prompt sizes are approximate") : NULL;
    CU_ASSERT_PTR_NOT_NULL(msg);
    if (msg)
        CU_ASSERT_PTR_NULL(strstr(msg + 1, "prompt sizes are approximate"));

    static server_req sreqs[MAX_REQS];
    int nsreq = read_log(log, sreqs, MAX_REQS);
    results_file *f;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    const char *sizing = results_file_attr(f, "prompt_sizing");
    CU_ASSERT(sizing && strncmp(sizing, "approximate: ", 13) == 0);
    long long t0 = results_file_t0_monotonic(f);
    static long long lags[MAX_REQS * MAX_EVENTS], ttft_excess[MAX_REQS], same_write[MAX_REQS * 16];
    size_t nlags = 0, nttft = 0, nsame = 0;
    int levels[] = {1, 3};
    for (int li = 0; li < 2; li++) {
        req_record *rows;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(results_read_requests(f, levels[li], &rows, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, 5);
        uint64_t total_chunks = 0;
        CU_ASSERT_EQUAL(results_chunk_count(f, levels[li], &total_chunks, &e), BENCH_OK);
        chunk_record *ch = calloc(total_chunks + 1, sizeof *ch);
        CU_ASSERT_EQUAL(results_read_chunks(f, levels[li], 0, total_chunks, ch, &e), BENCH_OK);
        for (size_t i = 0; i < n; i++) {
            const req_record *r = &rows[i];
            CU_ASSERT_EQUAL(r->status, c->want_class);
            CU_ASSERT_EQUAL(r->http_status, 200);
            CU_ASSERT_EQUAL(r->chunk_count, (uint32_t)c->want_chunks);
            CU_ASSERT_EQUAL(r->output_tokens, c->want_out);
            CU_ASSERT_STRING_EQUAL(r->finish_reason, c->want_finish);
            if (r->chunk_count != (uint32_t)t.n_content ||
                r->chunk_offset + r->chunk_count > total_chunks)
                continue;
            /* The server's record of this request. */
            char id[32];
            snprintf(id, sizeof id, "c%d-%llu", levels[li], (unsigned long long)r->id);
            const server_req *s = NULL;
            for (int k = 0; k < nsreq; k++)
                if (strcmp(sreqs[k].id, id) == 0)
                    s = &sreqs[k];
            CU_ASSERT_PTR_NOT_NULL(s);
            if (!s)
                continue;
            const chunk_record *rc0 = ch + r->chunk_offset;
            for (int j = 0; j < t.n_content; j++) {
                int w = t.content_unit[j] / c->per_write + 1;
                CU_ASSERT_FATAL(w < s->n_writes);
                long long arrival = t0 + rc0[j].t_ns, sent = s->t_write[w];
                long long lag = arrival - sent;
                CU_ASSERT(lag >= 0);
                CU_ASSERT(lag < LAG_MAX_MS * MS);
                if (nlags < sizeof lags / sizeof lags[0])
                    lags[nlags++] = lag;
                if (j == 0) {
                    /* TTFT: never less than stated nor than the server's own
                     * (request arrival, the kernel's stamp, to first content
                     * write); beyond that by the request's way to the server
                     * plus the first chunk's arrival lag, checked in the
                     * median. (The server's arrival was once the time its
                     * thread read the request: on a new connection, a
                     * thread waking up to tens of ms late on a loaded
                     * two-core machine, which made the median fail.) */
                    long long ttft_c = r->t_first_token_ns - r->t_send_ns;
                    long long ttft_s = sent - s->t_req;
                    long long stated = (TTFT_MS + (long long)(w - 1) * GAP_MS) * MS;
                    CU_ASSERT_EQUAL(r->t_first_token_ns, rc0[0].t_ns);
                    CU_ASSERT(t0 + r->t_send_ns <= s->t_req);
                    CU_ASSERT(ttft_s >= stated);
                    CU_ASSERT(ttft_c >= ttft_s);
                    if (nttft < MAX_REQS)
                        ttft_excess[nttft++] = ttft_c - ttft_s;
                    continue;
                }
                int wp = t.content_unit[j - 1] / c->per_write + 1;
                long long itl_c = rc0[j].t_ns - rc0[j - 1].t_ns;
                long long itl_s = s->t_write[w] - s->t_write[wp];
                /* An SSE transcript's write is one HTTP chunk; a raw one's
                 * HTTP chunks are its units. */
                int same_chunk = t.raw ? t.content_unit[j] == t.content_unit[j - 1] : w == wp;
                if (same_chunk) {
                    CU_ASSERT_EQUAL(itl_c, 0); /* one HTTP chunk: one arrival time */
                } else if (w == wp) {
                    /* one write, several HTTP chunks: one read, but a write
                     * callback each (see the median below) */
                    CU_ASSERT(itl_c >= 0 && itl_c < LAG_MAX_MS * MS);
                    if (nsame < sizeof same_write / sizeof same_write[0])
                        same_write[nsame++] = itl_c;
                } else {
                    CU_ASSERT(llabs(itl_c - itl_s) < LAG_MAX_MS * MS);
                }
            }
            CU_ASSERT_EQUAL(r->t_last_token_ns, rc0[t.n_content - 1].t_ns);
        }
        if (c->want_class == REQ_SERVER_ERROR_EVENT) {
            results_error_row *er;
            size_t ne;
            CU_ASSERT_EQUAL(results_read_errors(f, levels[li], &er, &ne, &e), BENCH_OK);
            CU_ASSERT_EQUAL(ne, 5);
            for (size_t k = 0; k < ne; k++)
                CU_ASSERT_PTR_NOT_NULL(strstr(er[k].message, "does not match the expected"));
            free(er);
        }
        free(ch);
        free(rows);
    }
    results_file_close(f);
    CU_ASSERT(nlags > 0);
    if (nlags) {
        qsort(lags, nlags, sizeof lags[0], cmp_ll);
        long long med = lags[nlags / 2];
        printf("  %s per-write %d: %zu chunks, arrival lag median %.3f ms, max %.3f ms\n", c->name,
               c->per_write, nlags, (double)med / 1e6, (double)lags[nlags - 1] / 1e6);
        CU_ASSERT(med < LAG_MEDIAN_MS * MS);
    }
    CU_ASSERT(nttft == 10);
    if (nttft) {
        qsort(ttft_excess, nttft, sizeof ttft_excess[0], cmp_ll);
        long long med = ttft_excess[nttft / 2];
        printf("  TTFT beyond the server's: median %.3f ms, max %.3f ms\n", (double)med / 1e6,
               (double)ttft_excess[nttft - 1] / 1e6);
        CU_ASSERT(med < LAG_MEDIAN_MS * MS);
    }
    if (nsame) {
        qsort(same_write, nsame, sizeof same_write[0], cmp_ll);
        long long med = same_write[nsame / 2];
        printf("  chunks of one write, HTTP chunks apart: median gap %.3f ms, max %.3f ms\n",
               (double)med / 1e6, (double)same_write[nsame - 1] / 1e6);
        CU_ASSERT(med < SAME_READ_MS * MS);
    }
    free(out);
    free(err);
    free(t.data);
    free(tpath);
    free(h5);
    free(log);
    free(dir);
}

/* llama-server chat: role-only first event, 12 one-character content
 * events, an empty-delta finish event, a usage-only "choices": [] event with
 * "timings", [DONE]. */
static const replay_case llamacpp_chat = {.name = "sse_llamacpp_sample.txt",
                                          .api = "chat",
                                          .per_write = 1,
                                          .out_tokens = "12",
                                          .want_class = REQ_OK,
                                          .want_chunks = 12,
                                          .want_out = 12,
                                          .want_finish = "length"};

static void test_llamacpp_chat(void)
{
    run_case(&llamacpp_chat);
}

/* The same with four events per write (one HTTP chunk): the events of one
 * write share one arrival time. */
static void test_llamacpp_chat_grouped(void)
{
    replay_case c = llamacpp_chat;
    c.per_write = 4;
    run_case(&c);
}

/* The raw capture: status line, headers and chunked framing exactly as
 * llama-server sent them; its first HTTP chunk holds the role event and the
 * first content event, its last data chunk the finish and usage events. */
static const replay_case llamacpp_raw = {.name = "sse_llamacpp_sample_http_raw.txt",
                                         .api = "chat",
                                         .per_write = 1,
                                         .out_tokens = "4",
                                         .want_class = REQ_OK,
                                         .want_chunks = 4,
                                         .want_out = 4,
                                         .want_finish = "length"};

static void test_llamacpp_raw(void)
{
    run_case(&llamacpp_raw);
}

/* The raw capture, three HTTP chunks per write: several chunks in one read. */
static void test_llamacpp_raw_coalesced(void)
{
    replay_case c = llamacpp_raw;
    c.per_write = 3;
    run_case(&c);
}

/* @dwmkerr/mock-llm: role and content in the first event, no usage. */
static void test_mockllm(void)
{
    replay_case c = {.name = "sse_mockllm_sample.txt",
                     .api = "chat",
                     .per_write = 1,
                     .out_tokens = "2",
                     .want_class = REQ_OK,
                     .want_chunks = 2,
                     .want_out = -1,
                     .want_finish = "stop"};
    run_case(&c);
}

/* llama-server completions failing mid-stream: 89 text events, then
 * data: {"error": ...} and the connection closes without [DONE]. */
static const replay_case llamacpp_error = {.name = "sse_llamacpp_midstream_error_sample.txt",
                                           .api = "completions",
                                           .per_write = 1,
                                           .ending = "--close",
                                           .out_tokens = "128",
                                           .want_class = REQ_SERVER_ERROR_EVENT,
                                           .want_chunks = 89,
                                           .want_out = -1,
                                           .want_finish = ""};

static void test_llamacpp_midstream_error(void)
{
    run_case(&llamacpp_error);
}

/* The same error, the chunked stream cut off where its terminating chunk
 * should be (for curl a partial transfer): still the error event's class and
 * message, the first cause. */
static void test_llamacpp_midstream_error_dropped(void)
{
    replay_case c = llamacpp_error;
    c.ending = "--drop";
    run_case(&c);
}

static CU_TestInfo tests[] = {
    {"llama.cpp chat transcript, one event per write", test_llamacpp_chat},
    {"llama.cpp chat transcript, four events per write", test_llamacpp_chat_grouped},
    {"llama.cpp raw HTTP capture, byte for byte", test_llamacpp_raw},
    {"llama.cpp raw HTTP capture, three HTTP chunks per write", test_llamacpp_raw_coalesced},
    {"mock-llm transcript: no usage", test_mockllm},
    {"llama.cpp mid-stream error (connection closed): server_error_event",
     test_llamacpp_midstream_error},
    {"llama.cpp mid-stream error (chunked stream cut off)", test_llamacpp_midstream_error_dropped},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("replay", tests);
}
