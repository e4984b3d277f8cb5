/* test_suite_ttft.c - the report's TTFT table, reproduced on the embedded
 * endpoint, lands within sampling error of the published figures.
 *
 * `bench suite` runs every catalog model with published TTFT at concurrency
 * 1 (300 measured requests each) and writes the report; its JSON gives each
 * model's TTFT p50 and p99. The simulator draws TTFT from a lognormal fitted
 * to the published p50/p99, so the sampling error of an empirical quantile
 * is known: SE(ln q_p) = sqrt(p (1 - p) / n) / phi(z_p) * sigma, with sigma =
 * ln(p99 / p50) / z_0.99. Each measured quantile must be within 4 standard
 * errors of the published one (the run is seeded, so the test is
 * deterministic; 4 SE makes it hold for any seed with overwhelming
 * probability, not only this one). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cutest.h"
#include "fileio.h"

#define N_REQ 300

static double phi(double z)
{
    return exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

static void test_ttft_within_sampling_error(void)
{
    char *tmp = cutest_tmpdir("suite-ttft");
    char suite[4096], out[4096], cat_path[4096];
    bench_err e;
    catalog *cat = NULL;
    CU_ASSERT_EQUAL_FATAL(
        catalog_load(file_in_root("suites/models.json", cat_path, sizeof cat_path), &cat, &e),
        BENCH_OK);
    /* The models whose TTFT the report published. */
    char models[2048] = "";
    for (size_t i = 0; i < catalog_count(cat); i++) {
        const catalog_model *m = catalog_at(cat, i);
        if (isnan(m->published.ttft_p50_ms) || isnan(m->published.ttft_p99_ms))
            continue;
        size_t l = strlen(models);
        snprintf(models + l, sizeof models - l, "%s\"%s\"", l ? ", " : "", m->name);
    }
    snprintf(suite, sizeof suite, "%s/ttft.json", tmp);
    FILE *f = fopen(suite, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f,
            "{\"format\": \"bench-suite\", \"version\": 1, \"name\": \"ttft\",\n"
            " \"run\": {\"concurrency\": \"1\", \"requests\": %d, \"warmup\": 4,\n"
            "         \"input_tokens\": 256, \"output_tokens\": 4, \"seed\": 11},\n"
            " \"models\": [%s], \"evaluations\": []}\n",
            N_REQ, models);
    fclose(f);
    snprintf(out, sizeof out, "%s/out", tmp);
    const char *argv[] = {cutest_bench_exe(), "suite", suite, "--out", out, "--json", NULL};
    char *so = NULL, *se = NULL;
    int rc = cutest_spawn(argv, &so, &se, 900);
    if (rc)
        fprintf(stderr, "%s\n", se ? se : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cJSON *j = cJSON_Parse(so);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "models"), *m;
    int checked = 0;
    cJSON_ArrayForEach(m, ms)
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(m, "model")->valuestring;
        const catalog_model *cm = catalog_find(cat, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
        const cJSON *lv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "levels"), 0);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(lv, "ttft_ms");
        double p50 = cJSON_GetObjectItemCaseSensitive(t, "p50")->valuedouble;
        double p99 = cJSON_GetObjectItemCaseSensitive(t, "p99")->valuedouble;
        double n = cJSON_GetObjectItemCaseSensitive(t, "count")->valuedouble;
        double pub50 = cm->published.ttft_p50_ms, pub99 = cm->published.ttft_p99_ms;
        double sigma = log(pub99 / pub50) / 2.326348;
        double se50 = sqrt(0.5 * 0.5 / n) / phi(0) * sigma;
        double se99 = sqrt(0.99 * 0.01 / n) / phi(2.326348) * sigma;
        double z50 = log(p50 / pub50) / se50, z99 = log(p99 / pub99) / se99;
        fprintf(stderr,
                "%-14s n=%.0f p50 %.1f ms (published %.0f, %+.1f%%, %+.2f SE)  p99 %.1f ms "
                "(published %.0f, %+.1f%%, %+.2f SE)\n",
                name, n, p50, pub50, 100 * (p50 / pub50 - 1), z50, p99, pub99,
                100 * (p99 / pub99 - 1), z99);
        CU_ASSERT_EQUAL(n, N_REQ);
        CU_ASSERT(fabs(z50) < 4);
        CU_ASSERT(fabs(z99) < 4);
        checked++;
    }
    CU_ASSERT_EQUAL(checked, 6);
    cJSON_Delete(j);
    free(so);
    free(se);
    catalog_destroy(cat);
    free(tmp);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"TTFT at c=1 within sampling error of the published figures",
         test_ttft_within_sampling_error},
        CU_TEST_INFO_NULL,
    };
    return cutest_run("suite_ttft", tests);
}
