/* test_faults.c - every fault the simulator can inject (docs/SIMULATOR.md,
 * "Faults"), alone and all mixed, at concurrency 64: each request's outcome
 * class in the results file must be exactly the one its fault maps to (the
 * simulator's send log says which request got which fault), every other
 * request must be ok, nothing may run past its timeouts, and measurement
 * runs must not retry. Also: an evaluation retries a 429 after the server's
 * Retry-After rather than its own shorter backoff. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cutest.h"
#include "evalres.h"
#include "record.h"
#include "results_read.h"

static char *g_dir;

#define LEVEL 64
#define MAX_REQ 512
/* Stalls and slow first bytes last this long; the client's limits (2 s)
 * must cut them long before. */
#define LONG_FAULT ":30"
#define LIMITS "first-token=2s,idle=2s"

typedef struct {
    const char *name;
    const char *suffix; /* appended to each item of the spec */
    int cls;            /* the class the client must record */
} fault_kind;

/* The table of docs/SIMULATOR.md: fault -> class in the results file. */
static const fault_kind kinds[] = {
    {"http500", "", REQ_HTTP_ERROR},
    {"http503", "", REQ_HTTP_ERROR},
    {"http429", "", REQ_HTTP_ERROR},
    {"midstream_error", "", REQ_SERVER_ERROR_EVENT},
    {"no_done", "", REQ_NO_DONE},
    {"reset", "", REQ_RESET},
    {"stall", LONG_FAULT, REQ_TIMEOUT_IDLE},
    {"malformed_json", "", REQ_PROTOCOL_ERROR},
    {"non_json", "", REQ_PROTOCOL_ERROR},
    {"oversized_line", "", REQ_PROTOCOL_ERROR},
    {"slow_first_byte", LONG_FAULT, REQ_TIMEOUT_FIRST_TOKEN},
    {"invalid_utf8", "", REQ_OK}, /* plus a warning row in errors */
    {"dup_usage", "", REQ_OK},
    {"no_usage", "", REQ_OK},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static int kind_index(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* What the send log says about each request of the level. */
typedef struct {
    int fault[MAX_REQ];    /* kinds index, -1 none */
    int nfaults[MAX_REQ];  /* fault lines (must be 0 or 1) */
    int arrivals[MAX_REQ]; /* times the simulator received it */
    int held[MAX_REQ];     /* slow_first_byte lines (logged on arrival) */
    int unknown_keys;      /* lines whose key is not c<LEVEL>-<id < n> */
    int unknown_faults;
} sim_log;

static void log_read(const char *path, size_t n, sim_log *l)
{
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < MAX_REQ; i++)
        l->fault[i] = -1;
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512], key[128], kind[128];
    long long seq, t;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%127s\t%lld\t%lld\t%127s", key, &seq, &t, kind) != 4)
            continue;
        unsigned long id;
        int lv;
        if (sscanf(key, "c%d-%lu", &lv, &id) != 2 || lv != LEVEL || id >= n) {
            l->unknown_keys++;
            continue;
        }
        if (strncmp(kind, "fault:", 6) == 0) {
            int k = kind_index(kind + 6);
            if (k < 0)
                l->unknown_faults++;
            l->fault[id] = k;
            l->nfaults[id]++;
            l->held[id] += strcmp(kind, "fault:slow_first_byte") == 0;
        } else if (seq == 0 && (strcmp(kind, "role") == 0 || strcmp(kind, "error") == 0)) {
            l->arrivals[id]++; /* every chat response starts with one of these */
        }
    }
    fclose(f);
    /* ... unless its headers were held back until after the client left */
    for (size_t i = 0; i < MAX_REQ; i++)
        if (l->held[i] > l->arrivals[i])
            l->arrivals[i] = l->held[i];
}

/* Run bench; returns its --json summary (caller deletes) or NULL. *wall_s
 * gets the wall-clock time the process took. */
static cJSON *run_bench(const char *const *args, int want, int timeout_s, double *wall_s)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int64_t t0 = clock_now_ns();
    int rc = cutest_spawn(argv, &out, &err, timeout_s);
    *wall_s = (double)(clock_now_ns() - t0) / 1e9;
    if (rc != want)
        fprintf(stderr, "bench exited %d (wanted %d): %.3000s\n", rc, want, err ? err : "");
    CU_ASSERT_EQUAL(rc, want);
    cJSON *j = rc == want && out ? cJSON_Parse(out) : NULL;
    free(out);
    free(err);
    return j;
}

static double level_num(const cJSON *j, const char *key)
{
    const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "levels"), 0);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Check a finished run: each request's class against its fault, counts per
 * class, the warning rows, token counts, no retries. Returns the number of
 * faults the log shows per kind in injected[]. */
