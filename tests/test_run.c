/* Integration tests: `bench` end to end against the embedded simulated
 * endpoint on loopback. The client's per-chunk timestamps are checked against
 * the simulator's own send log (--sim-log-sends, same CLOCK_MONOTONIC), token
 * counts against usage, injected faults against the recorded classes, and the
 * file against docs/FORMAT.md with h5py. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "results_read.h"
#include "stats.h"

static char *g_dir;

static cJSON *parse_json_out(const char *out)
{
    /* --json prints exactly one JSON object on stdout */
    cJSON *j = cJSON_Parse(out);
    if (!j)
        fprintf(stderr, "stdout was not JSON: %.300s\n", out);
    return j;
}

/* Run bench with args (without the executable; NULL-terminated), expecting
 * exit status want. Returns its stdout parsed as JSON (caller deletes), NULL
 * when the status differs or stdout is not JSON; *err_out (may be NULL)
 * gets stderr (caller frees). */
static cJSON *run_bench(const char *const *args, int want, int timeout_s, char **err_out)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = cutest_spawn(argv, &out, &err, timeout_s);
    if (rc != want)
        fprintf(stderr, "bench exited %d (wanted %d): %s\n", rc, want, err);
    CU_ASSERT_EQUAL(rc, want);
    cJSON *j = rc == want ? parse_json_out(out) : NULL;
    free(out);
    if (err_out)
        *err_out = err;
    else
        free(err);
    return j;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The client's timestamps against the server's send log, per chunk, plus
 * usage counts and the JSON summary. */
