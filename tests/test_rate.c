/* Integration tests: open-loop rate levels (`bench --rate`) end to end
 * against the embedded simulated endpoint on loopback.
 *
 * A rate level sends on the seeded schedule whatever is in flight: the
 * intended send times in the file must be the schedule itself, the
 * achieved rate the offered one, and a client held back by its in-flight
 * cap must show it as growing schedule lag, never as skipped requests.
 * The level's group, attributes and the client's self-measurement are
 * checked in the file, the JSON summary, the report and `bench compare`;
 * flags that contradict each other fail in one line with exit status 2. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "results_read.h"
#include "schedule.h"

static char *g_dir;

/* Run bench with args (NULL-terminated, without the executable), expecting
 * exit status want; its stdout as JSON when json (caller deletes), else
 * NULL; *err_out (may be NULL) gets stderr (caller frees). */
static cJSON *run_bench(const char *const *args, int want, int json, char **err_out)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = cutest_spawn(argv, &out, &err, 300);
    if (rc != want)
        fprintf(stderr, "bench exited %d (wanted %d): %s\n", rc, want, err ? err : "");
    CU_ASSERT_EQUAL(rc, want);
    cJSON *j = rc == want && json ? cJSON_Parse(out) : NULL;
    if (rc == want && json && !j)
        fprintf(stderr, "stdout was not JSON: %.300s\n", out ? out : "");
    free(out);
    if (err_out)
        *err_out = err;
    else
        free(err);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* check_h5_layout.py on path: 0 when it follows docs/FORMAT.md, 77 when
 * Debian's python3 lacks h5py. */
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

/* Rows of the only level of path, sorted by id into *rows (caller frees);
 * its info into *info. */
static size_t read_level(const char *path, const char *want_name, results_level_info *info,
                         req_record **rows)
{
    results_file *f = NULL;
    bench_err e;
    size_t n = 0;
    *rows = NULL;
    CU_ASSERT_EQUAL_FATAL(results_open(path, &f, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), 1);
    *info = *results_file_level(f, 0);
    char name[LEVEL_NAME_MAX];
    CU_ASSERT_STRING_EQUAL(level_format(info->level, name, sizeof name), want_name);
    CU_ASSERT_EQUAL(results_read_requests_key(f, info->level, rows, &n, &e), BENCH_OK);
    /* the int form of the reader knows no rate level */
    if (info->level.kind == LEVEL_RATE) {
        req_record *none = NULL;
        size_t nn = 0;
        CU_ASSERT_NOT_EQUAL(results_read_requests(f, 20, &none, &nn, &e), BENCH_OK);
        free(none);
    }
    results_file_close(f);
    /* by id: ids are 0..n-1 */
    req_record *by_id = calloc(n + 1, sizeof *by_id);
    int ids_ok = 1;
    for (size_t i = 0; i < n; i++) {
        if ((*rows)[i].id >= n) {
            ids_ok = 0;
            continue;
        }
        by_id[(*rows)[i].id] = (*rows)[i];
    }
    CU_ASSERT(ids_ok);
    free(*rows);
    *rows = by_id;
    return n;
}

/* One rate level on the simulator: everything sent on the seeded schedule,
 * at the offered rate, all ok, lag recorded per request, and the level
 * named and described as such in the file, the summary, the report and a
 * comparison. */
