/* test_eval.c - `bench eval` end to end on the embedded simulator: prompt
 * building, request sending, parsing and scoring, the evaluation file, and
 * the report's quality table. The simulator answers right with a known
 * probability, so each score must land within its binomial (or normal)
 * confidence interval; with the played figure forced to 100 or 0 the score
 * must be exact. */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "evalres.h"
#include "fileio.h"

static char *g_tmp;

/* Run bench eval with args (NULL-terminated, after "eval"), --json; returns
 * the parsed summary (caller deletes) or NULL, with rc set. */
static cJSON *run_eval(const char *const *args, int *rc, char **errout)
{
    const char *argv[48];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    argv[n++] = "eval";
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "--json";
    argv[n++] = "--no-progress";
    argv[n] = NULL;
    char *out = NULL, *err = NULL;
    *rc = cutest_spawn(argv, &out, &err, 600);
    cJSON *o = out ? cJSON_Parse(out) : NULL;
    if (*rc != 0 || !o)
        fprintf(stderr, "bench eval rc=%d\nstdout: %.2000s\nstderr: %.4000s\n", *rc, out ? out : "",
                err ? err : "");
    free(out);
    if (errout)
        *errout = err;
    else
        free(err);
    return o;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_mmlu_exact(void)
{
    /* Played at 100%: every letter right, through logprobs on completions. */
    char *p = cutest_path(g_tmp, "mmlu100.h5");
    const char *a[] = {"mmlu",          "--model",  "mistral-7b", "--limit", "2",
                       "--sim-quality", "mmlu=100", "--output",   p,         NULL};
    int rc;
    cJSON *o = run_eval(a, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(o, "eval")->valuestring, "mmlu");
    CU_ASSERT_EQUAL(num(o, "n"), 114); /* 2 per subject */
    CU_ASSERT_EQUAL(num(o, "micro"), 1.0);
    CU_ASSERT_EQUAL(num(o, "macro"), 1.0);
    CU_ASSERT_EQUAL(num(o, "no_logprobs"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(o, "method")->valuestring, "logprobs");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(o, "endpoint_kind")->valuestring,
                           "simulated");
    cJSON_Delete(o);

    /* The file: one row per item, letters parsed, scores 1. */
    evalres_item *it = NULL;
    size_t n = 0;
    bench_err e;
    bench_status rst = evalres_read_items(p, &it, &n, &e);
    if (rst)
        fprintf(stderr, "%s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(rst, BENCH_OK);
    CU_ASSERT_EQUAL(n, 114);
    CU_ASSERT_STRING_EQUAL(it[0].id, "abstract_algebra/0");
    CU_ASSERT_STRING_EQUAL(it[0].group, "abstract_algebra");
    CU_ASSERT_STRING_EQUAL(it[0].parsed, "B"); /* the README's spot check: answer B */
    CU_ASSERT_EQUAL(strlen(it[0].prompt_sha256), 64);
    CU_ASSERT_EQUAL(it[0].score, 1.0);
    CU_ASSERT(it[0].ttft_ms > 0);
    evalres_items_free(it, n);
    free(p);

    /* Played at 0%: never right. */
    const char *b[] = {"mmlu",          "--model", "mistral-7b", "--limit",        "1",
                       "--sim-quality", "mmlu=0",  "--output",   "/dev/null/x.h5", NULL};
    char *err = NULL;
    o = run_eval(b, &rc, &err);
    /* an unwritable output fails before any request, naming the path */
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "/dev/null/x.h5"));
    free(err);
    cJSON_Delete(o);
    p = cutest_path(g_tmp, "mmlu0.h5");
    const char *c[] = {"mmlu",          "--model", "mistral-7b", "--limit", "1",
                       "--sim-quality", "mmlu=0",  "--output",   p,         NULL};
    o = run_eval(c, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(num(o, "micro"), 0.0);
    cJSON_Delete(o);
    free(p);
}

static void test_mmlu_methods_chat(void)
{
    /* Generative and chain-of-thought scoring over the chat API. */
    const char *methods[] = {"generative", "cot", "logprobs"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "mmlu-%s.h5", methods[i]);
        char *p = cutest_path(g_tmp, name);
        const char *a[] = {"mmlu",     "--model",  "llama3-8b", "--api", "chat",
                           "--method", methods[i], "--limit",   "1",     "--sim-quality",
                           "mmlu=100", "--output", p,           NULL};
        int rc;
        cJSON *o = run_eval(a, &rc, NULL);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(num(o, "micro"), 1.0);
        CU_ASSERT_EQUAL(num(o, "shots"), strcmp(methods[i], "cot") == 0 ? 0 : 5);
        cJSON_Delete(o);
        free(p);
    }
}

