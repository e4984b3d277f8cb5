/* Integration tests: `bench search` on the embedded simulator. Latencies on
 * a shared 2-core machine are noisy, so the knee itself is not asserted;
 * what is: the answer agrees with the probes recorded (the highest passing
 * load, the failing one above it, the stopping rule), every probe is a level
 * of the results file with the metrics the verdict was drawn from, the
 * search's path follows the stated rule, and bad flags are one line, exit 2. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "level.h"
#include "results_read.h"

static char *g_dir;

/* Run bench search with args (NULL-terminated) and --json into out.h5;
 * returns the exit status, the parsed JSON in *json (caller deletes). */
static int search(const char *out, const char *const *args, cJSON **json, char **err_text)
{
    const char *argv[48];
    int n = 0;
    char catalog[1024];
    snprintf(catalog, sizeof catalog, "%s/suites/models.json", cutest_root());
    argv[n++] = cutest_bench_exe();
    argv[n++] = "search";
    argv[n++] = "--model";
    argv[n++] = "mistral-7b";
    argv[n++] = "--catalog";
    argv[n++] = catalog;
    argv[n++] = "--output";
    argv[n++] = out;
    argv[n++] = "--no-report";
    argv[n++] = "--json";
    argv[n++] = "--warmup";
    argv[n++] = "1";
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *o = NULL, *e = NULL;
    int code = cutest_spawn(argv, &o, &e, 600);
    *json = o ? cJSON_Parse(o) : NULL;
    if (code != 0 && code != 2)
        fprintf(stderr, "bench search exit %d: %s\n", code, e ? e : "");
    if (err_text)
        *err_text = e;
    else
        free(e);
    free(o);
    return code;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The probes' levels in order, and checks shared by every search: the
 * file's root attribute equals the printed search, and holds one level per
 * probe. */
static int probes(const char *path, const cJSON *s, level_key *keys, int *pass, int max)
{
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(s, "levels");
    int n = cJSON_GetArraySize(levels);
    CU_ASSERT_FATAL(n <= max);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(path, &f, &e), BENCH_OK);
    const char *attr = results_file_attr(f, "search");
    CU_ASSERT_PTR_NOT_NULL_FATAL(attr);
    cJSON *fa = cJSON_Parse(attr);
    CU_ASSERT_TRUE(cJSON_Compare(fa, s, 1));
    cJSON_Delete(fa);
    CU_ASSERT_EQUAL(results_file_level_count(f), (size_t)n);
    for (int i = 0; i < n; i++) {
        const cJSON *l = cJSON_GetArrayItem(levels, i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(l, "level");
        CU_ASSERT_FATAL(cJSON_IsString(name) && level_parse(name->valuestring, &keys[i]) == 0);
        pass[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l, "pass"));
        int found = 0; /* the file lists its levels in key order */
        for (size_t q = 0; q < results_file_level_count(f); q++)
            found += level_eq(results_file_level(f, q)->level, keys[i]);
        CU_ASSERT_EQUAL(found, 1);
    }
    results_file_close(f);
    return n;
}

static void test_by_concurrency(void)
{
    char *out = cutest_path(g_dir, "conc.h5");
    /* A TPOT limit the simulator crosses somewhere past a few streams. */
    const char *args[] = {"--slo", "tpot_p50=2ms", "--requests", "24", "--max", "64", NULL};
    cJSON *j = NULL;
    CU_ASSERT_EQUAL_FATAL(search(out, args, &j, NULL), 0);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "search");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    level_key k[64];
    int pass[64];
    int n = probes(out, s, k, pass, 64);
    CU_ASSERT(n >= 2);
    double best = num(s, "best"), fail = num(s, "first_fail");
    /* the stated path: 1, 2, 4, ... while passing, then bisection */
    CU_ASSERT_DOUBLE_EQUAL(k[0].value, 1, 0);
    int i = 1;
    while (i < n && pass[i - 1] && k[i].value == 2 * k[i - 1].value)
        i++;
    double lo = NAN, hi = NAN;
    for (int q = 0; q < n; q++) {
        CU_ASSERT_EQUAL(k[q].kind, LEVEL_CONCURRENCY);
        /* after the doubling, each probe lies strictly inside the bracket
         * the earlier probes made */
        if (q >= i) {
            CU_ASSERT(isnan(lo) || k[q].value > lo);
            CU_ASSERT(isnan(hi) || k[q].value < hi);
        }
        if (pass[q] && (isnan(lo) || k[q].value > lo))
            lo = k[q].value;
        if (!pass[q] && (isnan(hi) || k[q].value < hi))
            hi = k[q].value;
    }
    /* the answer is the probes' own bracket, closed to adjacent levels */
    if (isnan(lo)) {
        CU_ASSERT_TRUE(isnan(best));
    } else {
        CU_ASSERT_DOUBLE_EQUAL(best, lo, 0);
    }
    if (!isnan(hi) && !isnan(lo)) {
        CU_ASSERT_DOUBLE_EQUAL(fail, hi, 0);
        CU_ASSERT_DOUBLE_EQUAL(hi - lo, 1, 0);
    }
    CU_ASSERT(lo < hi || isnan(hi) || isnan(lo));
    cJSON_Delete(j);
    free(out);
}