static void test_rate_level(void)
{
    char *h5 = cutest_path(g_dir, "r20.h5"), *log = cutest_path(g_dir, "r20.sends");
    const char *args[] = {"--model",
                          "mistral-7b",
                          "--rate",
                          "20",
                          "--requests",
                          "200",
                          "--warmup",
                          "4",
                          "--seed",
                          "7",
                          "--output-tokens",
                          "16",
                          "--output",
                          h5,
                          "--json",
                          "--no-progress",
                          "--sim-log-sends",
                          log,
                          NULL};
    char *err = NULL;
    cJSON *j = run_bench(args, 0, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* the summary printed on stderr has the open-loop table */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "open loop"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "achieved"));
    free(err);

    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(str(l, "level"), "r20");
    CU_ASSERT_STRING_EQUAL(str(l, "mode"), "rate");
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(l, "concurrency")));
    CU_ASSERT_DOUBLE_EQUAL(num(l, "rate_s"), 20, 1e-12);
    CU_ASSERT_STRING_EQUAL(str(l, "arrival"), "poisson");
    CU_ASSERT_EQUAL(num(l, "requests_ok"), 200);
    CU_ASSERT_EQUAL(num(l, "requests_failed"), 0);
    CU_ASSERT_EQUAL(num(l, "requests_warmup"), 4);
    double achieved = num(l, "achieved_rate_s");
    fprintf(stderr, "r20: achieved %.3f req/s\n", achieved);
    /* 199 Poisson gaps: the realised rate is within 25% of 20 with
     * overwhelming probability (sd ~7%); closer checks below use the
     * schedule itself */
    CU_ASSERT(achieved > 15 && achieved < 25);
    const cJSON *lag = cJSON_GetObjectItem(l, "schedule_lag_ms");
    CU_ASSERT_EQUAL(num(lag, "count"), 200);
    CU_ASSERT(num(lag, "min") >= 0);
    const cJSON *ts = cJSON_GetObjectItem(l, "ttft_sched_ms"),
                *t = cJSON_GetObjectItem(l, "ttft_ms");
    CU_ASSERT_EQUAL(num(ts, "count"), 200);
    CU_ASSERT(num(ts, "p50") >= num(t, "p50")); /* from the intended time: never shorter */
    CU_ASSERT(num(cJSON_GetObjectItem(l, "e2e_sched_ms"), "p50") >=
              num(cJSON_GetObjectItem(l, "e2e_ms"), "p50"));
    const cJSON *client = cJSON_GetObjectItem(l, "client");
    CU_ASSERT_FATAL(cJSON_IsObject(client));
    CU_ASSERT(num(client, "threads") >= 1);
    CU_ASSERT(num(client, "peak_inflight") >= 1);
    CU_ASSERT(num(client, "peak_inflight") <= num(l, "max_concurrency"));
    CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(client, "warning")));
    int cap = (int)num(l, "max_concurrency");
    CU_ASSERT(cap >= 1 && cap <= 1024);
    cJSON_Delete(j);

    /* the file: /levels/r20, its attributes, the schedule */
    results_level_info info;
    req_record *rows = NULL;
    size_t n = read_level(h5, "r20", &info, &rows);
    CU_ASSERT_EQUAL_FATAL(n, 204);
    CU_ASSERT_EQUAL(info.concurrency, 0);
    CU_ASSERT_STRING_EQUAL(info.arrival, "poisson");
    CU_ASSERT_EQUAL(info.max_concurrency, cap);
    CU_ASSERT_EQUAL(info.requests_ok, 200);
    CU_ASSERT_EQUAL(info.requests_warmup, 4);
    CU_ASSERT(info.client.present);
    CU_ASSERT(info.client.threads >= 1);
    CU_ASSERT(info.client.cores >= 1);
    CU_ASSERT(info.client.wall_s > 5);
    CU_ASSERT(info.client.process_cpu_s > 0);
    CU_ASSERT(info.client.peak_inflight >= 1 && info.client.peak_inflight <= cap);

    int64_t *arr = NULL;
    schedule_arrival pois = {ARRIVAL_POISSON, 1};
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(schedule_build(7, 20, &pois, n, &arr, &e), BENCH_OK);
    int exact = 1, lag_ok = 1, warm_first = 1, all_ok = 1;
    int64_t t0 = rows[0].t_sched_ns, min_sched = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        /* intended times are the seeded schedule, exactly */
        exact &= rows[i].t_sched_ns - t0 == arr[i];
        /* sent at or after the intended time: the lag is recorded */
        lag_ok &= rows[i].t_send_ns >= rows[i].t_sched_ns;
        warm_first &= rows[i].warmup == (i < 4);
        all_ok &= rows[i].status == 0;
        if (rows[i].t_sched_ns < min_sched)
            min_sched = rows[i].t_sched_ns;
    }
    CU_ASSERT(exact);
    CU_ASSERT(lag_ok);
    CU_ASSERT(warm_first);
    CU_ASSERT(all_ok);
    CU_ASSERT_EQUAL(info.t_start_ns, min_sched);
    /* achieved vs the schedule's own rate over the measured requests */
    double sched_rate = 199.0 / ((double)(arr[203] - arr[4]) / 1e9);
    double sent_rate = 199.0 / ((double)(rows[203].t_send_ns - rows[4].t_send_ns) / 1e9);
    fprintf(stderr, "r20: schedule %.3f req/s, sends %.3f req/s\n", sched_rate, sent_rate);
    CU_ASSERT(fabs(sent_rate / sched_rate - 1) < 0.05);
    CU_ASSERT(fabs(achieved / sched_rate - 1) < 0.05);
    free(arr);
    free(rows);

    /* the server saw each request tagged with its level */
    FILE *lf = fopen(log, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
    char line[512];
    int seen[204] = {0}, foreign = 0;
    while (fgets(line, sizeof line, lf)) {
        unsigned long long id;
        char tail;
        if (sscanf(line, "r20-%llu%c", &id, &tail) == 2 && tail == '\t' && id < 204)
            seen[id] = 1;
        else if (line[0] != '#')
            foreign++;
    }
    fclose(lf);
    int all_seen = 1;
    for (int i = 0; i < 204; i++)
        all_seen &= seen[i];
    CU_ASSERT(all_seen);
    CU_ASSERT_EQUAL(foreign, 0);

    int rc = h5py_check(h5);
    CU_ASSERT(rc == 0 || rc == 77);

    /* the report names the level and has the rate table */
    char *md_path = cutest_path(g_dir, "r20-report/report.md"), *md = NULL;
    CU_ASSERT_EQUAL(file_read_all(md_path, 1 << 22, &md, NULL, &e), BENCH_OK);
    if (md) {
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "by offered rate (open loop)"));
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "| r20 |"));
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "ttft_vs_rate.png"));
        CU_ASSERT_PTR_NULL(strstr(md, "ttft_vs_concurrency.png"));
    }
    free(md);
    free(md_path);
    char *png = cutest_path(g_dir, "r20-report/throughput_vs_rate.svg");
    CU_ASSERT_EQUAL(access(png, R_OK), 0);
    free(png);

    /* bench report --json carries the level and the client */
    char *rdir = cutest_path(g_dir, "r20-rep2");
    const char *rargs[] = {"report", h5, "--out", rdir, "--no-plots", "--json", NULL};
    cJSON *rj = run_bench(rargs, 0, 1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rj);
    cJSON *rl = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rj, "models"), 0), "levels"), 0);
    CU_ASSERT_STRING_EQUAL(str(rl, "level"), "r20");
    CU_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(rl, "client")));
    CU_ASSERT_EQUAL(num(rl, "max_concurrency"), cap);
    cJSON_Delete(rj);
    free(rdir);

    /* bench compare matches the level by its key */
    const char *cargs[] = {"compare", h5, h5, "--format", "md", NULL};
    char *cout_err = NULL;
    const char *argv[] = {cutest_bench_exe(), cargs[0], cargs[1], cargs[2],
                          cargs[3],           cargs[4], NULL};
    char *cout = NULL;
    rc = cutest_spawn(argv, &cout, &cout_err, 600);
    if (rc != 0)
        fprintf(stderr, "compare: %d %s\n", rc, cout_err ? cout_err : "");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(cout && strstr(cout, "rate 20 req/s"));
    free(cout);
    free(cout_err);
    free(h5);
    free(log);
}