static void test_mmlu_binomial(void)
{
    /* mixtral-8x7b plays 70.6%: 20 items per subject (1140), the micro
     * accuracy within 3.29 standard errors (99.9%). */
    char *p = cutest_path(g_tmp, "mmlu-mixtral.h5");
    const char *a[] = {"mmlu", "--model", "mixtral-8x7b", "--limit", "20", "--output", p, NULL};
    int rc;
    cJSON *o = run_eval(a, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double n = num(o, "n"), micro = num(o, "micro"), p0 = 0.706;
    double se = sqrt(p0 * (1 - p0) / n);
    fprintf(stderr, "mmlu mixtral: n=%.0f micro=%.4f macro=%.4f (played %.3f, se %.4f)\n", n, micro,
            num(o, "macro"), p0, se);
    CU_ASSERT_EQUAL(n, 1140);
    CU_ASSERT(fabs(micro - p0) < 3.29 * se);
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(o, "categories");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cats), 4);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "subjects")), 57);
    cJSON_Delete(o);
    free(p);
}

static void test_humaneval(void)
{
    /* 164 problems played at 40.2% pass@1, each completion run in the
     * sandbox: pass@1 within 3.29 standard errors. */
    char *p = cutest_path(g_tmp, "he-mixtral.h5");
    const char *a[] = {"humaneval", "--model", "mixtral-8x7b", "--output", p, NULL};
    int rc;
    cJSON *o = run_eval(a, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double n = num(o, "n"), p1 = num(o, "pass@1"), p0 = 0.402;
    double se = sqrt(p0 * (1 - p0) / n);
    fprintf(stderr, "humaneval mixtral: pass@1=%.4f (played %.3f, se %.4f), timed_out %.0f\n", p1,
            p0, se, num(o, "timed_out"));
    CU_ASSERT_EQUAL(n, 164);
    CU_ASSERT(fabs(p1 - p0) < 3.29 * se);
    CU_ASSERT_EQUAL(num(o, "passed") + num(o, "failed") + num(o, "timed_out"), 164);
    CU_ASSERT(isnan(num(o, "pass@10"))); /* one sample: no pass@10 */
    cJSON_Delete(o);

    evalres_item *it = NULL;
    size_t ni = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(evalres_read_items(p, &it, &ni, &e), BENCH_OK);
    CU_ASSERT_EQUAL(ni, 164);
    CU_ASSERT_STRING_EQUAL(it[0].id, "HumanEval/0#0");
    size_t passed = 0;
    for (size_t i = 0; i < ni; i++) {
        passed += strcmp(it[i].parsed, "passed") == 0;
        CU_ASSERT(it[i].score == (strcmp(it[i].parsed, "passed") == 0));
    }
    CU_ASSERT(passed > 0 && passed < 164);
    evalres_items_free(it, ni);
    free(p);

    /* Chat models reply with a fenced full function: extraction path. At
     * 100% every problem passes; 3 samples give pass@1 and no pass@10. */
    p = cutest_path(g_tmp, "he-chat.h5");
    const char *b[] = {
        "humaneval", "--model", "codellama-13b", "--api",         "chat",     "--limit", "20",
        "--samples", "3",       "--sim-quality", "humaneval=100", "--output", p,         NULL};
    o = run_eval(b, &rc, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(num(o, "pass@1"), 1.0);
    CU_ASSERT_EQUAL(num(o, "samples"), 3);
    CU_ASSERT_EQUAL(num(o, "passed"), 60);
    cJSON_Delete(o);
    free(p);
}

static void test_mtbench(void)
{
    /* 80 questions x 2 turns, judged by the simulator around 8.30. */
    char *p = cutest_path(g_tmp, "mt-mixtral.h5");
    const char *a[] = {"mtbench", "--model", "mixtral-8x7b", "--output", p, NULL};
    int rc;
    cJSON *o = run_eval(a, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    double s = num(o, "score");
    fprintf(stderr, "mtbench mixtral: score=%.3f turn1=%.3f turn2=%.3f rated=%.0f\n", s,
            num(o, "turn1"), num(o, "turn2"), num(o, "rated"));
    CU_ASSERT_EQUAL(num(o, "n"), 80);
    CU_ASSERT_EQUAL(num(o, "rated"), 160);
    CU_ASSERT_EQUAL(num(o, "unrated"), 0);
    /* ratings: a two-point draw plus +-1 noise, sd < 0.8, 160 of them */
    CU_ASSERT(fabs(s - 8.30) < 3.29 * 0.8 / sqrt(160));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "categories")), 8);
    cJSON_Delete(o);

    evalres_item *it = NULL;
    size_t ni = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(evalres_read_items(p, &it, &ni, &e), BENCH_OK);
    CU_ASSERT_EQUAL(ni, 160);
    CU_ASSERT_STRING_EQUAL(it[0].id, "81/1");
    CU_ASSERT_STRING_EQUAL(it[1].id, "81/2");
    CU_ASSERT_STRING_EQUAL(it[0].group, "writing");
    CU_ASSERT_PTR_NOT_NULL(strstr(it[0].response, "simulated"));
    CU_ASSERT_PTR_NOT_NULL(strstr(it[0].judge, "[["));
    CU_ASSERT(it[0].score >= 1 && it[0].score <= 10);
    evalres_items_free(it, ni);
    free(p);
}

