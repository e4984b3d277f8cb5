/* Unit tests: the SLO search's parser, its pass/fail rule, and the
 * bracketing search against synthetic servers whose capacity is known. */
#include <math.h>
#include <string.h>

#include "cutest.h"
#include "search.h"

static void test_parse(void)
{
    search_slo slo;
    bench_err e;
    CU_ASSERT_EQUAL(search_parse_slo("ttft_p99=100ms,tpot_p50=0.05s,itl_p999=800us", &slo, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(slo.n, 3);
    CU_ASSERT_EQUAL(slo.lim[0].metric, SEARCH_TTFT);
    CU_ASSERT_DOUBLE_EQUAL(slo.lim[0].q, 99, 0);
    CU_ASSERT_DOUBLE_EQUAL(slo.lim[0].limit_ms, 100, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(slo.lim[1].limit_ms, 50, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(slo.lim[2].q, 99.9, 0);
    CU_ASSERT_DOUBLE_EQUAL(slo.lim[2].limit_ms, 0.8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(slo.max_error_rate, 0.01, 1e-12);
    CU_ASSERT_EQUAL(search_parse_slo("e2e_p90=2s,errors=5%", &slo, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(slo.max_error_rate, 0.05, 1e-12);
    static const char *bad[] = {
        "",          "ttft=100ms",           "ttft_p98=1ms",  "foo_p99=1ms",
        "ttft_p99",  "ttft_p99=100",         "ttft_p99=-1ms", "ttft_p99=0ms",
        "errors=5%", "ttft_p99=1ms,errors=5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CU_ASSERT_EQUAL(search_parse_slo(bad[i], &slo, &e), BENCH_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--slo"));
    }
}

static void test_meets(void)
{
    search_slo slo;
    bench_err e;
    char why[128];
    CU_ASSERT_EQUAL_FATAL(search_parse_slo("ttft_p99=100ms,tpot_p99=50ms", &slo, &e), BENCH_OK);
    level_metrics m;
    memset(&m, 0, sizeof m);
    m.n_ok = 10;
    m.n_measured = 10;
    m.ttft_ms.p99 = 99;
    m.tpot_ms.p99 = 50;
    CU_ASSERT_TRUE(search_meets(&slo, &m, why, sizeof why));
    m.ttft_ms.p99 = 100.5;
    CU_ASSERT_FALSE(search_meets(&slo, &m, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ttft_p99"));
    m.ttft_ms.p99 = 10;
    m.tpot_ms.p99 = NAN; /* no request long enough: unknown is not met */
    CU_ASSERT_FALSE(search_meets(&slo, &m, why, sizeof why));
    m.tpot_ms.p99 = 1;
    m.error_rate = 0.02;
    CU_ASSERT_FALSE(search_meets(&slo, &m, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "error rate"));
    m.error_rate = 0;
    m.n_ok = 0;
    CU_ASSERT_FALSE(search_meets(&slo, &m, why, sizeof why));
}

/* Drive a search against a server that meets the SLO exactly up to
 * capacity; returns the probes made, the loads in probed[]. */
static int drive(const search_opts *o, double capacity, search_result *r, double *probed)
{
    search *s;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(search_create(o, &s, &e), BENCH_OK);
    double load;
    int n = 0;
    while (search_next(s, &load)) {
        CU_ASSERT_FATAL(n < 64);
        probed[n++] = load;
        search_observe(s, load, load <= capacity);
    }
    search_get_result(s, r);
    search_destroy(s);
    return n;
}

static void test_concurrency(void)
{
    search_opts o = {SEARCH_BY_CONCURRENCY, 1, 1024, 1, 0.05, 30};
    search_result r;
    double p[64];
    /* every capacity from 1 to 300: the exact answer, in O(log) probes */
    for (int cap = 1; cap <= 300; cap++) {
        int n = drive(&o, cap, &r, p);
        CU_ASSERT_DOUBLE_EQUAL(r.best, cap, 0);
        CU_ASSERT_DOUBLE_EQUAL(r.first_fail, cap + 1, 0);
        CU_ASSERT(n <= 2 * 10 + 1);
        for (int i = 0; i < n; i++)
            CU_ASSERT(p[i] >= 1 && p[i] <= 1024 && p[i] == floor(p[i]));
    }
    int n = drive(&o, 0.5, &r, p); /* nothing passes */
    CU_ASSERT_TRUE(isnan(r.best));
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.stopped, "lowest"));
    drive(&o, 5000, &r, p); /* the axis limit passes */
    CU_ASSERT_DOUBLE_EQUAL(r.best, 1024, 0);
    CU_ASSERT_TRUE(isnan(r.first_fail));
    search_opts tight = o;
    tight.max_probes = 3;
    n = drive(&tight, 100, &r, p);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.stopped, "budget"));
}

static void test_rate(void)
{
    search_opts o = {SEARCH_BY_RATE, 4, 10000, 4.0 / 1024, 0.05, 40};
    search_result r;
    double p[64];
    static const double caps[] = {0.01, 0.5, 3.3, 4, 17.25, 123.4, 9999};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        drive(&o, caps[i], &r, p);
        if (caps[i] < o.min) {
            CU_ASSERT_TRUE(isnan(r.best));
            continue;
        }
        /* the stopping rule: a passing load within 5% of the first failure */
        CU_ASSERT(r.best <= caps[i]);
        CU_ASSERT(r.first_fail > caps[i]);
        CU_ASSERT(r.first_fail - r.best <= 0.05 * r.best + 1e-9);
    }
    search_opts bad = o;
    bad.precision = 0;
    search *s;
    bench_err e;
    CU_ASSERT_EQUAL(search_create(&bad, &s, &e), BENCH_EUSAGE);
}

static CU_TestInfo tests[] = {
    {"--slo parsing and errors", test_parse},
    {"pass/fail rule", test_meets},
    {"by concurrency: exact answer", test_concurrency},
    {"by rate: within precision", test_rate},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("search", tests);
}
