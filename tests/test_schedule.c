/* Unit tests: the open-loop send schedule (schedule.h) and the level key
 * (level.h): the gaps have the documented mean and spread for each
 * arrival process, a schedule is a function of (seed, rate) alone, and
 * every level has exactly one name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "level.h"
#include "schedule.h"

#define N_DRAWS 100000

/* Mean and coefficient of variation of the gaps of a schedule, in s. */
static void gap_stats(const int64_t *v, size_t n, double *mean_s, double *cv)
{
    double sum = 0, sum2 = 0;
    for (size_t i = 1; i < n; i++) {
        double g = (double)(v[i] - v[i - 1]) / 1e9;
        sum += g;
        sum2 += g * g;
    }
    double m = sum / (double)(n - 1);
    double var = sum2 / (double)(n - 1) - m * m;
    *mean_s = m;
    *cv = var > 0 ? sqrt(var) / m : 0;
}

/* Build a schedule of N_DRAWS + 1 arrivals and check its gaps: mean 1/rate
 * within 2% (100k gaps: the standard error is CV * 0.32%), CV within tol. */
static void check_process(const char *spelling, double rate, double want_cv, double tol)
{
    schedule_arrival a;
    bench_err e;
    int64_t *v = NULL;
    CU_ASSERT_EQUAL_FATAL(schedule_parse_arrival(spelling, "--arrival", &a, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(schedule_arrival_cv(&a), want_cv, 1e-12);
    CU_ASSERT_EQUAL_FATAL(schedule_build(7, rate, &a, N_DRAWS + 1, &v, &e), BENCH_OK);
    CU_ASSERT_EQUAL(v[0], 0);
    int ascending = 1;
    for (size_t i = 1; i <= N_DRAWS; i++)
        ascending &= v[i] >= v[i - 1];
    CU_ASSERT(ascending);
    double mean_s, cv;
    gap_stats(v, N_DRAWS + 1, &mean_s, &cv);
    CU_ASSERT_DOUBLE_EQUAL(mean_s * rate, 1.0, 0.02);
    CU_ASSERT_DOUBLE_EQUAL(cv, want_cv, tol);
    char buf[SCHEDULE_ARRIVAL_MAX];
    CU_ASSERT_STRING_EQUAL(schedule_arrival_format(&a, buf, sizeof buf), spelling);
    free(v);
}

static void test_poisson(void)
{
    check_process("poisson", 20, 1.0, 0.03);
    check_process("poisson", 0.5, 1.0, 0.03);
}

static void test_constant(void)
{
    check_process("constant", 20, 0.0, 1e-6);
    /* exact multiples of 1/R, no accumulated rounding */
    schedule_arrival a = {ARRIVAL_CONSTANT, 0};
    int64_t *v = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(schedule_build(1, 3, &a, 3001, &v, &e), BENCH_OK);
    CU_ASSERT_EQUAL(v[1], 333333333);
    CU_ASSERT_EQUAL(v[3000], 1000000000000LL);
    free(v);
}

static void test_gamma(void)
{
    check_process("gamma:4", 20, 0.5, 0.02);         /* Marsaglia-Tsang, shape >= 1 */
    check_process("gamma:1", 20, 1.0, 0.03);         /* exponential */
    check_process("gamma:0.5", 20, sqrt(2.0), 0.06); /* the shape < 1 boost */
    check_process("gamma:100", 50, 0.1, 0.01);
}

static void test_determinism(void)
{
    schedule_arrival a = {ARRIVAL_POISSON, 1};
    int64_t *x = NULL, *y = NULL, *z = NULL, *w = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(schedule_build(42, 8, &a, 1000, &x, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(schedule_build(42, 8, &a, 1000, &y, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(schedule_build(43, 8, &a, 1000, &z, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(schedule_build(42, 8.5, &a, 1000, &w, &e), BENCH_OK);
    CU_ASSERT(memcmp(x, y, 1000 * sizeof *x) == 0); /* same seed, same schedule */
    CU_ASSERT(memcmp(x, z, 1000 * sizeof *x) != 0); /* another seed */
    /* another level: not the same gaps rescaled */
    int same = 1;
    for (int i = 1; i < 1000; i++)
        same &= llabs(w[i] * 85 / 80 - x[i]) < 1000;
    CU_ASSERT(!same);
    /* a prefix of a longer schedule is the shorter one */
    int64_t *longer = NULL;
    CU_ASSERT_EQUAL_FATAL(schedule_build(42, 8, &a, 5000, &longer, &e), BENCH_OK);
    CU_ASSERT(memcmp(x, longer, 1000 * sizeof *x) == 0);
    free(x);
    free(y);
    free(z);
    free(w);
    free(longer);
}

static void test_arrival_errors(void)
{
    schedule_arrival a;
    bench_err e;
    const char *bad[] = {"",         "poison",  "gamma",     "gamma:",   "gamma:0",
                         "gamma:-1", "gamma:x", "gamma:1e9", "gamma:2s", "Poisson"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(schedule_parse_arrival(bad[i], "--arrival", &a, &e), BENCH_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--arrival"));
        CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
    }
    int64_t *v = NULL;
    CU_ASSERT_EQUAL(schedule_build(1, 0, &a, 10, &v, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NULL(v);
}

static void test_level_names(void)
{
    char buf[LEVEL_NAME_MAX];
    CU_ASSERT_STRING_EQUAL(level_format(level_conc(8), buf, sizeof buf), "c8");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(2.5), buf, sizeof buf), "r2.5");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(20), buf, sizeof buf), "r20");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(0.1), buf, sizeof buf), "r0.1");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(0.001), buf, sizeof buf), "r0.001");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(100000), buf, sizeof buf), "r100000");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(1.0 / 3.0), buf, sizeof buf),
                           "r0.3333333333333333");
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(0), buf, sizeof buf), "?");
    CU_ASSERT_STRING_EQUAL(level_label(level_rate(2.5), buf, sizeof buf), "2.5 req/s");
    CU_ASSERT_STRING_EQUAL(level_label(level_conc(8), buf, sizeof buf), "c=8");

    /* round trip, and one name per level */
    const char *good[] = {"c1", "c8", "c64", "r1", "r2.5", "r0.001", "r100000", "r123456.7"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        level_key k;
        if (strcmp(good[i], "r123456.7") == 0) {
            CU_ASSERT_EQUAL(level_parse(good[i], &k), -1); /* above LEVEL_RATE_MAX */
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(level_parse(good[i], &k), 0);
        CU_ASSERT_STRING_EQUAL(level_format(k, buf, sizeof buf), good[i]);
    }
    const char *bad[] = {"",    "c",     "r",   "c0",      "c08",    "c1.5", "r2.50",
                         "r02", "r1e3",  "r-1", "r0",      "r.5",    "r5.",  "rinf",
                         "x8",  "r0x10", "c 8", "r0.0001", "r2.5.1", "C8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        level_key k;
        CU_ASSERT_EQUAL(level_parse(bad[i], &k), -1);
    }
}