static void test_report_quality(void)
{
    /* Evaluation files beside a load run fill the quality table. */
    char *dir = cutest_path(g_tmp, "reportdir");
    char *load = cutest_path(g_tmp, "reportdir/llama3-8b-load.h5");
    char *mm = cutest_path(g_tmp, "reportdir/llama3-8b-mmlu.h5");
    char *out = cutest_path(g_tmp, "reportdir-out");
    int rc;
    const char *r[] = {cutest_bench_exe(),
                       "--model",
                       "llama3-8b",
                       "--concurrency",
                       "1",
                       "--requests",
                       "5",
                       "--warmup",
                       "0",
                       "--no-report",
                       "--no-progress",
                       "--output",
                       load,
                       NULL};
    rc = cutest_spawn(r, NULL, NULL, 120);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const char *a[] = {"mmlu",          "--model",  "llama3-8b", "--limit", "1",
                       "--sim-quality", "mmlu=100", "--output",  mm,        NULL};
    cJSON *o = run_eval(a, &rc, NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cJSON_Delete(o);
    const char *rep[] = {cutest_bench_exe(), "report", dir, "--out", out, "--no-plots", NULL};
    char *se = NULL;
    rc = cutest_spawn(rep, NULL, &se, 120);
    if (rc)
        fprintf(stderr, "%s\n", se ? se : "");
    free(se);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    char mdp[4096];
    snprintf(mdp, sizeof mdp, "%s/report.md", out);
    char *md = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(mdp, 1 << 22, &md, NULL, &e), BENCH_OK);
    /* measured 100.0 (sim) beside published 66.6: +33.4 points */
    CU_ASSERT_PTR_NOT_NULL(
        strstr(md, "| llama3-8b | 100.0 (sim) |  |  | 66.6 | 33.0 | 7.10 | +33.4 | - | - |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "mmlu evaluation of llama3-8b"));
    free(md);
    free(dir);
    free(load);
    free(mm);
    free(out);
}

static void test_interrupted(void)
{
    /* SIGINT in the middle of the full MMLU test set: exit 130, and the file
     * holds every item, the unsent ones as cancelled, the summary marked. */
    char *p = cutest_path(g_tmp, "mmlu-int.h5");
    const char *argv[] = {
        cutest_bench_exe(), "eval",     "mmlu", "--model", "llama3-70b", "--concurrency", "4",
        "--no-progress",    "--output", p,      NULL};
    pid_t pid;
    extern char **environ;
    CU_ASSERT_EQUAL_FATAL(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ), 0);
    sleep(3);
    kill(pid, SIGINT);
    int ws = 0;
    waitpid(pid, &ws, 0);
    CU_ASSERT(WIFEXITED(ws) && WEXITSTATUS(ws) == 130);
    evalres_item *it = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(evalres_read_items(p, &it, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 14042);
    size_t scored = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        scored += it[i].parsed[0] != 0;
        cancelled += it[i].status == 12; /* REQ_CANCELLED */
    }
    fprintf(stderr, "interrupted mmlu: %zu scored, %zu cancelled of %zu\n", scored, cancelled, n);
    CU_ASSERT(scored > 10 && scored < n);
    CU_ASSERT(cancelled > 0);
    evalres_items_free(it, n);
    char *buf = NULL;
    CU_ASSERT_EQUAL(file_read_all(p, 1 << 26, &buf, NULL, &e), BENCH_OK);
    free(buf);
    free(p);
}

static void test_bad_input(void)
{
    struct {
        const char *args[12];
        int rc;
        const char *msg;
    } cases[] = {
        {{"nosuch", "--model", "mistral-7b", NULL}, 2, "unknown evaluation 'nosuch'"},
        {{"mmlu", NULL}, 2, "--model is required"},
        {{"mmlu", "--model", "mistral-7b", "--method", "vibes", NULL}, 2, "--method: 'vibes'"},
        {{"mmlu", "--model", "mistral-7b", "--shots", "9", NULL}, 2, "--shots"},
        {{"mmlu", "--model", "nosuch-model", NULL}, 2, "not in the catalog"},
        {{"mtbench", "--model", "x", "--endpoint", "http://127.0.0.1:9/v1", NULL},
         2,
         "--judge-endpoint is required"},
        {{"mmlu", "--model", "mistral-7b", "--data-dir", "/nonexistent/data", NULL},
         2,
         "/nonexistent/data"},
        {{"humaneval", "--model", "mistral-7b", "--bogus", NULL}, 2, "--bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *argv[16];
        int n = 0;
        argv[n++] = cutest_bench_exe();
        argv[n++] = "eval";
        for (int k = 0; cases[i].args[k]; k++)
            argv[n++] = cases[i].args[k];
        argv[n] = NULL;
        char *err = NULL;
        int rc = cutest_spawn(argv, NULL, &err, 60);
        if (rc != cases[i].rc || !err || !strstr(err, cases[i].msg))
            fprintf(stderr, "case %zu: rc=%d stderr=%s\n", i, rc, err ? err : "");
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, cases[i].msg));
        /* one line */
        CU_ASSERT(err && strchr(err, '\n') == err + strlen(err) - 1);
        free(err);
    }
}

int main(void)
{
    g_tmp = cutest_tmpdir("eval");
    CU_TestInfo tests[] = {
        {"mmlu exact at 100% and 0%", test_mmlu_exact},
        {"mmlu generative, cot, logprobs over chat", test_mmlu_methods_chat},
        {"mmlu within binomial CI", test_mmlu_binomial},
        {"humaneval within binomial CI; chat samples", test_humaneval},
        {"mtbench within CI of the played score", test_mtbench},
        {"report fills the quality table", test_report_quality},
        {"SIGINT keeps what was scored", test_interrupted},
        {"bad flags and inputs", test_bad_input},
        CU_TEST_INFO_NULL,
    };
    int rc = cutest_run("eval", tests);
    free(g_tmp);
    return rc;
}