static void test_edges_and_rate(void)
{
    cJSON *j = NULL;
    level_key k[16];
    int pass[16];
    /* nothing can meet a 1 us TTFT: one probe, no answer, still exit 0 */
    char *out = cutest_path(g_dir, "none.h5");
    const char *none[] = {"--slo", "ttft_p50=1us", "--requests", "4", NULL};
    CU_ASSERT_EQUAL_FATAL(search(out, none, &j, NULL), 0);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "search");
    CU_ASSERT_EQUAL(probes(out, s, k, pass, 16), 1);
    CU_ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "best")));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(cJSON_GetObjectItemCaseSensitive(s, "stopped")->valuestring, "lowest"));
    cJSON_Delete(j);
    free(out);

    /* everything meets a 100 s limit: 1, 2, 4 and the answer is --max */
    out = cutest_path(g_dir, "all.h5");
    const char *all[] = {"--slo", "e2e_p99=100s", "--requests", "8", "--max", "4", NULL};
    CU_ASSERT_EQUAL_FATAL(search(out, all, &j, NULL), 0);
    s = cJSON_GetObjectItemCaseSensitive(j, "search");
    CU_ASSERT_EQUAL_FATAL(probes(out, s, k, pass, 16), 3);
    CU_ASSERT_DOUBLE_EQUAL(k[2].value, 4, 0);
    CU_ASSERT_DOUBLE_EQUAL(num(s, "best"), 4, 0);
    cJSON_Delete(j);
    free(out);

    /* by rate: open-loop levels r2, r4, r8, all passing */
    out = cutest_path(g_dir, "rate.h5");
    const char *rate[] = {"--slo", "e2e_p99=100s", "--by", "rate",      "--start",  "2", "--max",
                          "8",     "--requests",   "10",   "--arrival", "constant", NULL};
    CU_ASSERT_EQUAL_FATAL(search(out, rate, &j, NULL), 0);
    s = cJSON_GetObjectItemCaseSensitive(j, "search");
    CU_ASSERT_EQUAL_FATAL(probes(out, s, k, pass, 16), 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(k[i].kind, LEVEL_RATE);
        CU_ASSERT_DOUBLE_EQUAL(k[i].value, 2 << i, 0);
        CU_ASSERT_TRUE(pass[i]);
    }
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(s, "by")->valuestring, "rate");
    cJSON_Delete(j);
    free(out);
}

static void test_bad_flags(void)
{
    static const char *const cases[][4] = {
        {"--slo", "ttft_p99=1ms", "--concurrency", "4"},
        {"--slo", "ttft_p99=1ms", "--rate", "4"},
        {"--slo", "ttft_p98=1ms", NULL, NULL},
        {"--requests", "4", NULL, NULL},
        {"--slo", "ttft_p99=1ms", "--by", "speed"},
        {"--slo", "ttft_p99=1ms", "--start", "1.5"},
        {"--slo", "ttft_p99=1ms", "--precision", "5"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const char *args[5] = {cases[c][0], cases[c][1], cases[c][2], cases[c][3], NULL};
        char *out = cutest_path(g_dir, "bad.h5"), *err = NULL;
        cJSON *j = NULL;
        CU_ASSERT_EQUAL(search(out, args, &j, &err), 2);
        /* one line, naming the problem */
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err) {
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "bench search: "));
            CU_ASSERT_EQUAL(strchr(err, '\n'), err + strlen(err) - 1);
        }
        cJSON_Delete(j);
        free(err);
        free(out);
    }
}

static CU_TestInfo tests[] = {
    {"by concurrency: the answer is the probes' bracket", test_by_concurrency},
    {"no load passes, every load passes, by rate", test_edges_and_rate},
    {"bad flags: one line, exit 2", test_bad_flags},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    g_dir = cutest_tmpdir("search");
    int rc = cutest_run("search_run", tests);
    free(g_dir);
    return rc;
}
