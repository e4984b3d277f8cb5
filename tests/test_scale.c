/* Integration test: one bench process keeps 1,024 streams in flight at once
 * against the embedded simulator (issue 7: "one process sustains at least
 * 1,024 concurrent streams"), every request accounted for and successful,
 * and the level records the client's self-measurement with a peak of 1,024
 * in flight. Figures (CPU, event-loop lag) are not asserted: they belong to
 * benchmarks/run-all, not to a test on a shared machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cutest.h"
#include "level.h"
#include "results_read.h"

static void test_1024_streams(void)
{
    /* a descriptor per stream in bench and in the simulator, and spare */
    struct rlimit rl;
    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
        rl.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    CU_ASSERT_FATAL(rl.rlim_cur >= 2200); /* the machine must allow the test at all */
    char *dir = cutest_tmpdir("scale");
    char *out = cutest_path(dir, "c1024.h5");
    char catalog[1024];
    snprintf(catalog, sizeof catalog, "%s/suites/models.json", cutest_root());
    const char *argv[] = {cutest_bench_exe(),
                          "--model",
                          "mistral-7b",
                          "--catalog",
                          catalog,
                          "--concurrency",
                          "1024",
                          "--requests",
                          "2048",
                          "--warmup",
                          "0",
                          "--output-tokens",
                          "16",
                          "--input-tokens",
                          "32",
                          "--output",
                          out,
                          "--no-report",
                          "--no-progress",
                          NULL};
    char *err = NULL;
    int code = cutest_spawn(argv, NULL, &err, 600);
    if (code != 0)
        fprintf(stderr, "bench exit %d: %s\n", code, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(code, 0);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(out, &f, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), 1);
    const results_level_info *li = results_file_level(f, 0);
    CU_ASSERT_EQUAL(level_concurrency(li->level), 1024);
    CU_ASSERT_EQUAL(li->requests_ok, 2048);
    CU_ASSERT_EQUAL(li->requests_failed, 0);
    CU_ASSERT_TRUE(li->client.present);
    CU_ASSERT_EQUAL(li->client.peak_inflight, 1024);
    CU_ASSERT(li->client.threads >= 1);
    CU_ASSERT(li->client.cpu_s > 0);
    CU_ASSERT(li->client.loop_lag_p99_ms >= 0);
    /* every request recorded once, each with its 16 chunks */
    req_record *rows = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(results_read_requests_key(f, li->level, &rows, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2048);
    char *seen = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(rows[i].status, REQ_OK);
        CU_ASSERT_EQUAL(rows[i].chunk_count, 16);
        if (rows[i].id < n)
            seen[rows[i].id]++;
    }
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    free(seen);
    free(rows);
    results_file_close(f);
    free(err);
    free(out);
    free(dir);
}

/* --busy-poll: the worker spins (its thread's CPU is the whole wall time)
 * and the run says so, without calling its own spinning a bottleneck. */
static void test_busy_poll(void)
{
    char *dir = cutest_tmpdir("busypoll");
    char *out = cutest_path(dir, "bp.h5");
    char catalog[1024];
    snprintf(catalog, sizeof catalog, "%s/suites/models.json", cutest_root());
    const char *argv[] = {cutest_bench_exe(),
                          "--model",
                          "mistral-7b",
                          "--catalog",
                          catalog,
                          "--concurrency",
                          "4",
                          "--requests",
                          "24",
                          "--threads",
                          "1",
                          "--busy-poll",
                          "--output",
                          out,
                          "--no-report",
                          "--no-progress",
                          NULL};
    CU_ASSERT_EQUAL_FATAL(cutest_spawn(argv, NULL, NULL, 300), 0);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(out, &f, &e), BENCH_OK);
    const char *cfg = results_file_attr(f, "config");
    CU_ASSERT_PTR_NOT_NULL(cfg && strstr(cfg, "\"busy_poll\":true"));
    const results_level_info *li = results_file_level(f, 0);
    CU_ASSERT_EQUAL(li->requests_ok, 24);
    /* spinning: the thread was on its core nearly all the level */
    CU_ASSERT(li->client.cpu_busiest > 0.5);
    CU_ASSERT_PTR_NULL(strstr(li->client.warning, "worker thread"));
    CU_ASSERT_PTR_NULL(strstr(li->client.warning, "process CPU"));
    results_file_close(f);
    free(out);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"1,024 streams in flight from one process", test_1024_streams},
    {"--busy-poll: the worker spins, and is not called a bottleneck for it", test_busy_poll},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("scale", tests);
}