static void test_measured_against_truth(void)
{
    char *h5 = cutest_path(g_dir, "truth.h5"), *log = cutest_path(g_dir, "truth.sends");
    const char *args[] = {"--model",
                          "mistral-7b",
                          "--concurrency",
                          "1,4",
                          "--requests",
                          "30",
                          "--warmup",
                          "2",
                          "--output",
                          h5,
                          "--sim-log-sends",
                          log,
                          "--json",
                          "--no-progress",
                          "--seed",
                          "3",
                          NULL};
    char *err = NULL;
    cJSON *j = run_bench(args, 0, 240, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "endpoint_kind")->valuestring, "simulated");
    cJSON *levels = cJSON_GetObjectItem(j, "levels");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(levels), 2);
    for (int i = 0; i < 2; i++) {
        cJSON *l = cJSON_GetArrayItem(levels, i);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 30);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_failed")->valueint, 0);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_warmup")->valueint, 2);
        CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(l, "tokens_from_usage")));
        CU_ASSERT(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "ttft_ms"), "p50")->valuedouble > 0);
    }
    cJSON_Delete(j);
    /* the table went to stderr and says the endpoint was simulated */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "SIMULATED"));
    /* the run ended by writing its report next to the results file */
    const char *made[] = {"truth-report/report.md", "truth-report/report.html",
                          "truth-report/ttft_vs_concurrency.png",
                          "truth-report/throughput_vs_concurrency.svg",
                          "truth-report/timeline.dat"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char *p = cutest_path(g_dir, made[i]);
        if (access(p, R_OK) != 0)
            fprintf(stderr, "missing %s\n", p);
        CU_ASSERT_EQUAL(access(p, R_OK), 0);
        free(p);
    }
    char *md_path = cutest_path(g_dir, "truth-report/report.md"), *md = NULL;
    bench_err fe;
    CU_ASSERT_EQUAL(file_read_all(md_path, 1 << 22, &md, NULL, &fe), BENCH_OK);
    if (md) {
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "SIMULATED"));
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "| mistral-7b |"));
    }
    free(md);
    free(md_path);

    cutest_send_log sl;
    cutest_send_log_load(log, &sl);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(results_file_attr(f, "endpoint_kind"), "simulated");
    CU_ASSERT_STRING_EQUAL(results_file_attr(f, "model"), "mistral-7b");
    CU_ASSERT_STRING_EQUAL(results_file_attr(f, "run_status"), "complete");
    int64_t t0 = results_file_t0_monotonic(f);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), 2);

    size_t nerr = 0, nttft = 0;
    double *errs = malloc(sizeof(double) * 20000), *ttft_diff = malloc(sizeof(double) * 200);
    int matched = 0;
    for (size_t li = 0; li < 2; li++) {
        int c = results_file_level(f, li)->concurrency;
        req_record *rows;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(results_read_requests(f, c, &rows, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, 32);
        uint64_t nch;
        results_chunk_count(f, c, &nch, &e);
        chunk_record *ch = malloc((nch + 1) * sizeof *ch);
        CU_ASSERT_EQUAL_FATAL(results_read_chunks(f, c, 0, nch, ch, &e), BENCH_OK);
        for (size_t i = 0; i < n; i++) {
            req_record *r = &rows[i];
            CU_ASSERT_EQUAL(r->status, 0);
            CU_ASSERT_EQUAL(r->output_tokens, 128);
            CU_ASSERT_EQUAL(r->chunk_count, 128);
            CU_ASSERT_EQUAL(r->max_tokens, 128);
            CU_ASSERT(r->prompt_tokens >= 256);
            CU_ASSERT_STRING_EQUAL(r->finish_reason, "length");
            CU_ASSERT(r->t_sched_ns <= r->t_send_ns && r->t_send_ns < r->t_first_byte_ns &&
                      r->t_first_byte_ns <= r->t_first_token_ns &&
                      r->t_first_token_ns <= r->t_last_token_ns &&
                      r->t_last_token_ns <= r->t_end_ns);
            char key[64];
            snprintf(key, sizeof key, "c%d-%llu", c, (unsigned long long)r->id);
            cutest_sent_req *s = cutest_send_log_find(&sl, key, 0);
            CU_ASSERT_PTR_NOT_NULL_FATAL(s);
            CU_ASSERT_EQUAL_FATAL(s->n, (int)r->chunk_count);
            for (uint32_t k = 0; k < r->chunk_count; k++) {
                const chunk_record *cr = &ch[r->chunk_offset + k];
                CU_ASSERT_EQUAL(cr->request_id, r->id);
                errs[nerr++] = (double)(t0 + cr->t_ns - s->t[k]) / 1e6;
            }
            /* TTFT as the client measured it against the server's view:
             * first token sent - request arrival (the role event is sent on
             * arrival). */
            if (s->t_role >= 0) {
                double client = (double)(r->t_first_token_ns - r->t_send_ns) / 1e6;
                double server = (double)(s->t[0] - s->t_role) / 1e6;
                ttft_diff[nttft++] = client - server;
            }
            matched++;
        }
        free(rows);
        free(ch);
    }
    CU_ASSERT_EQUAL(matched, 64);
    qsort(errs, nerr, sizeof *errs, cmp_d);
    qsort(ttft_diff, nttft, sizeof *ttft_diff, cmp_d);
    double p50 = stats_percentile_sorted(errs, nerr, 50),
           p99 = stats_percentile_sorted(errs, nerr, 99);
    fprintf(stderr,
            "chunk timestamp error vs server send log (ms): n=%zu min=%.4f p50=%.4f p99=%.4f "
            "max=%.4f\nTTFT client - server view (ms): p50=%.4f p99=%.4f\n",
            nerr, errs[0], p50, p99, errs[nerr - 1], stats_percentile_sorted(ttft_diff, nttft, 50),
            stats_percentile_sorted(ttft_diff, nttft, 99));
    /* A chunk cannot arrive before it was sent (same clock). */
    CU_ASSERT(errs[0] >= 0);
    /* Loopback delivery plus client scheduling on a 2-core machine. */
    CU_ASSERT(p50 < 1.0);
    CU_ASSERT(p99 < 5.0);
    CU_ASSERT(fabs(stats_percentile_sorted(ttft_diff, nttft, 50)) < 1.0);
    free(errs);
    free(ttft_diff);
    cutest_send_log_free(&sl);
    results_file_close(f);

    /* The file passes the h5py layout check of docs/FORMAT.md. */
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/check_h5_layout.py", cutest_root());
    const char *py[] = {"/usr/bin/python3", script, "--expect-levels", "2", h5, NULL};
    char *pout = NULL;
    int rc = cutest_spawn(py, &pout, NULL, 120);
    if (rc != 0)
        fprintf(stderr, "check_h5_layout: %s\n", pout);
    CU_ASSERT_EQUAL(rc, 0);
    free(pout);
    free(err);
    free(h5);
    free(log);
}

