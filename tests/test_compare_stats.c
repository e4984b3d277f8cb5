/* Unit tests of bench compare's statistics and writers (harness/compare.h):
 * McNemar's exact p-values against hand-computed binomial sums, the
 * bootstrap interval's reproducibility and coverage on synthetic lognormal
 * data, thresholds-file errors, XML escaping, and the shape of the Markdown
 * and JUnit output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "cutest.h"
#include "fileio.h"
#include "rng.h"

static void test_mcnemar(void)
{
    /* 2 * sum_{i <= min(b,c)} C(b+c, i) / 2^(b+c), capped at 1 */
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(0, 5), 2.0 / 32, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(5, 0), 2.0 / 32, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(1, 9), 22.0 / 1024, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(3, 7), 352.0 / 1024, 1e-14);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(10, 0), 2.0 / 1024, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(4, 4), 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(0, 0), 1.0, 0);
    /* larger n, summed in log space: 2 * P(Bin(60, 1/2) <= 20) */
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(20, 40), 0.01348929373119186, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(compare_mcnemar_p(2, 51) / 3.1796787425264483e-13, 1.0, 1e-9);
}

static void lognormal_sample(double *v, size_t n, double scale, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * rng_lognormal(&r, log(35.0), 0.35);
}

static void test_bootstrap_reproducible(void)
{
    double x[300], y[300], lo1, hi1, lo2, hi2, lo3, hi3;
    bench_err e;
    lognormal_sample(x, 300, 1.0, 1);
    lognormal_sample(y, 300, 1.25, 2);
    CU_ASSERT_EQUAL(compare_bootstrap_pctl(x, 300, y, 300, 50, 0.95, 1000, 42, &lo1, &hi1, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(compare_bootstrap_pctl(x, 300, y, 300, 50, 0.95, 1000, 42, &lo2, &hi2, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(compare_bootstrap_pctl(x, 300, y, 300, 50, 0.95, 1000, 43, &lo3, &hi3, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(lo1, lo2); /* same seed: the very same numbers */
    CU_ASSERT_EQUAL(hi1, hi2);
    CU_ASSERT(lo1 != lo3 || hi1 != hi3);
    CU_ASSERT(lo1 < 0.25 && 0.25 < hi1);
    CU_ASSERT(lo1 > 0); /* a 25% shift on 300 samples is plain to see */
    /* NAN entries are skipped; an empty side gives no interval */
    y[3] = NAN;
    CU_ASSERT_EQUAL(compare_bootstrap_pctl(x, 300, y, 300, 50, 0.95, 200, 1, &lo1, &hi1, &e),
                    BENCH_OK);
    CU_ASSERT(isfinite(lo1) && isfinite(hi1));
    CU_ASSERT_EQUAL(compare_bootstrap_pctl(x, 0, y, 300, 50, 0.95, 200, 1, &lo1, &hi1, &e),
                    BENCH_OK);
    CU_ASSERT(isnan(lo1) && isnan(hi1));
}

/* Coverage: over 40 independent synthetic baseline/candidate pairs whose true
 * p50 and p90 differ by exactly +20%, the 90% intervals hold +20% about 90%
 * of the time. The data are seeded: the count is the same on every run. */
static void test_bootstrap_coverage(void)
{
    enum { N = 250, REPS = 40 };
    double x[N], y[N], lo, hi;
    bench_err e;
    int cover50 = 0, cover90 = 0, zero_excluded = 0;
    for (int k = 0; k < REPS; k++) {
        lognormal_sample(x, N, 1.0, 1000 + 2 * (uint64_t)k);
        lognormal_sample(y, N, 1.2, 1001 + 2 * (uint64_t)k);
        CU_ASSERT_EQUAL_FATAL(
            compare_bootstrap_pctl(x, N, y, N, 50, 0.90, 500, (unsigned)k, &lo, &hi, &e), BENCH_OK);
        cover50 += lo <= 0.2 && 0.2 <= hi;
        zero_excluded += lo > 0;
        CU_ASSERT_EQUAL_FATAL(
            compare_bootstrap_pctl(x, N, y, N, 90, 0.90, 500, (unsigned)k, &lo, &hi, &e), BENCH_OK);
        cover90 += lo <= 0.2 && 0.2 <= hi;
    }
    printf("\n  90%% interval coverage of the true +20%%: p50 %d/%d, p90 %d/%d; "
           "zero excluded (p50) %d/%d\n",
           cover50, REPS, cover90, REPS, zero_excluded, REPS);
    CU_ASSERT(cover50 >= 32); /* expected 36; binomial 5th percentile 33 */
    CU_ASSERT(cover90 >= 32);
    CU_ASSERT(zero_excluded >= 30);
    /* no difference: zero is inside nearly always */
    int holds_zero = 0;
    for (int k = 0; k < REPS; k++) {
        lognormal_sample(x, N, 1.0, 5000 + 2 * (uint64_t)k);
        lognormal_sample(y, N, 1.0, 5001 + 2 * (uint64_t)k);
        CU_ASSERT_EQUAL_FATAL(
            compare_bootstrap_pctl(x, N, y, N, 50, 0.90, 500, (unsigned)k, &lo, &hi, &e), BENCH_OK);
        holds_zero += lo <= 0 && 0 <= hi;
    }
    CU_ASSERT(holds_zero >= 32);
}

static char *g_dir;

static char *write_tmp(const char *name, const char *text)
{
    char *p = cutest_path(g_dir, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loading text must fail with BENCH_EINPUT and a message naming the file
 * and containing want. */
static void expect_bad(const char *text, const char *want)
{
    char *p = write_tmp("bad.json", text);
    compare_thresholds t;
    bench_err e = {{0}};
    CU_ASSERT_EQUAL(compare_thresholds_load(p, &t, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, p));
    if (!strstr(e.msg, want))
        printf("\n  message '%s' lacks '%s'\n", e.msg, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, want));
    free(p);
}

static void test_thresholds(void)
{
    compare_thresholds t, d;
    bench_err e;
    compare_thresholds_default(&d);
    CU_ASSERT_DOUBLE_EQUAL(d.alpha, 0.05, 0);
    char *p = write_tmp("ok.json", "{\"format\":\"bench-thresholds\",\"version\":1,\"alpha\":0.01,"
                                   "\"slo\":\"ttft=200ms\",\"metrics\":{\"ttft_p99\":{\"rel\":0.3},"
                                   "\"mmlu\":{\"abs\":0.05}}}");
    CU_ASSERT_EQUAL_FATAL(compare_thresholds_load(p, &t, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(t.alpha, 0.01, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.threshold[CMP_TTFT_P99], 0.3, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.threshold[CMP_MMLU], 0.05, 0);
    CU_ASSERT_DOUBLE_EQUAL(t.threshold[CMP_TTFT_P50], d.threshold[CMP_TTFT_P50], 0);
    CU_ASSERT_STRING_EQUAL(t.slo, "ttft=200ms");
    free(p);

    expect_bad("{\"format\":", "not valid JSON");
    expect_bad("[1]", "not a JSON object");
    expect_bad("{\"format\":\"other\",\"version\":1}", "format");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":2}", "version");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"alpha\":1.5}", "alpha");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"alfa\":0.1}", "alfa");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"metrics\":{\"ttft_p95\":"
               "{\"rel\":0.1}}}",
               "metrics.ttft_p95");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"metrics\":{\"ttft_p50\":"
               "{\"abs\":5}}}",
               "metrics.ttft_p50");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"metrics\":{\"mmlu\":"
               "{\"rel\":0.02}}}",
               "metrics.mmlu");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"metrics\":{\"error_rate\":"
               "{\"abs\":-1}}}",
               "metrics.error_rate.abs");
    expect_bad("{\"format\":\"bench-thresholds\",\"version\":1,\"slo\":\"ttft=fast\"}", "slo");

    bench_err e2 = {{0}};
    CU_ASSERT_EQUAL(compare_thresholds_load("/nonexistent/thresholds.json", &t, &e2), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e2.msg, "/nonexistent/thresholds.json"));

    /* the shipped file holds exactly the built-in defaults */
    char buf[4096];
    const char *shipped = file_in_root("suites/thresholds.json", buf, sizeof buf);
    CU_ASSERT_EQUAL_FATAL(compare_thresholds_load(shipped, &t, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(t.alpha, d.alpha, 0);
    for (int m = 0; m < CMP_METRIC_COUNT; m++) {
        if (t.threshold[m] != d.threshold[m])
            printf("\n  %s: file %g, built-in %g\n", compare_metric_key((compare_metric)m),
                   t.threshold[m], d.threshold[m]);
        CU_ASSERT_DOUBLE_EQUAL(t.threshold[m], d.threshold[m], 0);
    }
}

static char *render_to_string(void (*fn)(FILE *, const void *), const void *arg)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    fn(f, arg);
    fclose(f);
    return s;
}

static void escape_fn(FILE *f, const void *arg)
{
    compare_xml_escape(arg, f);
}

static void test_xml_escape(void)
{
    char *s = render_to_string(escape_fn, "a<b>&\"c'\x01\td\n\x7f"
                                          "é");
    CU_ASSERT_STRING_EQUAL(s, "a&lt;b&gt;&amp;&quot;c&apos;\xEF\xBF\xBD\td\n\xEF\xBF\xBD"
                              "é");
    free(s);
}

/* A hand-built result: two groups, one regression, one n/a, a model name
 * with characters Markdown and XML must escape. */
static void make_result(compare_result *r)
{
    memset(r, 0, sizeof *r);
    r->baseline = strdup("base<1>.h5");
    r->candidate = strdup("cand&2.h5");
    r->thresholds = strdup("built-in defaults");
    r->alpha = 0.05;
    r->family = 3;
    r->level = 1 - 0.05 / 3;
    r->resamples = 100;
    r->seed = 1;
    r->n_rows = 4;
    r->rows = calloc(4, sizeof *r->rows);
    const char *models[4] = {"m|x\"<y>", "m|x\"<y>", "m|x\"<y>", "m|x\"<y>"};
    const char *scopes[4] = {"c1", "c1", "c1", "mmlu"};
    compare_metric ms[4] = {CMP_TTFT_P50, CMP_OUTPUT_TPS, CMP_GOODPUT, CMP_MMLU};
    compare_verdict vs[4] = {CMP_REGRESSION, CMP_UNCHANGED, CMP_NA, CMP_IMPROVEMENT};
    for (int i = 0; i < 4; i++) {
        compare_row *w = &r->rows[i];
        w->model = strdup(models[i]);
        w->scope = strdup(scopes[i]);
        w->metric = ms[i];
        w->base = 10;
        w->cand = 12.5;
        w->change = 0.25;
        w->lo = 0.1;
        w->hi = 0.4;
        w->p = NAN;
        w->threshold = 0.1;
        w->method = "bootstrap";
        w->n_base = w->n_cand = 100;
        w->verdict = vs[i];
    }
    r->rows[2].base = r->rows[2].cand = r->rows[2].change = NAN;
    r->counts = (compare_counts){1, 1, 1, 3};
    r->n_notes = 1;
    r->notes = calloc(1, sizeof *r->notes);
    r->notes[0] = strdup("only in the baseline: m c8 (a&b.h5)");
}

static char *write_fmt(const compare_result *r, compare_format fmt)
{
    char *s = NULL;
    size_t n = 0;
    bench_err e;
    FILE *f = open_memstream(&s, &n);
    CU_ASSERT_EQUAL(compare_write(r, fmt, f, &e), BENCH_OK);
    fclose(f);
    return s;
}

/* '|' not preceded by a backslash */
static int count_pipes(const char *line, size_t len)
{
    int k = 0;
    for (size_t i = 0; i < len; i++)
        k += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return k;
}

static size_t count_str(const char *s, const char *needle)
{
    size_t k = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

static void test_markdown_shape(void)
{
    compare_result r;
    make_result(&r);
    char *md = write_fmt(&r, CMP_MD);
    /* two groups: each a heading, a header row, a separator row, then rows
     * of exactly 6 cells (7 unescaped pipes) */
    CU_ASSERT_EQUAL(count_str(md, "\n### "), 2);
    CU_ASSERT_EQUAL(count_str(md, "| metric | baseline | candidate | change | CI | verdict |\n"
                                  "|---|---:|---:|---:|---|---|\n"),
                    2);
    int table_lines = 0;
    for (const char *line = md; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[0] == '|') {
            table_lines++;
            CU_ASSERT_EQUAL(count_pipes(line, len), 7);
        }
        line = nl ? nl + 1 : line + len;
    }
    CU_ASSERT_EQUAL(table_lines, 2 * 2 + 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "m\\|x")); /* the model's pipe escaped */
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| **regression** |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "## bench compare: REGRESSION"));
    free(md);
    compare_result_free(&r);
}