static void check_run(const char *h5, const char *logpath, size_t n, size_t injected[NKINDS])
{
    sim_log *l = calloc(1, sizeof *l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    log_read(logpath, n, l);
    CU_ASSERT_EQUAL(l->unknown_keys, 0);
    CU_ASSERT_EQUAL(l->unknown_faults, 0);

    results_file *f;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    req_record *rows = NULL;
    size_t nr = 0;
    CU_ASSERT_EQUAL_FATAL(results_read_requests(f, LEVEL, &rows, &nr, &e), BENCH_OK);
    results_error_row *er = NULL;
    size_t ne = 0;
    CU_ASSERT_EQUAL_FATAL(results_read_errors(f, LEVEL, &er, &ne, &e), BENCH_OK);
    CU_ASSERT_EQUAL(nr, n);

    size_t want_class[REQ_CLASS_COUNT] = {0}, got_class[REQ_CLASS_COUNT] = {0};
    size_t want_warn = 0, wrong = 0;
    memset(injected, 0, NKINDS * sizeof *injected);
    for (size_t i = 0; i < nr; i++) {
        req_record *r = &rows[i];
        CU_ASSERT_FATAL(r->id < n);
        /* a measurement run never retries: one arrival per request */
        if (l->arrivals[r->id] != 1 || l->nfaults[r->id] > 1) {
            fprintf(stderr, "request %llu: %d arrivals, %d fault lines\n",
                    (unsigned long long)r->id, l->arrivals[r->id], l->nfaults[r->id]);
            wrong++;
        }
        int k = l->fault[r->id];
        int want = k >= 0 ? kinds[k].cls : REQ_OK;
        if (k >= 0)
            injected[k]++;
        want_class[want]++;
        if (r->status >= 0 && r->status < REQ_CLASS_COUNT)
            got_class[r->status]++;
        if (r->status != want) {
            const char *msg = "";
            for (size_t j = 0; j < ne; j++)
                if (er[j].request_id == r->id)
                    msg = er[j].message;
            fprintf(stderr, "request %llu (fault %s): class %s, want %s: %s\n",
                    (unsigned long long)r->id, k >= 0 ? kinds[k].name : "none",
                    req_class_name(r->status), req_class_name(want), msg);
            wrong++;
        }
        const char *kn = k >= 0 ? kinds[k].name : "";
        /* HTTP faults carry their status; dup_usage is not counted twice;
         * no_usage leaves the count unknown but every chunk recorded. */
        if (strncmp(kn, "http", 4) == 0)
            CU_ASSERT_EQUAL(r->http_status, atoi(kn + 4));
        if (want == REQ_OK) {
            CU_ASSERT_EQUAL(r->chunk_count, 16);
            CU_ASSERT_EQUAL(r->output_tokens, strcmp(kn, "no_usage") == 0 ? -1 : 16);
        }
        /* protocol errors for the right reason */
        const char *why = strcmp(kn, "oversized_line") == 0 ? "SSE line longer than"
                          : strcmp(kn, "malformed_json") == 0 || strcmp(kn, "non_json") == 0
                              ? "not a JSON object"
                              : NULL;
        if (why) {
            int found = 0;
            for (size_t j = 0; j < ne; j++)
                found += er[j].request_id == r->id && strstr(er[j].message, why) != NULL;
            CU_ASSERT_EQUAL(found, 1);
        }
        if (strcmp(kn, "invalid_utf8") == 0) {
            want_warn++;
            int found = 0;
            for (size_t j = 0; j < ne; j++)
                found += er[j].request_id == r->id &&
                         strncmp(er[j].message, "warning: invalid UTF-8", 22) == 0;
            CU_ASSERT_EQUAL(found, 1);
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int c = 0; c < REQ_CLASS_COUNT; c++) {
        if (want_class[c] != got_class[c])
            fprintf(stderr, "class %s: %zu recorded, %zu injected\n", req_class_name(c),
                    got_class[c], want_class[c]);
        CU_ASSERT_EQUAL(got_class[c], want_class[c]);
    }
    /* errors: one row per failed request plus one per warning, no more */
    size_t failed = nr - got_class[REQ_OK] - got_class[REQ_EARLY_STOP];
    CU_ASSERT_EQUAL(ne, failed + want_warn);
    free(er);
    free(rows);
    results_file_close(f);
    free(l);
}

/* Each fault alone: 7 pinned arrivals among 96 requests at concurrency 64. */
static void test_each_fault_alone(void)
{
    static const int at[] = {0, 5, 17, 40, 63, 64, 95};
    const size_t n = 96;
    for (size_t k = 0; k < NKINDS; k++) {
        char spec[512] = "", tag[64];
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
            snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%s@%d%s", i ? "," : "",
                     kinds[k].name, at[i], kinds[k].suffix);
        snprintf(tag, sizeof tag, "alone-%s.h5", kinds[k].name);
        char *h5 = cutest_path(g_dir, tag);
        snprintf(tag, sizeof tag, "alone-%s.sends", kinds[k].name);
        char *logp = cutest_path(g_dir, tag);
        const char *args[] = {"--model",         "mistral-7b", "--concurrency",   "64",
                              "--requests",      "96",         "--warmup",        "0",
                              "--output-tokens", "16",         "--timeout",       LIMITS,
                              "--sim-faults",    spec,         "--sim-log-sends", logp,
                              "--output",        h5,           "--json",          "--no-progress",
                              "--no-report",     NULL};
        double wall;
        cJSON *j = run_bench(args, 0, 120, &wall);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        double dur = level_num(j, "duration_s");
        fprintf(stderr, "%-16s level %.2f s, process %.2f s\n", kinds[k].name, dur, wall);
        /* 96 short requests take well under a second; a fault held for 30 s
         * must be cut at its 2 s limit: nothing waits for the server. */
        CU_ASSERT(dur < 8.0);
        CU_ASSERT(wall < 15.0);
        if (kinds[k].cls == REQ_OK) /* tokens counted once, from usage or chunks */
            CU_ASSERT_EQUAL(level_num(j, "output_tokens"), 96 * 16);
        cJSON_Delete(j);
        size_t injected[NKINDS];
        check_run(h5, logp, n, injected);
        CU_ASSERT_EQUAL(injected[k], sizeof at / sizeof at[0]);
        free(h5);
        free(logp);
    }
}

/* All faults mixed by rate (seeded), concurrency 64. */
static void test_all_mixed(void)
{
    const size_t n = 448;
    char spec[1024] = "";
    for (size_t k = 0; k < NKINDS; k++)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%s=0.03%s", k ? "," : "",
                 kinds[k].name, kinds[k].suffix);
    char *h5 = cutest_path(g_dir, "mixed.h5"), *logp = cutest_path(g_dir, "mixed.sends");
    const char *args[] = {"--model",         "mistral-7b",
                          "--concurrency",   "64",
                          "--requests",      "448",
                          "--warmup",        "0",
                          "--output-tokens", "16",
                          "--timeout",       LIMITS,
                          "--seed",          "7",
                          "--sim-faults",    spec,
                          "--sim-log-sends", logp,
                          "--output",        h5,
                          "--json",          "--no-progress",
                          "--no-report",     NULL};
    double wall;
    cJSON *j = run_bench(args, 0, 180, &wall);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double dur = level_num(j, "duration_s");
    fprintf(stderr, "mixed: level %.2f s, process %.2f s\n", dur, wall);
    /* a few rounds of 64 plus 2 s per round of long faults at most */
    CU_ASSERT(dur < 20.0);
    CU_ASSERT(wall < 30.0);
    cJSON_Delete(j);
    size_t injected[NKINDS], total = 0;
    check_run(h5, logp, n, injected);
    for (size_t k = 0; k < NKINDS; k++) {
        fprintf(stderr, "  %-16s %zu\n", kinds[k].name, injected[k]);
        CU_ASSERT(injected[k] > 0); /* every kind took part */
        total += injected[k];
    }
    CU_ASSERT(total > n / 4 && total < n / 2); /* 14 x 3 % = 42 % of the requests */
    free(h5);
    free(logp);
}