/* Injected HTTP and mid-stream errors are recorded with their class and the
 * server's message; the run completes. */
static void test_injected_errors(void)
{
    char *h5 = cutest_path(g_dir, "faults.h5");
    const char *args[] = {"--model",         "llama3-8b",
                          "--concurrency",   "2",
                          "--requests",      "20",
                          "--warmup",        "0",
                          "--output-tokens", "16",
                          "--output",        h5,
                          "--sim-faults",    "http500@3,midstream_error@6,no_done@9",
                          "--json",          "--no-progress",
                          "--no-report",     NULL};
    char *err = NULL;
    cJSON *j = run_bench(args, 0, 120, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 17);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_failed")->valueint, 3);
    cJSON *bc = cJSON_GetObjectItem(l, "by_class");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(bc, "http_error")->valueint, 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(bc, "server_error_event")->valueint, 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(bc, "no_done")->valueint, 1);
    cJSON_Delete(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "http_error"));

    results_file *f;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    results_error_row *er;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(results_read_errors(f, 2, &er, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 3);
    int saw500 = 0, sawmid = 0, sawdone = 0;
    for (size_t i = 0; i < n; i++) {
        saw500 |= strstr(er[i].message, "HTTP 500") != NULL;
        sawmid |= strstr(er[i].message, "simulated mid-stream failure") != NULL;
        sawdone |= strstr(er[i].message, "[DONE]") != NULL;
    }
    CU_ASSERT(saw500 && sawmid && sawdone);
    free(er);
    req_record *rows;
    CU_ASSERT_EQUAL_FATAL(results_read_requests(f, 2, &rows, &n, &e), BENCH_OK);
    int http500 = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].status == 1)
            http500 += rows[i].http_status == 500;
    CU_ASSERT_EQUAL(http500, 1);
    free(rows);
    results_file_close(f);
    free(err);
    free(h5);
}

/* A server that stalls mid-stream is cut off by the idle limit, recorded as
 * timeout_idle, and the run goes on; nothing hangs. */
static void test_idle_timeout(void)
{
    char *h5 = cutest_path(g_dir, "stall.h5");
    const char *args[] = {"--model",         "mistral-7b",
                          "--concurrency",   "2",
                          "--requests",      "4",
                          "--warmup",        "0",
                          "--output-tokens", "32",
                          "--timeout",       "idle=400ms",
                          "--output",        h5,
                          "--sim-faults",    "stall@1:5,stall@2:5",
                          "--json",          "--no-progress",
                          "--no-report",     NULL};
    cJSON *j = run_bench(args, 0, 60, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 2);
    CU_ASSERT_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(l, "by_class"), "timeout_idle")->valueint, 2);
    /* cut off at ~0.4 s, not after the 5 s stall */
    CU_ASSERT(cJSON_GetObjectItem(l, "duration_s")->valuedouble < 3.0);
    cJSON_Delete(j);
    free(h5);
}

static void expect_usage_error(const char *const *args, const char *needle)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 30; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = cutest_spawn(argv, &out, &err, 60);
    if (rc != 2 || !strstr(err, needle))
        fprintf(stderr, "expected exit 2 with '%s', got %d: %s\n", needle, rc, err);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    /* one line, starting "bench: " */
    CU_ASSERT_EQUAL(strncmp(err, "bench: ", 7), 0);
    CU_ASSERT_PTR_NOT_NULL(strchr(err, '\n'));
    if (strchr(err, '\n'))
        CU_ASSERT_EQUAL(strchr(err, '\n')[1], '\0');
    free(out);
    free(err);
}

static void test_bad_flags(void)
{
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--concurrency", "0", NULL},
                       "--concurrency");
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--concurrency", "1-x", NULL},
                       "--concurrency");
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--requests", "-5", NULL},
                       "--requests");
    expect_usage_error((const char *[]){"--model", "no-such-model", NULL}, "no-such-model");
    expect_usage_error((const char *[]){"--concurrency", "8", NULL}, "--model is required");
    expect_usage_error((const char *[]){"--model", "x", "--endpoint", "ftp://h/v1", NULL},
                       "--endpoint");
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--bogus", NULL}, "--bogus");
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--timeout", "idle=5q", NULL},
                       "--timeout");
    expect_usage_error((const char *[]){"--model", "mistral-7b", "--api", "grpc", NULL}, "--api");
    expect_usage_error(
        (const char *[]){"--model", "mistral-7b", "--sim-faults", "gremlins=1", NULL}, "gremlins");
    expect_usage_error((const char *[]){"frobnicate", NULL}, "frobnicate");
}