/* Far more offered than the simulator can serve with 2 in flight: every
 * request is still sent (none skipped, all ok) but later and later, and
 * the schedule lag, the level's client warning and the in-flight peak
 * show it. */
static void test_overload(void)
{
    char *h5 = cutest_path(g_dir, "over.h5");
    const char *args[] = {"--model",           "mistral-7b", "--rate",          "200",
                          "--requests",        "100",        "--warmup",        "2",
                          "--max-concurrency", "2",          "--output-tokens", "32",
                          "--output",          h5,           "--json",          "--no-progress",
                          "--no-report",       NULL};
    char *err = NULL;
    cJSON *j = run_bench(args, 0, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* the summary says the client, not the server, set the pace */
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "WARNING: at 200 req/s the client itself"));
    free(err);
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(num(l, "requests_ok"), 100);
    CU_ASSERT_EQUAL(num(l, "requests_failed"), 0);
    CU_ASSERT_EQUAL(num(l, "max_concurrency"), 2);
    double achieved = num(l, "achieved_rate_s");
    fprintf(stderr, "overload: offered 200, achieved %.1f req/s, lag p99 %.0f ms\n", achieved,
            num(cJSON_GetObjectItem(l, "schedule_lag_ms"), "p99"));
    CU_ASSERT(achieved < 100);
    CU_ASSERT(num(cJSON_GetObjectItem(l, "schedule_lag_ms"), "p99") > 200);
    const cJSON *client = cJSON_GetObjectItem(l, "client");
    CU_ASSERT(num(client, "peak_inflight") <= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(str(client, "warning"), "schedule lag p99"));
    CU_ASSERT_PTR_NOT_NULL(strstr(str(client, "warning"), "--max-concurrency 2"));
    cJSON_Delete(j);

    results_level_info info;
    req_record *rows = NULL;
    size_t n = read_level(h5, "r200", &info, &rows);
    CU_ASSERT_EQUAL_FATAL(n, 102); /* nothing skipped */
    CU_ASSERT_EQUAL(info.max_concurrency, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.client.warning, "schedule lag"));
    /* the lag grows along the schedule: the last 20 waited far longer
     * than the first 20 */
    double first = 0, last = 0;
    int all_ok = 1;
    for (size_t i = 0; i < n; i++)
        all_ok &= rows[i].status == 0 && rows[i].t_send_ns >= rows[i].t_sched_ns;
    for (size_t i = 2; i < 22; i++)
        first += (double)(rows[i].t_send_ns - rows[i].t_sched_ns) / 1e6 / 20;
    for (size_t i = n - 20; i < n; i++)
        last += (double)(rows[i].t_send_ns - rows[i].t_sched_ns) / 1e6 / 20;
    fprintf(stderr, "overload: mean lag first 20 %.1f ms, last 20 %.1f ms\n", first, last);
    CU_ASSERT(all_ok);
    CU_ASSERT(last > first + 300);
    free(rows);
    int rc = h5py_check(h5);
    CU_ASSERT(rc == 0 || rc == 77);
    free(h5);
}