static void test_junit_shape(void)
{
    compare_result r;
    make_result(&r);
    char *x = write_fmt(&r, CMP_JUNIT);
    CU_ASSERT_EQUAL(strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 51), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "tests=\"4\" failures=\"1\""));
    CU_ASSERT_EQUAL(count_str(x, "<testsuite "), 2);
    CU_ASSERT_EQUAL(count_str(x, "</testsuite>"), 2);
    CU_ASSERT_EQUAL(count_str(x, "<testcase "), 4);
    CU_ASSERT_EQUAL(count_str(x, "<failure "), 1);
    CU_ASSERT_EQUAL(count_str(x, "<skipped "), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "classname=\"m|x&quot;&lt;y&gt;.c1\" name=\"ttft_p50\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "value=\"base&lt;1&gt;.h5\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(x, "(a&amp;b.h5)"));
    CU_ASSERT_PTR_NULL(strstr(x, "<y>")); /* nothing unescaped */
    free(x);
    char *j = write_fmt(&r, CMP_JSON);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"result\":\"regression\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"baseline\":null")); /* NAN as null */
    free(j);
    compare_result_free(&r);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"McNemar exact p-values", test_mcnemar},
        {"bootstrap interval is reproducible", test_bootstrap_reproducible},
        {"bootstrap interval covers the true change", test_bootstrap_coverage},
        {"thresholds file and its errors", test_thresholds},
        {"XML escaping", test_xml_escape},
        {"Markdown table shape", test_markdown_shape},
        {"JUnit and JSON shape", test_junit_shape},
        CU_TEST_INFO_NULL,
    };
    g_dir = cutest_tmpdir("compare_stats");
    int rc = cutest_run("compare_stats", tests);
    free(g_dir);
    return rc;
}