/* An unusable output path fails before any request, naming the path; a
 * refused connection is recorded per request and the run says so. */
static void test_output_and_connection_errors(void)
{
    const char *argv[] = {cutest_bench_exe(),
                          "--model",
                          "mistral-7b",
                          "--concurrency",
                          "1",
                          "--requests",
                          "2",
                          "--output",
                          "/proc/no-such-dir/x.h5",
                          "--no-progress",
                          NULL};
    char *err = NULL;
    int rc = cutest_spawn(argv, NULL, &err, 60);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/proc/no-such-dir/x.h5"));
    free(err);

    char *h5 = cutest_path(g_dir, "refused.h5");
    const char *args2[] = {"--model",       "any-model",
                           "--endpoint",    "http://127.0.0.1:9/v1",
                           "--concurrency", "2",
                           "--requests",    "4",
                           "--warmup",      "0",
                           "--output",      h5,
                           "--json",        "--no-progress",
                           "--no-report",   NULL};
    /* every request failed: exit 1, with the summary still printed */
    cJSON *j = run_bench(args2, 1, 60, &err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "connect_error"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_failed")->valueint, 4);
    CU_ASSERT_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(l, "by_class"), "connect_error")->valueint, 4);
    cJSON_Delete(j);
    results_file *f;
    bench_err e;
    CU_ASSERT_EQUAL(results_open(h5, &f, &e), BENCH_OK);
    if (f)
        results_file_close(f);
    free(err);
    free(h5);
}

/* The acceptance figure: mistral-7b at concurrency 1, 400 requests,
 * TTFT p50 within 10% of 35 ms and p99 within 20% of 79 ms. */