/* Contradicting or bad open-loop flags: one line on stderr, exit 2, nothing
 * run. */
static void test_flags(void)
{
    struct {
        const char *a[8];
        const char *says;
    } bad[] = {
        {{"--rate", "1", "--concurrency", "2", NULL}, "--rate and --concurrency"},
        {{"--concurrency", "2", "--rate", "1", NULL}, "--rate and --concurrency"},
        {{"--arrival", "constant", NULL}, "--arrival applies only with --rate"},
        {{"--max-concurrency", "4", NULL}, "--max-concurrency applies only with --rate"},
        {{"--rate", "0", NULL}, "--rate"},
        {{"--rate", "abc", NULL}, "--rate"},
        {{"--rate", "4-1", NULL}, "backwards"},
        {{"--rate", "1,", NULL}, "trailing comma"},
        {{"--rate", "1", "--arrival", "gamma:0", NULL}, "--arrival"},
        {{"--rate", "1", "--arrival", "uniform", NULL}, "--arrival"},
        {{"--rate", "1", "--max-concurrency", "0", NULL}, "--max-concurrency"},
        {{"--rate", "1", "--requests", "10,r3=x", NULL}, "--requests"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[16];
        int k = 0;
        argv[k++] = cutest_bench_exe();
        argv[k++] = "--model";
        argv[k++] = "mistral-7b";
        for (int q = 0; bad[i].a[q]; q++)
            argv[k++] = bad[i].a[q];
        argv[k] = NULL;
        char *out = NULL, *err = NULL;
        int rc = cutest_spawn(argv, &out, &err, 30);
        if (rc != 2 || !err || !strstr(err, bad[i].says))
            fprintf(stderr, "case %zu: exit %d, stderr %s\n", i, rc, err ? err : "");
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, bad[i].says));
        /* one line */
        CU_ASSERT(err && strchr(err, '\n') == err + strlen(err) - 1);
        free(out);
        free(err);
    }
    /* above what the descriptor limit allows: a shell lowers it to 256 */
    const char *sh[] = {"/bin/sh",
                        "-c",
                        "ulimit -n 256 && exec \"$0\" \"$@\"",
                        cutest_bench_exe(),
                        "--model",
                        "mistral-7b",
                        "--rate",
                        "1",
                        "--max-concurrency",
                        "1000",
                        NULL};
    char *err = NULL;
    int rc = cutest_spawn(sh, NULL, &err, 30);
    if (rc != 2)
        fprintf(stderr, "fd limit: exit %d, stderr %s\n", rc, err ? err : "");
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--max-concurrency: 1000"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "ulimit -n"));
    CU_ASSERT(err && strchr(err, '\n') == err + strlen(err) - 1);
    free(err);
    /* --help documents the flags */
    const char *help[] = {cutest_bench_exe(), "--help", NULL};
    char *out = NULL;
    CU_ASSERT_EQUAL(cutest_spawn(help, &out, NULL, 30), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "--rate LIST"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "--arrival"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "--max-concurrency"));
    free(out);
}