/* slow_first_byte against the first-token limit: 2 s late with a 1 s limit
 * is timeout_first_token, 0.3 s late is ok (and its TTFT shows it). */
static void test_slow_first_byte_limit(void)
{
    char *h5 = cutest_path(g_dir, "sfb.h5"), *logp = cutest_path(g_dir, "sfb.sends");
    const char *args[] = {"--model",         "mistral-7b",
                          "--concurrency",   "2",
                          "--requests",      "6",
                          "--warmup",        "0",
                          "--output-tokens", "16",
                          "--timeout",       "first-token=1s,idle=500ms",
                          "--sim-faults",    "slow_first_byte@0:2,slow_first_byte@1:0.3",
                          "--sim-log-sends", logp,
                          "--output",        h5,
                          "--json",          "--no-progress",
                          "--no-report",     NULL};
    double wall;
    cJSON *j = run_bench(args, 0, 60, &wall);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON_Delete(j);
    CU_ASSERT(wall < 10.0);
    /* which request got which delay: arrivals 0 and 1 are the first two
     * fault lines, in order */
    FILE *f = fopen(logp, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[256], key[64], kind[64];
    long long seq, t;
    unsigned long ids[2];
    int nf = 0, lv;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%63s\t%lld\t%lld\t%63s", key, &seq, &t, kind) == 4 &&
            strcmp(kind, "fault:slow_first_byte") == 0 && nf < 2 &&
            sscanf(key, "c%d-%lu", &lv, &ids[nf]) == 2)
            nf++;
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(nf, 2);

    results_file *rf;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &rf, &e), BENCH_OK);
    req_record *rows;
    size_t nr;
    CU_ASSERT_EQUAL_FATAL(results_read_requests(rf, 2, &rows, &nr, &e), BENCH_OK);
    CU_ASSERT_EQUAL(nr, 6);
    int ok = 0;
    for (size_t i = 0; i < nr; i++) {
        if (rows[i].id == ids[0]) {
            CU_ASSERT_EQUAL(rows[i].status, REQ_TIMEOUT_FIRST_TOKEN);
            /* cut at the 1 s limit, not at the 0.5 s idle limit */
            CU_ASSERT(rows[i].t_end_ns - rows[i].t_send_ns >= 1000000000LL);
            CU_ASSERT(rows[i].t_end_ns - rows[i].t_send_ns < 1500000000LL);
        } else {
            CU_ASSERT_EQUAL(rows[i].status, REQ_OK);
            ok += rows[i].status == REQ_OK;
        }
        if (rows[i].id == ids[1])
            CU_ASSERT(rows[i].t_first_byte_ns - rows[i].t_send_ns >= 300000000LL);
    }
    CU_ASSERT_EQUAL(ok, 5);
    free(rows);
    results_file_close(rf);
    free(h5);
    free(logp);
}