static void test_ttft_calibration(void)
{
    char *h5 = cutest_path(g_dir, "calib.h5");
    const char *args[] = {"--model",    "mistral-7b",    "--concurrency", "1",
                          "--requests", "400",           "--output",      h5,
                          "--json",     "--no-progress", "--no-report",   NULL};
    cJSON *j = run_bench(args, 0, 300, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    cJSON *t = cJSON_GetObjectItem(l, "ttft_ms");
    double p50 = cJSON_GetObjectItem(t, "p50")->valuedouble;
    double p99 = cJSON_GetObjectItem(t, "p99")->valuedouble;
    double tps = cJSON_GetObjectItem(l, "output_tok_s")->valuedouble;
    fprintf(stderr, "mistral-7b c=1 n=400: TTFT p50 %.2f ms p99 %.2f ms, %.0f tok/s\n", p50, p99,
            tps);
    CU_ASSERT(fabs(p50 - 35) <= 3.5);
    CU_ASSERT(fabs(p99 - 79) <= 15.8);
    CU_ASSERT(fabs(tps - 1560) <= 156);
    cJSON_Delete(j);
    free(h5);
}

/* --- interruption and full disks (docs/RELIABILITY.md) ------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start bench with args (NULL-terminated, without the executable), stdout
 * to /dev/null and stderr to the file errpath; returns its pid. */
static pid_t start_bench(const char *const *args, const char *errpath)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (null_fd < 0 || e < 0)
            _exit(127);
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait up to timeout_s for pid: its exit status (128 + signal when killed),
 * -1 after killing it at the timeout. */
static int wait_bench(pid_t pid, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
}

static char *slurp(const char *path)
{
    char *s = NULL;
    bench_err e;
    if (file_read_all(path, 1 << 20, &s, NULL, &e) != BENCH_OK)
        return strdup("");
    return s;
}

/* The results file at path opens; *levels gets its level count and, per
 * level, the number of request rows and how many were cancelled. */
static int open_counts(const char *path, size_t *levels, size_t rows[8], size_t cancelled[8],
                       char *status, size_t statusz)
{
    results_file *f = NULL;
    bench_err e;
    if (results_open(path, &f, &e) != BENCH_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    *levels = results_file_level_count(f);
    const char *rs = results_file_attr(f, "run_status");
    snprintf(status, statusz, "%s", rs ? rs : "");
    for (size_t i = 0; i < *levels && i < 8; i++) {
        req_record *r = NULL;
        size_t n = 0;
        rows[i] = cancelled[i] = 0;
        if (results_read_requests(f, results_file_level(f, i)->concurrency, &r, &n, &e) !=
            BENCH_OK) {
            fprintf(stderr, "%s\n", e.msg);
            results_file_close(f);
            return -1;
        }
        rows[i] = n;
        for (size_t k = 0; k < n; k++)
            cancelled[i] += r[k].status == REQ_CANCELLED;
        free(r);
    }
    results_file_close(f);
    return 0;
}

/* check_h5_layout.py (h5py) on path: 0 when the file follows docs/FORMAT.md. */
static int h5py_check(const char *path)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/check_h5_layout.py", cutest_root());
    const char *py[] = {"/usr/bin/python3", script, path, NULL};
    char *out = NULL;
    int rc = cutest_spawn(py, &out, NULL, 120);
    fprintf(stderr, "h5py %s: %s", path, out ? out : "");
    free(out);
    return rc;
}

/* Every request of the level stalls for 30 s after its first tokens, so the
 * four in flight outlast the 5 s grace: SIGTERM cancels them after 5 s and
 * exits 143; SIGINT then a second SIGINT 0.1 s later cancels them at once,
 * exits 130 within a fraction of a second, and either way the file is
 * closed readable with what was measured. */
static void test_signals(void)
{
    for (int second = 0; second < 2; second++) {
        char *h5 = cutest_path(g_dir, second ? "sig2.h5" : "sig1.h5");
        char *errp = cutest_path(g_dir, second ? "sig2.err" : "sig1.err");
        const char *args[] = {"--model",       "mistral-7b", "--concurrency", "4",
                              "--requests",    "200",        "--warmup",      "0",
                              "--output",      h5,           "--sim-faults",  "stall=0.25:30",
                              "--no-progress", NULL};
        pid_t pid = start_bench(args, errp);
        CU_ASSERT_FATAL(pid > 0);
        sleep(2); /* the level runs, some requests stall */
        kill(pid, second ? SIGINT : SIGTERM);
        double t1 = now_s();
        if (second) {
            usleep(100000);
            t1 = now_s();
            kill(pid, SIGINT);
        }
        int rc = wait_bench(pid, 30);
        double took = now_s() - t1;
        char *err = slurp(errp);
        fprintf(stderr, "%s: exit %d %.2f s after the %s signal: %s",
                second ? "SIGINT twice" : "SIGTERM", rc, took, second ? "second" : "only", err);
        CU_ASSERT_EQUAL(rc, second ? 130 : 143);
        if (second) {
            CU_ASSERT(took < 2.0);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "aborted by a second SIGINT"));
            /* the report is skipped after a second signal */
            CU_ASSERT_PTR_NULL(strstr(err, "bench report: wrote"));
        } else {
            CU_ASSERT(took >= 4.5 && took < 10.0); /* the 5 s grace, then cancelled */
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "interrupted by SIGTERM"));
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(err, h5));
        size_t levels = 0, rows[8] = {0}, cancelled[8] = {0};
        char status[64];
        CU_ASSERT_EQUAL_FATAL(open_counts(h5, &levels, rows, cancelled, status, sizeof status), 0);
        CU_ASSERT_STRING_EQUAL(status, "interrupted");
        CU_ASSERT_EQUAL(levels, 1);
        CU_ASSERT(rows[0] > 0 && rows[0] < 200);
        CU_ASSERT(cancelled[0] >= 1); /* the stalled requests in flight */
        CU_ASSERT_EQUAL(h5py_check(h5), 0);
        free(err);
        free(errp);
        free(h5);
    }
}

/* No room for the writer's reserve (8 MiB): refused before any request, the
 * file removed, one line naming it. */