static void test_level_order(void)
{
    CU_ASSERT(level_cmp(level_conc(2), level_conc(16)) < 0);
    CU_ASSERT(level_cmp(level_conc(64), level_rate(0.5)) < 0);
    CU_ASSERT(level_cmp(level_rate(0.5), level_rate(2)) < 0);
    CU_ASSERT(level_cmp(level_rate(2), level_conc(2)) > 0);
    CU_ASSERT(level_eq(level_rate(2), level_rate(2)));
    CU_ASSERT(!level_eq(level_rate(2), level_conc(2)));
    CU_ASSERT_EQUAL(level_concurrency(level_conc(8)), 8);
    CU_ASSERT_EQUAL(level_concurrency(level_rate(8)), 0);
}

static void test_client_warning(void)
{
    level_client c = {.present = 1,
                      .threads = 2,
                      .cores = 2,
                      .wall_s = 10,
                      .cpu_s = 1,
                      .cpu_busiest = 0.1,
                      .process_cpu_s = 2,
                      .loop_lag_p50_ms = 0.05,
                      .loop_lag_p99_ms = 0.4,
                      .loop_lag_max_ms = 3,
                      .peak_inflight = 4};
    stats_dist lag = {.n = 100, .p99 = 0.3};
    level_client_judge(&c, &lag, 1024);
    CU_ASSERT_STRING_EQUAL(c.warning, "");
    c.loop_lag_p99_ms = 1.5;
    level_client_judge(&c, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.warning, "event-loop lag p99 1.50 ms"));
    c.loop_lag_p99_ms = 0.4;
    c.cpu_busiest = 0.95;
    level_client_judge(&c, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.warning, "busiest worker thread at 95%"));
    c.cpu_busiest = 0.1;
    c.process_cpu_s = 19; /* 19 s of 2 cores x 10 s */
    level_client_judge(&c, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.warning, "process CPU 95%"));
    c.process_cpu_s = 2;
    lag.p99 = 250;
    level_client_judge(&c, NULL, 0); /* closed loop: lag is not judged */
    CU_ASSERT_STRING_EQUAL(c.warning, "");
    c.peak_inflight = 2;
    level_client_judge(&c, &lag, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.warning, "schedule lag p99 250.00 ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.warning, "--max-concurrency 2"));
}

static CU_TestInfo tests[] = {
    {"poisson: mean 1/R, CV 1", test_poisson},
    {"constant: gaps exactly 1/R", test_constant},
    {"gamma: mean 1/R, CV 1/sqrt(shape)", test_gamma},
    {"a function of seed and rate", test_determinism},
    {"bad arrivals", test_arrival_errors},
    {"level names: one per level", test_level_names},
    {"level order", test_level_order},
    {"client warning thresholds", test_client_warning},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("schedule", tests);
}