/* An evaluation retries a 429 after its Retry-After (3 s), longer than its
 * own first backoff (1 s); the item then succeeds on its second attempt. */
static void test_eval_honours_retry_after(void)
{
    char *p = cutest_path(g_dir, "eval429.h5");
    const char *argv[] = {cutest_bench_exe(),
                          "eval",
                          "mmlu",
                          "--model",
                          "mistral-7b",
                          "--limit",
                          "1",
                          "--retries",
                          "2",
                          "--sim-faults",
                          "http429@0:3",
                          "--output",
                          p,
                          "--json",
                          "--no-progress",
                          NULL};
    char *out = NULL, *err = NULL;
    int64_t t0 = clock_now_ns();
    int rc = cutest_spawn(argv, &out, &err, 300);
    double wall = (double)(clock_now_ns() - t0) / 1e9;
    if (rc != 0)
        fprintf(stderr, "bench eval rc=%d: %.3000s\n", rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "retrying in 3 s (Retry-After)"));
    CU_ASSERT(wall >= 3.0);
    cJSON *o = out ? cJSON_Parse(out) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "failed_requests");
    CU_ASSERT(cJSON_IsNumber(fr) && fr->valuedouble == 0);
    cJSON_Delete(o);

    evalres_item *it = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(evalres_read_items(p, &it, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 57);
    int twice = 0, once = 0;
    for (size_t i = 0; i < n; i++) {
        twice += it[i].attempts == 2;
        once += it[i].attempts == 1;
        CU_ASSERT_EQUAL(it[i].status, REQ_OK);
    }
    CU_ASSERT_EQUAL(twice, 1);
    CU_ASSERT_EQUAL(once, 56);
    evalres_items_free(it, n);
    free(out);
    free(err);
    free(p);

    /* not with a remote endpoint: a usage error naming the flag */
    const char *bad[] = {
        cutest_bench_exe(),      "eval",         "mmlu",      "--model", "x", "--endpoint",
        "http://127.0.0.1:9/v1", "--sim-faults", "http429@0", NULL};
    err = NULL;
    CU_ASSERT_EQUAL(cutest_spawn(bad, NULL, &err, 60), 2);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--sim-faults"));
    free(err);
    const char *bad2[] = {cutest_bench_exe(), "eval",         "mmlu",       "--model",
                          "mistral-7b",       "--sim-faults", "gremlins@0", NULL};
    err = NULL;
    CU_ASSERT_EQUAL(cutest_spawn(bad2, NULL, &err, 60), 2);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "gremlins"));
    free(err);
}

static CU_TestInfo tests[] = {
    {"each fault alone at concurrency 64: exact classes", test_each_fault_alone},
    {"all faults mixed at concurrency 64: exact classes", test_all_mixed},
    {"slow first byte against the first-token limit", test_slow_first_byte_limit},
    {"evaluation retries honour Retry-After", test_eval_honours_retry_after},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    g_dir = cutest_tmpdir("faults");
    if (!g_dir)
        return 1;
    return cutest_run("faults", tests);
}
