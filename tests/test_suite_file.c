/* Unit tests: suite files and endpoint maps checked before anything runs
 * (suite_check_text, docs/SUITES.md): every refusal is one line naming the
 * file and the member, and `bench suite` exits with status 2 for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "suite.h"

/* Write text to a fresh file under the test directory; caller frees. */
static char *write_tmp(const char *name, const char *text)
{
    char *dir = cutest_tmpdir("suite_file");
    char *path = cutest_path(dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    free(dir);
    return path;
}

/* suite_check_text's status for json (and map text, or NULL), its message
 * in msg. */
static bench_status check(const char *json, const char *map, bench_err *e)
{
    char *mpath = map ? write_tmp("map.json", map) : NULL;
    e->msg[0] = '\0';
    bench_status st = suite_check_text(json, "s.json", mpath, e);
    if (st) {
        CU_ASSERT_PTR_NULL(strchr(e->msg, '\n'));
        fprintf(stderr, "  (%s)\n", e->msg);
    }
    free(mpath);
    return st;
}

#define SUITE(models, extra) "{\"format\": \"bench-suite\", \"models\": " models extra "}"

static void test_valid(void)
{
    bench_err e;
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\", \"gemma-7b\"]", ""), NULL, &e), BENCH_OK);
    /* any name, given an endpoint */
    CU_ASSERT_EQUAL(check(SUITE("[\"my-model\"]", ""), "{\"my-model\": \"http://h:8000/v1\"}", &e),
                    BENCH_OK);
    /* concurrency as a list or a single level */
    CU_ASSERT_EQUAL(
        check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"concurrency\": \"1,2,4\"}"), NULL, &e),
        BENCH_OK);
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"concurrency\": 8}"), NULL, &e),
                    BENCH_OK);
}

/* Open loop in a suite: "rate" (a list or one rate) with "arrival" and
 * "max_concurrency"; with "concurrency", or the two without "rate", refused. */
static void test_rate(void)
{
    bench_err e;
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"rate\": \"1,2.5\", "
                                                    "\"arrival\": \"gamma:2\", "
                                                    "\"max_concurrency\": 64}"),
                          NULL, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"rate\": 2.5}"), NULL, &e),
                    BENCH_OK);
    const char *bad[][2] = {
        {", \"run\": {\"rate\": 2, \"concurrency\": 8}", "exclude each other"},
        {", \"run\": {\"arrival\": \"poisson\"}", "\"arrival\""},
        {", \"run\": {\"max_concurrency\": 4}", "\"max_concurrency\" goes with \"rate\""},
        {", \"run\": {\"rate\": \"0\"}", "rate"},
        {", \"run\": {\"rate\": 2, \"arrival\": \"gamma:0\"}", "arrival"},
        {", \"run\": {\"rate\": true}", "\"rate\" must be"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"format\": \"bench-suite\", \"models\": [\"mistral-7b\"]%s}",
                 bad[i][0]);
        CU_ASSERT_EQUAL(check(json, NULL, &e), BENCH_EINPUT);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: run"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i][1]));
    }
}

static void test_refused(void)
{
    bench_err e;
    CU_ASSERT_EQUAL(check(SUITE("[\"nosuch\"]", ""), NULL, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: models[0]: 'nosuch' is not in the catalog"));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ""), "{\"mistral-7b\": \"notaurl\"}", &e),
                    BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "\"mistral-7b\": endpoint: 'notaurl' is not an http"));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ""), "{\"other\": \"http://h/v1\"}", &e),
                    BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is not a model of suite"));
    CU_ASSERT_EQUAL(
        check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"concurrency\": true}"), NULL, &e),
        BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: run: \"concurrency\" must be"));
    CU_ASSERT_EQUAL(
        check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"concurrency\": \"0-4\"}"), NULL, &e),
        BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "0 is out of range"));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]",
                                ", \"evaluations\": [{\"eval\": \"mtbench\", \"judge_endpoint\": "
                                "\"ftp://judge\", \"judge_model\": \"gpt-4\"}]"),
                          NULL, &e),
                    BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "evaluations[0]: judge_endpoint: 'ftp://judge'"));
    CU_ASSERT_EQUAL(check("{\"format\": \"bench-suite\", \"models\": [\"a/b\"]}", NULL, &e),
                    BENCH_EINPUT);
    /* a misspelt member is refused, not ignored (the default would run) */
    CU_ASSERT_EQUAL(
        check(SUITE("[\"mistral-7b\"]", ", \"run\": {\"concurency\": \"1-8\"}"), NULL, &e),
        BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: run: unknown member \"concurency\" (known: "));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"modle\": 1"), NULL, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: unknown member \"modle\""));
    CU_ASSERT_EQUAL(
        check(SUITE("[\"mistral-7b\"]", ", \"evaluations\": [{\"eval\": \"mmlu\", \"limt\": 5}]"),
              NULL, &e),
        BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "evaluations[0]: unknown member \"limt\""));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"report\": {\"steady\": 0.1}"), NULL, &e),
                    BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "s.json: report: unknown member \"steady\""));
    CU_ASSERT_EQUAL(check(SUITE("[\"mistral-7b\"]", ", \"run\": [1]"), NULL, &e), BENCH_EINPUT);
    /* a map that cannot be read is a bad flag */
    CU_ASSERT_EQUAL(
        suite_check_text(SUITE("[\"mistral-7b\"]", ""), "s.json", "/nonexistent/map.json", &e),
        BENCH_EUSAGE);
}

/* The command: status 2 and nothing run for a bad suite or a missing file. */
static void test_exit_status(void)
{
    char *bad = write_tmp("bad.json", SUITE("[\"nosuch\"]", ""));
    char *argv1[] = {"suite", bad, NULL};
    CU_ASSERT_EQUAL(suite_main(2, argv1), 2);
    char *argv2[] = {"suite", "/nonexistent/suite.json", NULL};
    CU_ASSERT_EQUAL(suite_main(2, argv2), 2);
    free(bad);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"valid suites pass", test_valid},
        {"open loop: rate, arrival, cap", test_rate},
        {"bad suites and maps are refused in one line", test_refused},
        {"bench suite exits 2 before running", test_exit_status},
        CU_TEST_INFO_NULL,
    };
    return cutest_run("suite_file", tests);
}