static void test_no_room_at_start(void)
{
    char *h5 = cutest_path(g_dir, "noroom.h5");
    const char *argv[] = {"/usr/bin/prlimit",
                          "--fsize=1048576",
                          cutest_bench_exe(),
                          "--model",
                          "mistral-7b",
                          "--concurrency",
                          "1",
                          "--requests",
                          "5",
                          "--no-progress",
                          "--output",
                          h5,
                          NULL};
    char *err = NULL;
    int rc = cutest_spawn(argv, NULL, &err, 60);
    fprintf(stderr, "1 MiB file size limit: exit %d: %s", rc, err);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "kept in reserve"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "nothing was sent"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, h5));
    CU_ASSERT_NOT_EQUAL(access(h5, F_OK), 0);
    free(err);
    free(h5);
}

/* The run of the full-disk tests: c1 then c4, 128 tokens per request at
 * five times the simulator's speed (about 300 KB of results in 6 s). Not
 * faster: with the guard off, the recovery file (under the same 150 KiB
 * limit) takes the batch that failed and the other worker's next one, and
 * at ten times the speed two one-second batches came near that limit. */
#define DISK_ARGS(h5)                                                                              \
    cutest_bench_exe(), "--model", "mistral-7b", "--concurrency", "1,4", "--requests",             \
        "20,c4=800", "--warmup", "0", "--output-tokens", "128", "--sim-slowdown", "0.2",           \
        "--no-report", "--no-progress", "--output", (h5), NULL

/* The space guard: the file size limit leaves less than the reserve plus
 * twice a batch once c4 runs, so the run stops in c4; the file keeps c1 and
 * the part of c4 measured, ended normally; exit 1 with a message naming the
 * file. prefix: the command bench runs under (NULL-terminated, may be NULL). */
static void expect_guard_stop(const char *h5, const char *const *prefix)
{
    const char *argv[40];
    int n = 0;
    for (; prefix && *prefix; prefix++)
        argv[n++] = *prefix;
    const char *rest[] = {DISK_ARGS(h5)};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        argv[n++] = rest[i];
    char *err = NULL;
    int rc = cutest_spawn(argv, NULL, &err, 120);
    fprintf(stderr, "guard: exit %d: %s", rc, err);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "kept in reserve"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stopped the run in level c4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "holds everything measured"));
    size_t levels = 0, rows[8] = {0}, cancelled[8] = {0};
    char status[64];
    CU_ASSERT_EQUAL_FATAL(open_counts(h5, &levels, rows, cancelled, status, sizeof status), 0);
    CU_ASSERT_EQUAL(levels, 2);
    CU_ASSERT_EQUAL(rows[0], 20);
    CU_ASSERT(rows[1] > 0 && rows[1] < 800);
    CU_ASSERT_STRING_EQUAL(status, "failed");
    CU_ASSERT_EQUAL(h5py_check(h5), 0);
    free(err);
}

/* With the guard off (BENCH_WRITE_RESERVE_MIB=0) the write itself fails in
 * the middle of c4: bench neither crashes nor damages the file (it opens,
 * with c1), and the rows of c4 it still held are in the recovery file the
 * message names, itself a valid results file. want_dir: where the recovery
 * file must be. */
