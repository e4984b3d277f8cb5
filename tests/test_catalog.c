/* Unit tests: the model catalog (the shipped file and malformed ones). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cutest.h"

static void test_shipped_catalog(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/suites/models.json", cutest_root());
    catalog *c;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(catalog_load(path, &c, &e), BENCH_OK);
    const char *names[] = {"mistral-7b", "llama3-8b",   "llama31-8b",    "mixtral-8x7b",
                           "llama3-70b", "llama31-70b", "codellama-13b", "gemma-7b"};
    CU_ASSERT_EQUAL(catalog_count(c), 8);
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_PTR_NOT_NULL(catalog_find(c, names[i]));
    const catalog_model *m = catalog_find(c, "mistral-7b");
    CU_ASSERT_DOUBLE_EQUAL(m->published.ttft_p50_ms, 35, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m->published.ttft_p99_ms, 79, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m->published.tps_c1, 1560, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m->published.tps_c8, 4820, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m->published.mmlu, 62.5, 1e-9);
    m = catalog_find(c, "mixtral-8x7b");
    CU_ASSERT_DOUBLE_EQUAL(m->published.ttft_p50_ms, 74, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m->published.ttft_p99_ms, 163, 1e-9);
    CU_ASSERT(isnan(m->published.tps_c8));
    CU_ASSERT_EQUAL(m->context, 32768);
    CU_ASSERT_EQUAL(catalog_find(c, "codellama-13b")->context, 16384);
    CU_ASSERT_EQUAL(catalog_find(c, "gemma-7b")->context, 8192);
    CU_ASSERT_EQUAL(catalog_find(c, "llama31-70b")->context, 131072);
    CU_ASSERT_DOUBLE_EQUAL(catalog_find(c, "llama3-70b")->published.humaneval, 50.4, 1e-9);
    CU_ASSERT_EQUAL(catalog_find(c, "llama3-8b")->sim.calib_output_tokens, 128);
    CU_ASSERT_PTR_NULL(catalog_find(c, "gpt-5"));
    char *all = catalog_names(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(all, "gemma-7b"));
    free(all);
    catalog_destroy(c);
}

static void expect_bad(const char *json, const char *needle)
{
    catalog *c = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(catalog_parse(json, "t.json", &c, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NULL(c);
    if (!strstr(e.msg, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", e.msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, needle));
}

#define SIM "\"sim\":{\"ttft_p50_ms\":1,\"ttft_p99_ms\":2,\"tps_c1\":10,\"tps_c8\":20}"

static void test_bad_catalogs(void)
{
    expect_bad("{", "t.json: not valid JSON");
    expect_bad("{\"models\": []}", "non-empty array");
    expect_bad("{\"models\": [{\"served_id\": \"x\"}]}", "models[0]: \"name\"");
    expect_bad("{\"models\": [{\"name\": \"a\", \"served_id\": \"x\", \"context\": -1, "
               "\"params_b\": 1, " SIM "}]}",
               "model \"a\": \"context\"");
    expect_bad("{\"models\": [{\"name\": \"a\", \"served_id\": \"x\", \"context\": 10, "
               "\"params_b\": 1}]}",
               "model \"a\": sim");
    expect_bad("{\"models\": [{\"name\": \"a\", \"served_id\": \"x\", \"context\": 10, "
               "\"params_b\": 1, \"sim\":{\"ttft_p50_ms\":5,\"ttft_p99_ms\":2,\"tps_c1\":10,"
               "\"tps_c8\":20}}]}",
               "ttft_p50_ms <= ttft_p99_ms");
    expect_bad("{\"models\": [{\"name\": \"a\", \"served_id\": \"x\", \"context\": 10, "
               "\"params_b\": 1, " SIM "}, {\"name\": \"a\", \"served_id\": \"y\", "
               "\"context\": 10, \"params_b\": 1, " SIM "}]}",
               "listed twice");
    catalog *c;
    bench_err e;
    CU_ASSERT_EQUAL(catalog_load("/nonexistent/models.json", &c, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/models.json"));
}

static CU_TestInfo tests[] = {
    {"shipped catalog", test_shipped_catalog},
    {"malformed catalogs", test_bad_catalogs},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("catalog", tests);
}
