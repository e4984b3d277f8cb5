/* Unit tests: the simulated endpoint's latency model (simmodel) and the
 * --faults spec validator. No server involved. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cutest.h"
#include "rng.h"
#include "sim.h"
#include "simmodel.h"
#include "status.h"

static catalog *g_cat;

static const catalog_model *model(const char *name)
{
    if (!g_cat) {
        char path[4096];
        bench_err e;
        snprintf(path, sizeof path, "%s/suites/models.json", cutest_root());
        if (catalog_load(path, &g_cat, &e)) {
            fprintf(stderr, "catalog: %s\n", e.msg);
            return NULL;
        }
    }
    return catalog_find(g_cat, name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The empirical quantile of sorted v (nearest rank). */
static double quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

static void test_ttft_quantiles(void)
{
    const catalog_model *cm = model("mistral-7b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
    simmodel m;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(simmodel_init(&m, cm, 1.0, &e), BENCH_OK);
    enum { N = 200000 };
    double *v = malloc(N * sizeof *v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    rng r;
    rng_seed(&r, 42, 0);
    double sum = 0;
    for (size_t i = 0; i < N; i++) {
        v[i] = simmodel_ttft(&m, &r, 1);
        sum += v[i];
    }
    qsort(v, N, sizeof *v, cmp_double);
    double p50 = quantile(v, N, 0.50) * 1000, p99 = quantile(v, N, 0.99) * 1000;
    CU_ASSERT(fabs(p50 / 35.0 - 1) < 0.02);
    CU_ASSERT(fabs(p99 / 79.0 - 1) < 0.02);
    /* The closed-form calibration relies on the mean, so check it too. */
    CU_ASSERT(fabs(sum / N / m.ttft_mean_s - 1) < 0.01);
    CU_ASSERT_DOUBLE_EQUAL(simmodel_ttft_mean(&m, 1), m.ttft_mean_s, 1e-15);
    free(v);
}

/* throughput = c * N / (E[TTFT_c] + (N - 1) * t(c)) must give back the catalog's
 * closed-loop figures, for every model in the catalog. */
static void test_closed_form_identity(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(model("mistral-7b"));
    for (size_t i = 0; i < catalog_count(g_cat); i++) {
        const catalog_model *cm = catalog_at(g_cat, i);
        simmodel m;
        bench_err e;
        CU_ASSERT_EQUAL_FATAL(simmodel_init(&m, cm, 1.0, &e), BENCH_OK);
        double n = cm->sim.calib_output_tokens;
        double tps1 = 1 * n / (simmodel_ttft_mean(&m, 1) + (n - 1) * simmodel_tpot(&m, 1));
        double tps8 = 8 * n / (simmodel_ttft_mean(&m, 8) + (n - 1) * simmodel_tpot(&m, 8));
        CU_ASSERT(fabs(tps1 / cm->sim.tps_c1 - 1) < 1e-9);
        CU_ASSERT(fabs(tps8 / cm->sim.tps_c8 - 1) < 1e-9);
        CU_ASSERT(m.tpot1_s > 0 && m.tpot8_s > 0);
    }
}

static void test_tpot_linear(void)
{
    const catalog_model *cm = model("mistral-7b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
    simmodel m;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(simmodel_init(&m, cm, 1.0, &e), BENCH_OK);
    double t1 = m.tpot1_s, t8 = m.tpot8_s;
    CU_ASSERT_DOUBLE_EQUAL(simmodel_tpot(&m, 1), t1, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(simmodel_tpot(&m, 8), t8, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(simmodel_tpot(&m, 4), t1 + (t8 - t1) * 3 / 7, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(simmodel_tpot(&m, 64), t1 + (t8 - t1) * 63 / 7, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(simmodel_tpot(&m, 0), t1, 1e-15);
    /* TTFT grows by load_factor per extra stream. */
    CU_ASSERT_DOUBLE_EQUAL(simmodel_ttft_mean(&m, 8), m.ttft_mean_s * (1 + 7 * m.load_factor),
                           1e-15);
    rng a, b;
    rng_seed(&a, 9, 3);
    rng_seed(&b, 9, 3);
    double x1 = simmodel_ttft(&m, &a, 1), x5 = simmodel_ttft(&m, &b, 5);
    CU_ASSERT(fabs(x5 / x1 - (1 + 4 * m.load_factor)) < 1e-12);
}

static void test_slowdown(void)
{
    const catalog_model *cm = model("mistral-7b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
    simmodel m1, m2;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(simmodel_init(&m1, cm, 1.0, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(simmodel_init(&m2, cm, 1.25, &e), BENCH_OK);
    rng a, b;
    rng_seed(&a, 5, 0);
    rng_seed(&b, 5, 0);
    for (int i = 0; i < 1000; i++) {
        int active = 1 + i % 20;
        double x = simmodel_ttft(&m1, &a, active), y = simmodel_ttft(&m2, &b, active);
        CU_ASSERT(fabs(y / x - 1.25) < 1e-12);
    }
    for (int active = 1; active <= 32; active++) {
        CU_ASSERT(fabs(simmodel_tpot(&m2, active) / simmodel_tpot(&m1, active) - 1.25) < 1e-12);
        CU_ASSERT(fabs(simmodel_ttft_mean(&m2, active) / simmodel_ttft_mean(&m1, active) - 1.25) <
                  1e-12);
    }
    CU_ASSERT_EQUAL(simmodel_init(&m2, cm, 0.0, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(simmodel_init(&m2, cm, -1.0, &e), BENCH_EUSAGE);
}

static void test_infeasible(void)
{
    const catalog_model *cm = model("mistral-7b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
    catalog_model bad = *cm;
    simmodel m;
    bench_err e = {""};
    /* 128 tokens cannot come out at 5000 tok/s when TTFT alone averages
     * 37 ms: that leaves no time to decode. */
    bad.sim.tps_c1 = 5000;
    bad.sim.tps_c8 = 20000;
    CU_ASSERT_EQUAL(simmodel_init(&m, &bad, 1.0, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mistral-7b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "tps_c1"));
    bad = *cm;
    bad.sim.tps_c8 = 40000;
    e.msg[0] = '\0';
    CU_ASSERT_EQUAL(simmodel_init(&m, &bad, 1.0, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mistral-7b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "tps_c8"));
}

static void test_faults_spec(void)
{
    bench_err e;
    const char *good[] = {
        NULL,
        "",
        "http500=0.1",
        "http500=0.1,http503=0.1,http429=0.1,midstream_error=0.1,no_done=0.1,reset=0.1,stall=0.1",
        "stall=0.1:2",
        "stall=0.5:0.25, http500@3",
        "http500@0,reset@7,stall@2:0.3",
        "http500=1",
        "malformed_json=0.1,non_json=0.1,oversized_line=0.1,invalid_utf8=0.1,dup_usage=0.1,"
        "no_usage=0.1,slow_first_byte=0.1:2",
        "slow_first_byte@0:0.3,http429@1:5,http429@2",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        e.msg[0] = '\0';
        CU_ASSERT_EQUAL(sim_faults_check(good[i], &e), BENCH_OK);
        if (e.msg[0])
            fprintf(stderr, "unexpected: %s\n", e.msg);
    }
    struct {
        const char *spec, *named;
    } bad[] = {
        {"bogus=0.1", "bogus=0.1"},
        {"http500=1.5", "http500=1.5"},
        {"http500=-0.1", "http500=-0.1"},
        {"http500=abc", "abc"},
        {"http500@x", "http500@x"},
        {"http500@-1", "http500@-1"},
        {"http500=0.1:2", "http500=0.1:2"},
        {"stall=0.1:x", "stall=0.1:x"},
        {"http500=0.6,reset=0.6", "reset=0.6"},
        {"http500@1,reset@1", "reset@1"},
        {"http500", "http500"},
        {"http500=0.1,midstream", "midstream"},
        {"invalid_utf8=0.1:2", "invalid_utf8=0.1:2"},
        {"slow_first_byte@1:-1", "slow_first_byte@1:-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        CU_ASSERT_EQUAL(sim_faults_check(bad[i].spec, &e), BENCH_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i].named));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--faults"));
    }
}

static CU_TestInfo tests[] = {
    {"TTFT p50/p99 of 200k draws match the catalog", test_ttft_quantiles},
    {"closed-form calibration reproduces tps_c1/tps_c8", test_closed_form_identity},
    {"tpot is linear in active streams", test_tpot_linear},
    {"slowdown multiplies every latency", test_slowdown},
    {"infeasible profile rejected", test_infeasible},
    {"--faults spec validation", test_faults_spec},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = cutest_run("simmodel", tests);
    catalog_destroy(g_cat);
    return rc;
}
