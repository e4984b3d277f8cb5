/* Integration test: HumanEval fidelity. Every canonical solution, given as a
 * completion (a body, as a completion model would produce it) and run
 * through the sandbox, passes its tests (pass@1 = 1.000); empty completions
 * pass none. The 164 programs run on a few threads at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cutest.h"
#include "humaneval.h"
#include "sandbox.h"

#define THREADS 8

static humaneval_problem *g_p;
static size_t g_n;

typedef struct {
    int empty;          /* empty completions instead of the canonical ones */
    atomic_size_t next; /* next problem to run */
    int outcome[256];
    char detail[256][256];
    int isolated[256];
    int errors;
    pthread_mutex_t mu;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    sandbox_limits l;
    sandbox_limits_default(&l);
    l.timeout_s = 10; /* a loaded machine must not turn a pass into a timeout */
    dynbuf prog;
    dynbuf_init(&prog, 1 << 20);
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= g_n)
            break;
        const humaneval_problem *p = &g_p[i];
        bench_err e;
        sandbox_result r;
        dynbuf_reset(&prog);
        if (humaneval_program(p, j->empty ? "" : p->canonical_solution, 0, &prog, &e) != BENCH_OK ||
            sandbox_run_python(&l, prog.p, prog.len, &r, &e) != BENCH_OK) {
            pthread_mutex_lock(&j->mu);
            fprintf(stderr, "%s: %s\n", p->task_id, e.msg);
            j->errors++;
            pthread_mutex_unlock(&j->mu);
            j->outcome[i] = -1;
            continue;
        }
        j->outcome[i] = r.outcome;
        j->isolated[i] = r.isolated;
        snprintf(j->detail[i], sizeof j->detail[i], "%s", r.detail);
    }
    dynbuf_free(&prog);
    return NULL;
}

static int run_all(job *j, double *secs)
{
    pthread_t t[THREADS];
    atomic_init(&j->next, 0);
    pthread_mutex_init(&j->mu, NULL);
    int64_t t0 = clock_now_ns();
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, j) != 0)
            return -1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    *secs = (double)(clock_now_ns() - t0) / 1e9;
    pthread_mutex_destroy(&j->mu);
    int passed = 0;
    for (size_t i = 0; i < g_n; i++)
        passed += j->outcome[i] == SANDBOX_PASSED;
    return passed;
}

static void test_load(void)
{
    const char *d = getenv("BENCH_DATA_DIR");
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(humaneval_load(d && *d ? d : "../shared/datasets", &g_p, &g_n, &e),
                          BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(g_n, 164);
}

static void test_canonical(void)
{
    CU_ASSERT_FATAL(g_n == 164);
    job *j = calloc(1, sizeof *j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double secs = 0;
    int passed = run_all(j, &secs);
    for (size_t i = 0; i < g_n; i++) {
        if (j->outcome[i] != SANDBOX_PASSED)
            fprintf(stderr, "\n%s: outcome %d: %s", g_p[i].task_id, j->outcome[i], j->detail[i]);
        CU_ASSERT_EQUAL(j->isolated[i], 1);
    }
    /* the score: mean over problems of pass@1 with one sample each */
    double pass1 = 0;
    for (size_t i = 0; i < g_n; i++)
        pass1 += humaneval_pass_at_k(1, j->outcome[i] == SANDBOX_PASSED, 1);
    pass1 /= (double)g_n;
    fprintf(stderr,
            "\n  canonical solutions: %d/%zu passed, pass@1 = %.3f, %.2f s wall (%d threads)\n",
            passed, g_n, pass1, secs, THREADS);
    CU_ASSERT_EQUAL(passed, 164);
    CU_ASSERT_DOUBLE_EQUAL(pass1, 1.0, 1e-12);
    CU_ASSERT_EQUAL(j->errors, 0);
    free(j);
}

static void test_empty(void)
{
    CU_ASSERT_FATAL(g_n == 164);
    job *j = calloc(1, sizeof *j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    j->empty = 1;
    double secs = 0;
    int passed = run_all(j, &secs);
    fprintf(stderr, "\n  empty completions: %d/%zu passed, %.2f s wall\n", passed, g_n, secs);
    CU_ASSERT_EQUAL(passed, 0);
    CU_ASSERT_EQUAL(j->errors, 0);
    for (size_t i = 0; i < g_n; i++)
        CU_ASSERT_NOT_EQUAL(j->outcome[i], SANDBOX_TIMEOUT);
    free(j);
    humaneval_free(g_p, g_n);
    g_p = NULL;
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"load", test_load},
        {"164 canonical solutions pass", test_canonical},
        {"empty completions fail", test_empty},
        CU_TEST_INFO_NULL,
    };
    return cutest_run("humaneval_exec", tests);
}