/* A constant-arrival sweep of two rates: one group each, in order, gaps of
 * exactly 1/R between intended sends. */
static void test_constant_sweep(void)
{
    char *h5 = cutest_path(g_dir, "sweep.h5");
    const char *args[] = {"--model",         "mistral-7b", "--rate",   "25,12.5",  "--arrival",
                          "constant",        "--requests", "20",       "--warmup", "0",
                          "--output-tokens", "8",          "--output", h5,         "--no-progress",
                          "--no-report",     NULL};
    run_bench(args, 0, 0, NULL);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), 2);
    const double want[2] = {12.5, 25};
    for (size_t li = 0; li < 2; li++) {
        const results_level_info *info = results_file_level(f, li);
        CU_ASSERT_EQUAL(info->level.kind, LEVEL_RATE);
        CU_ASSERT_DOUBLE_EQUAL(info->level.value, want[li], 0);
        CU_ASSERT_STRING_EQUAL(info->arrival, "constant");
        req_record *rows = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL_FATAL(results_read_requests_key(f, info->level, &rows, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, 20);
        int64_t lo = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            lo = rows[i].t_sched_ns < lo ? rows[i].t_sched_ns : lo;
        int exact = 1;
        for (size_t i = 0; i < n; i++)
            exact &=
                rows[i].t_sched_ns - lo == (int64_t)llround(1e9 / want[li] * (double)rows[i].id);
        CU_ASSERT(exact);
        free(rows);
    }
    results_file_close(f);
    free(h5);
}

static CU_TestInfo tests[] = {
    {"rate level: schedule, achieved rate, lag, file, report, compare", test_rate_level},
    {"overload: lag grows, nothing skipped, the client warns", test_overload},
    {"open-loop flags: one-line errors", test_flags},
    {"constant arrivals, two rates", test_constant_sweep},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    g_dir = cutest_tmpdir("rate");
    if (!g_dir)
        return 1;
    return cutest_run("rate", tests);
}