static void expect_recovery(const char *h5, const char *const *prefix, const char *want_dir)
{
    const char *argv[40];
    int n = 0;
    for (; prefix && *prefix; prefix++)
        argv[n++] = *prefix;
    const char *rest[] = {DISK_ARGS(h5)};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        argv[n++] = rest[i];
    char *err = NULL;
    int rc = cutest_spawn(argv, NULL, &err, 120);
    fprintf(stderr, "failed write: exit %d: %s", rc, err);
    CU_ASSERT_EQUAL(rc, 1);
    size_t levels = 0, rows[8] = {0}, cancelled[8] = {0};
    char status[64];
    CU_ASSERT_EQUAL_FATAL(open_counts(h5, &levels, rows, cancelled, status, sizeof status), 0);
    CU_ASSERT_EQUAL(levels, 1);
    CU_ASSERT_EQUAL(rows[0], 20);
    CU_ASSERT_EQUAL(h5py_check(h5), 0);
    /* "... the N request(s) of level c4 it had not taken yet are in the
     * recovery file PATH (the M it had taken are lost)" */
    const char *at = strstr(err, "are in the recovery file ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    const char *np = strstr(err, "the ");
    unsigned long long kept = 0;
    while (np && np < at && sscanf(np, "the %llu request(s) of level c4", &kept) != 1)
        np = strstr(np + 1, "the ");
    char rec[1024];
    CU_ASSERT_EQUAL_FATAL(sscanf(at + strlen("are in the recovery file "), "%1023s", rec), 1);
    CU_ASSERT_EQUAL(strncmp(rec, want_dir, strlen(want_dir)), 0);
    CU_ASSERT(kept > 0);
    CU_ASSERT_EQUAL_FATAL(open_counts(rec, &levels, rows, cancelled, status, sizeof status), 0);
    CU_ASSERT_EQUAL(levels, 1);
    CU_ASSERT_EQUAL(rows[0], kept);
    CU_ASSERT_STRING_EQUAL(status, "recovery");
    CU_ASSERT_EQUAL(h5py_check(rec), 0);
    free(err);
}

static void test_file_size_limit(void)
{
    char *h5 = cutest_path(g_dir, "fsize.h5");
    /* 8 MiB of reserve + 200 KiB: c1 fits, c4's batches do not. */
    const char *guard[] = {"/usr/bin/prlimit", "--fsize=8593408", NULL};
    expect_guard_stop(h5, guard);
    /* 150 KiB and no guard: HDF5's write fails in c4. */
    const char *bare[] = {"/usr/bin/env", "BENCH_WRITE_RESERVE_MIB=0", "/usr/bin/prlimit",
                          "--fsize=153600", NULL};
    expect_recovery(h5, bare, g_dir);
    free(h5);
}

/* The same on a full file system: a 12 MiB tmpfs, less a filler file. Needs
 * root (mount); skipped with a note otherwise. With the guard off the
 * recovery file cannot be beside the results file (the tmpfs is full) and
 * goes to $TMPDIR. */
static void test_full_tmpfs(void)
{
    char *mnt = cutest_path(g_dir, "tmpfs");
    mkdir(mnt, 0755);
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=12m") != 0) {
        fprintf(stderr,
                "SKIPPED: full tmpfs: cannot mount a tmpfs at %s (%s); the file size "
                "limit test covers the same code\n",
                mnt, geteuid() != 0 ? "not root" : strerror(errno));
        free(mnt);
        return;
    }
    char *h5 = cutest_path(mnt, "r.h5"), *filler = cutest_path(mnt, "filler");
    for (int guard = 1; guard >= 0; guard--) {
        unlink(h5);
        /* leave 8 MiB + 200 KiB (guard) or 150 KiB (no guard) free */
        int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CU_ASSERT_FATAL(fd >= 0);
        off_t fill = (off_t)12 * 1048576 - (guard ? 8593408 : 153600);
        CU_ASSERT_EQUAL(posix_fallocate(fd, 0, fill), 0);
        close(fd);
        if (guard) {
            expect_guard_stop(h5, NULL);
        } else {
            char tmpdir[1100];
            snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", g_dir);
            const char *bare[] = {"/usr/bin/env", "BENCH_WRITE_RESERVE_MIB=0", tmpdir, NULL};
            expect_recovery(h5, bare, g_dir);
        }
    }
    CU_ASSERT_EQUAL(umount(mnt), 0);
    free(filler);
    free(h5);
    free(mnt);
}

static CU_TestInfo tests[] = {
    {"chunk times and usage vs the server's send log", test_measured_against_truth},
    {"injected errors recorded, run completes", test_injected_errors},
    {"idle timeout on a stalled stream", test_idle_timeout},
    {"bad flags: one line, exit 2", test_bad_flags},
    {"unwritable output, refused connections", test_output_and_connection_errors},
    {"TTFT calibration at concurrency 1 (400 requests)", test_ttft_calibration},
    {"SIGTERM: 5 s grace; SIGINT twice: abort at once; file readable", test_signals},
    {"no room for the reserve: refused before the first request", test_no_room_at_start},
    {"file size limit: guard stops the run; failed write: recovery file", test_file_size_limit},
    {"full tmpfs (root): guard stops the run; failed write: recovery in $TMPDIR", test_full_tmpfs},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    g_dir = cutest_tmpdir("run");
    if (!g_dir)
        return 1;
    return cutest_run("run", tests);
}
