/* Integration tests of `bench compare` (docs/COMPARE.md) on runs of the
 * embedded simulated endpoint:
 *   1. a candidate with the simulator slowed by 25% is a regression on the
 *      latencies and the throughput, and on nothing else (same seed as the
 *      baseline, so that the slowdown is all that differs in what the
 *      simulator draws);
 *   2. 20 candidates that changed nothing but the seed raise no regression;
 *   3. an MMLU accuracy 5 points lower on 1026 paired items is flagged, half
 *      a point is not;
 *   4. the JUnit XML parses with the testsuite/testcase/failure shape and the
 *      Markdown is a table;
 *   5. runs whose configurations differ are refused, naming the field, unless
 *      forced;
 *   6. an unreadable input is an error naming the file.
 *
 * What moves between two runs, and so what each check may claim:
 *   - the seed moves what the simulator draws: TTFT, and through it E2E and
 *     the throughput. That sampling variation is what compare's intervals
 *     cover (Bonferroni over the metrics). The seeds here are fixed, so the
 *     draws are the same in every run of this test;
 *   - the machine moves everything else. The simulator's gaps between tokens
 *     are not drawn at all (docs/SIMULATOR.md): TPOT and ITL of two runs
 *     differ by the scheduling of client and simulator only, which no
 *     interval built from one run sees (docs/COMPARE.md, "False alarms").
 *     Their p99 tails move by their thresholds even on a quiet-looking
 *     machine (ITL p99 +109%, TPOT p99 +19%: docs/COMPARE.md), and a run
 *     measured while other processes kept both CPUs busy moves medians too:
 *     ITL p50 by -11% (several tokens read per wake-up), the throughput at
 *     c=1 by -9%. Such a baseline made 32 of 40 unchanged candidates an ITL
 *     p50 regression; a few requests stalled for seconds stretch the
 *     throughput's window as well.
 * So "nothing changed" holds for a comparison only when both of its runs
 * were measured on a quiet machine: other processes used at most
 * OTHER_LOAD_MAX of the CPUs on average (from /proc/stat, minus this
 * program's children), and the machine was never busier than PEAK_BUSY_MAX
 * for a whole second. A run measured busy is repeated (at most RUN_ATTEMPTS
 * times, RETRY_BUDGET repeats in all), and a baseline still busy is measured
 * again as soon as a candidate finds the machine quiet. Then:
 *   - an unchanged candidate compared as two quiet runs must raise no
 *     regression outside the TPOT and ITL p99 tails; the tails' verdicts,
 *     and all those of a comparison with a busy side, are printed, not
 *     counted, because they measure the machine;
 *   - the slowed candidate must be a regression on the TTFT, TPOT and E2E
 *     medians in any case, and, both runs quiet, on ITL p50 and the
 *     throughput too, with no improvement;
 *   - no comparison may show an error-rate regression (the simulator fails
 *     nothing).
 * These decisions look only at CPU accounting, never at a comparison's
 * result. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cutest.h"

#define OTHER_LOAD_MAX 0.15 /* other processes' average share of the CPUs */
#define PEAK_BUSY_MAX 0.75  /* busiest second, all processes */
#define RUN_ATTEMPTS 3
#define RETRY_BUDGET 16 /* repeated runs in the whole program */
#define N_UNCHANGED 20

static char *g_dir;
static char *g_base;    /* baseline: 400 requests a level, seed 1 */
static int g_base_ok;   /* made */
static int g_base_busy; /* measured on a busy machine */
static double g_t_base; /* seconds it took */
static int g_retries;   /* runs repeated so far */

/* ---- CPU accounting ---- */

typedef struct {
    unsigned long long busy, total; /* /proc/stat jiffies, all CPUs */
    double children;                /* our children's CPU seconds */
} cpu_mark;

static void proc_stat(unsigned long long *busy, unsigned long long *total)
{
    *busy = *total = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    unsigned long long v[8] = {0};
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) == 8) {
        *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        *total = *busy + v[3] + v[4];
    }
    fclose(f);
}

static void cpu_mark_take(cpu_mark *m)
{
    proc_stat(&m->busy, &m->total);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    m->children = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Share of the machine's CPU time that processes other than our children
 * used between a and b (0 when /proc/stat is unreadable). */
static double other_load(const cpu_mark *a, const cpu_mark *b)
{
    double hz = (double)sysconf(_SC_CLK_TCK);
    double total = (double)(b->total - a->total) / hz;
    double busy = (double)(b->busy - a->busy) / hz;
    double mine = b->children - a->children;
    if (!(total > 0))
        return 0;
    double x = (busy - mine) / total;
    return x < 0 ? 0 : x;
}

/* A thread sampling /proc/stat every 200 ms while a run goes: the busiest
 * second of the machine (all processes, ours included: a run of bench uses
 * well under a third of two CPUs), which catches a short burst of other
 * work that the run's average hides. */
typedef struct {
    pthread_t th;
    atomic_int stop;
    double peak; /* busiest 1-s share of all CPUs */
} sampler;

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    unsigned long long b[6], t[6];
    int n = 0;
    while (!atomic_load(&s->stop)) {
        proc_stat(&b[n % 6], &t[n % 6]);
        if (n >= 5) {
            int old = (n - 5) % 6, cur = n % 6;
            unsigned long long dt = t[cur] - t[old];
            if (dt > 0) {
                double x = (double)(b[cur] - b[old]) / (double)dt;
                if (x > s->peak)
                    s->peak = x;
            }
        }
        n++;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- running bench ---- */

/* bench ARGS (NULL-terminated, without the executable); stdout/stderr
 * captured when out/err are given. */
static int bench(const char *const *args, char **out, char **err, int timeout_s)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return cutest_spawn(argv, out, err, timeout_s);
}

/* bench run on mistral-7b at concurrency 1 and 4, 32 output tokens, into
 * path; repeated while other processes loaded the machine, up to attempts
 * runs. *disturbed tells whether the kept run was still disturbed. Returns
 * bench's exit status. */
static int load_run(const char *path, const char *requests, const char *seed, const char *slowdown,
                    int attempts, int *disturbed, double *secs)
{
    const char *args[] = {"run",
                          "--model",
                          "mistral-7b",
                          "--concurrency",
                          "1,4",
                          "--requests",
                          requests,
                          "--output-tokens",
                          "32",
                          "--seed",
                          seed,
                          "--sim-slowdown",
                          slowdown,
                          "--no-report",
                          "--no-progress",
                          "--output",
                          path,
                          NULL};
    int rc = -1;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        cpu_mark a, b;
        sampler smp = {.peak = 0};
        atomic_init(&smp.stop, 0);
        int have_sampler = pthread_create(&smp.th, NULL, sampler_main, &smp) == 0;
        char *err = NULL;
        unlink(path);
        double t0 = now_s();
        cpu_mark_take(&a);
        rc = bench(args, NULL, &err, 600);
        cpu_mark_take(&b);
        *secs = now_s() - t0;
        if (have_sampler) {
            atomic_store(&smp.stop, 1);
            pthread_join(smp.th, NULL);
        }
        double load = other_load(&a, &b);
        if (rc != 0)
            fprintf(stderr, "bench run (seed %s) rc=%d: %.2000s\n", seed, rc, err ? err : "");
        free(err);
        *disturbed = load > OTHER_LOAD_MAX || smp.peak > PEAK_BUSY_MAX;
        if (rc != 0 || !*disturbed)
            break;
        printf("\n  seed %s: other processes used %.0f%% of the CPUs, busiest second %.0f%%", seed,
               100 * load, 100 * smp.peak);
        if (attempt == attempts || g_retries >= RETRY_BUDGET)
            break;
        g_retries++;
        printf(": repeated");
        fflush(stdout);
    }
    return rc;
}

static int ensure_base(void)
{
    if (g_base_ok)
        return 1;
    g_base = cutest_path(g_dir, "base.h5");
    int rc = load_run(g_base, "400", "1", "1", RUN_ATTEMPTS, &g_base_busy, &g_t_base);
    CU_ASSERT_EQUAL(rc, 0);
    if (g_base_busy)
        printf("\n  note: the baseline was measured on a busy machine");
    g_base_ok = rc == 0;
    return g_base_ok;
}

/* Does comparing the baseline with a candidate measured busy or not
 * (cand_busy) compare like with like, both runs measured on a quiet machine?
 * A baseline measured busy is measured again (one run, at most RUN_ATTEMPTS
 * times in the program, within the retry budget) when the candidate found
 * the machine quiet, and replaced if that run was quiet too, so that one
 * busy spell at the start does not leave every comparison with a busy side. */
static int quiet_pair(int cand_busy)
{
    static int again_runs;
    if (g_base_busy && !cand_busy && again_runs < RUN_ATTEMPTS && g_retries < RETRY_BUDGET) {
        again_runs++;
        char *again = cutest_path(g_dir, "base-again.h5");
        int busy;
        double t;
        g_retries++;
        printf("\n  the machine is quiet now: measuring the baseline again");
        if (load_run(again, "400", "1", "1", 1, &busy, &t) == 0 && !busy &&
            rename(again, g_base) == 0) {
            g_base_busy = 0;
            g_t_base = t;
            printf(" (quiet)");
        } else {
            unlink(again);
        }
        free(again);
    }
    return !g_base_busy && !cand_busy;
}

/* Is m one of the scheduling-sensitive tails (TPOT, ITL p99), whose changes
 * between two runs of the simulator are the machine's alone? */
static int tail_metric(const char *m)
{
    return strcmp(m, "tpot_p99") == 0 || strcmp(m, "itl_p99") == 0;
}

/* bench compare BASE CAND --format json: the parsed object (caller deletes),
 * *rc the exit status. */
static cJSON *compare_json(const char *base, const char *cand, int *rc)
{
    const char *args[] = {"compare", base, cand, "--format", "json", NULL};
    char *out = NULL, *err = NULL;
    *rc = bench(args, &out, &err, 300);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    if (!j)
        fprintf(stderr, "bench compare rc=%d\nstdout: %.2000s\nstderr: %.2000s\n", *rc,
                out ? out : "", err ? err : "");
    free(out);
    free(err);
    return j;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The verdict of scope/metric ("" when absent). */
static const char *verdict(const cJSON *j, const char *scope, const char *metric)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "rows"))
    {
        if (strcmp(str(row, "scope"), scope) == 0 && strcmp(str(row, "metric"), metric) == 0)
            return str(row, "verdict");
    }
    return "";
}

/* "c1 ttft_p50 +25.1%, ..." of the rows with verdict v, into buf. */
static int list_rows(const cJSON *j, const char *v, char *buf, size_t n)
{
    int k = 0;
    size_t len = 0;
    buf[0] = '\0';
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "rows"))
    {
        if (strcmp(str(row, "verdict"), v) != 0)
            continue;
        k++;
        int rel = strcmp(str(row, "change_kind"), "relative") == 0;
        int w = snprintf(buf + len, n - len, "%s%s %s %+.1f%s", len ? ", " : "", str(row, "scope"),
                         str(row, "metric"), 100 * num(row, "change"), rel ? "%" : " pt");
        if (w > 0 && (size_t)w < n - len)
            len += (size_t)w;
    }
    return k;
}

/* ---- 1. 25% slower ---- */

static void test_slowdown(void)
{
    if (!ensure_base())
        return;
    char *slow = cutest_path(g_dir, "slow.h5");
    int disturbed, rc;
    double t;
    /* The baseline's seed: every simulated latency is the baseline's times
     * 1.25, so what is tested is the slowdown, not another draw. */
    CU_ASSERT_EQUAL_FATAL(load_run(slow, "400", "1", "1.25", RUN_ATTEMPTS, &disturbed, &t), 0);
    int quiet = quiet_pair(disturbed);
    double t0 = now_s();
    cJSON *j = compare_json(g_base, slow, &rc);
    double tc = now_s() - t0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(rc, 1);
    char buf[4096];
    int nreg = list_rows(j, "regression", buf, sizeof buf);
    printf("\n  baseline run %.1f s, slowed run %.1f s, compare %.2f s", g_t_base, t, tc);
    printf("\n  25%% slower: %d regression(s): %s", nreg, buf);
    list_rows(j, "unchanged", buf, sizeof buf);
    printf("\n  unchanged: %s", buf);
    int nimp = list_rows(j, "improvement", buf, sizeof buf);
    printf("\n  improvements: %d %s", nimp, buf);
    printf("\n  %s\n", quiet ? "both runs measured on a quiet machine"
                             : "a run was measured on a busy machine: only the TTFT, TPOT and E2E "
                               "medians counted");
    /* Both runs quiet: the slowdown is all that differs, and every median
     * and the throughput must show it. With a busy side, only the medians of
     * TTFT, TPOT and E2E, which a few stalled requests do not move, while
     * they stretch the throughput's window (a baseline with three requests
     * stalled 0.5-2.4 s lost 22% of its c=1 throughput, and the slowed run
     * was then no slower there) and a contended run shifts ITL p50 (header). */
    static const char *const must[] = {"ttft_p50", "tpot_p50", "e2e_p50", "itl_p50", "output_tps"};
    static const char *const scopes[] = {"c1", "c4"};
    for (int s = 0; s < 2; s++) {
        for (size_t m = 0; m < sizeof must / sizeof *must; m++) {
            const char *v = verdict(j, scopes[s], must[m]);
            if (!quiet && m >= 3)
                continue;
            if (strcmp(v, "regression") != 0)
                printf("  %s %s: %s, expected regression\n", scopes[s], must[m], v);
            CU_ASSERT_STRING_EQUAL(v, "regression");
        }
        CU_ASSERT_STRING_EQUAL(verdict(j, scopes[s], "error_rate"), "unchanged");
    }
    /* Regressions only where the slowdown acts, latencies and throughput;
     * no improvement, unless a busy side measured the machine. */
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "rows"))
    {
        const char *m = str(row, "metric");
        if (strcmp(str(row, "verdict"), "regression") == 0)
            CU_ASSERT(strcmp(m, "error_rate") != 0 && strcmp(m, "goodput") != 0);
    }
    if (quiet)
        CU_ASSERT_EQUAL(nimp, 0);
    cJSON_Delete(j);

    /* 4. JUnit: testsuites > testsuite > testcase (> failure per regression),
     * counts consistent; checked with Python's XML parser. */
    char *xml = cutest_path(g_dir, "slow.xml");
    const char *ja[] = {"compare", g_base, slow, "--format", "junit", "--output", xml, NULL};
    CU_ASSERT_EQUAL(bench(ja, NULL, NULL, 300), 1);
    const char *py =
        "import sys, xml.etree.ElementTree as E\n"
        "r = E.parse(sys.argv[1]).getroot()\n"
        "assert r.tag == 'testsuites', r.tag\n"
        "suites = r.findall('testsuite')\n"
        "assert len(suites) == 2, len(suites)\n"
        "tot = fail = 0\n"
        "for s in suites:\n"
        "    cases = s.findall('testcase')\n"
        "    assert all(set(c.attrib) >= {'classname', 'name'} for c in cases)\n"
        "    assert all(c.get('classname') == s.get('name') for c in cases)\n"
        "    f = sum(len(c.findall('failure')) for c in cases)\n"
        "    assert int(s.get('tests')) == len(cases) and int(s.get('failures')) == f\n"
        "    assert all(x.get('message') for c in cases for x in c.findall('failure'))\n"
        "    tot += len(cases); fail += f\n"
        "assert int(r.get('tests')) == tot and int(r.get('failures')) == fail and fail > 0\n"
        "print('junit ok: %d testcases, %d failures' % (tot, fail))\n";
    const char *pa[] = {"/usr/bin/python3", "-c", py, xml, NULL};
    char *pout = NULL, *perr = NULL;
    int prc = cutest_spawn(pa, &pout, &perr, 60);
    printf("  %s", pout ? pout : "");
    if (prc != 0)
        printf("  python: %s\n", perr ? perr : "");
    CU_ASSERT_EQUAL(prc, 0);
    free(pout);
    free(perr);

    /* Markdown: per group a header row, a separator row, rows of 6 cells */
    const char *ma[] = {"compare", g_base, slow, "--format", "md", NULL};
    char *md = NULL;
    CU_ASSERT_EQUAL(bench(ma, &md, NULL, 300), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    const char *hdr = "| metric | baseline | candidate | change | CI | verdict |\n"
                      "|---|---:|---:|---:|---|---|\n";
    int tables = 0, rows = 0;
    for (const char *p = strstr(md, hdr); p; p = strstr(p + 1, hdr))
        tables++;
    for (const char *line = md; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[0] == '|') {
            int pipes = 0;
            for (size_t i = 0; i < len; i++)
                pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
            CU_ASSERT_EQUAL(pipes, 7);
            rows++;
        }
        line = nl ? nl + 1 : line + len;
    }
    CU_ASSERT_EQUAL(tables, 2);
    CU_ASSERT_EQUAL(rows, 2 * 2 + 20);
    free(md);
    free(xml);
    free(slow);
}

/* ---- 2. nothing changed ---- */

static void test_unchanged(void)
{
    if (!ensure_base())
        return;
    /* The one comparison no machine can disturb, the baseline with itself:
     * every change exactly zero, every verdict unchanged, tails included. */
    int rc0;
    cJSON *j0 = compare_json(g_base, g_base, &rc0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j0);
    CU_ASSERT_EQUAL(rc0, 0);
    const cJSON *r0;
    cJSON_ArrayForEach(r0, cJSON_GetObjectItemCaseSensitive(j0, "rows"))
    {
        CU_ASSERT_STRING_EQUAL(str(r0, "verdict"), "unchanged");
        CU_ASSERT(num(r0, "change") == 0);
    }
    cJSON_Delete(j0);
    /* counted: regressions of quiet comparisons outside the p99 tails, and
     * error-rate regressions anywhere; the rest printed */
    int counted = 0, tails = 0, busy_alarms = 0, n_quiet = 0;
    double t_runs = 0, t_cmp = 0;
    for (int seed = 2; seed < 2 + N_UNCHANGED; seed++) {
        char name[32], sd[16];
        snprintf(name, sizeof name, "same-%d.h5", seed);
        snprintf(sd, sizeof sd, "%d", seed);
        char *path = cutest_path(g_dir, name);
        int busy, rc;
        double t;
        rc = load_run(path, "150", sd, "1", RUN_ATTEMPTS, &busy, &t);
        CU_ASSERT_EQUAL(rc, 0);
        t_runs += t;
        int quiet = rc == 0 && quiet_pair(busy);
        double t0 = now_s();
        cJSON *j = rc == 0 ? compare_json(g_base, path, &rc) : NULL;
        t_cmp += now_s() - t0;
        CU_ASSERT_PTR_NOT_NULL(j);
        if (j) {
            char buf[2048];
            int k = list_rows(j, "regression", buf, sizeof buf);
            CU_ASSERT_EQUAL(rc, k ? 1 : 0);
            int c = 0;
            const cJSON *row;
            cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "rows"))
            {
                if (strcmp(str(row, "verdict"), "regression") != 0)
                    continue;
                const char *m = str(row, "metric");
                if (strcmp(m, "error_rate") == 0 || (quiet && !tail_metric(m)))
                    c++;
                else if (quiet)
                    tails++;
                else
                    busy_alarms++;
            }
            counted += c;
            n_quiet += quiet;
            if (k)
                printf("\n  seed %d%s: %d regression(s) %s%s", seed,
                       quiet ? "" : " (a run measured on a busy machine)", k, buf,
                       c ? " <- counted" : "");
            cJSON_Delete(j);
        }
        free(path);
    }
    printf("\n  nothing changed: %d false alarm(s) counted in %d comparison(s) of two quiet runs, "
           "%d more in their TPOT/ITL p99 tails",
           counted, n_quiet, tails);
    if (n_quiet < N_UNCHANGED)
        printf("; %d in %d comparison(s) with a run measured on a busy machine", busy_alarms,
               N_UNCHANGED - n_quiet);
    printf("\n  %d run(s) repeated because the machine was busy", g_retries);
    printf("\n  runs %.0f s (%.1f s each), comparisons %.1f s (%.2f s each)\n", t_runs,
           t_runs / N_UNCHANGED, t_cmp, t_cmp / N_UNCHANGED);
    CU_ASSERT_EQUAL(counted, 0);
    if (n_quiet < N_UNCHANGED / 2)
        printf("  WARNING: the machine was busy for most runs (%d of %d comparisons quiet): the "
               "no-false-alarm claim was checked on those %d only\n",
               n_quiet, N_UNCHANGED, n_quiet);
}

/* ---- 3. quality ---- */

static char *mmlu_run(const char *quality, const char *name)
{
    char *path = cutest_path(g_dir, name);
    char q[64];
    snprintf(q, sizeof q, "mmlu=%s", quality);
    const char *args[] = {
        "eval", "mmlu",   "--model", "mistral-7b",    "--limit",  "18", "--sim-quality",
        q,      "--seed", "1",       "--no-progress", "--output", path, NULL};
    char *err = NULL;
    int rc = bench(args, NULL, &err, 600);
    if (rc != 0)
        fprintf(stderr, "bench eval rc=%d: %.2000s\n", rc, err ? err : "");
    free(err);
    CU_ASSERT_EQUAL(rc, 0);
    return path;
}

static void test_quality(void)
{
    char *b = mmlu_run("62.5", "mmlu-62.5.h5");
    char *lo = mmlu_run("57.5", "mmlu-57.5.h5");
    char *near = mmlu_run("62.0", "mmlu-62.0.h5");
    int rc;
    cJSON *j = compare_json(b, lo, &rc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_STRING_EQUAL(verdict(j, "mmlu", "mmlu"), "regression");
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "rows"), 0);
    CU_ASSERT_EQUAL(num(row, "n_baseline"), 57 * 18);
    CU_ASSERT_STRING_EQUAL(str(row, "method"), "mcnemar");
    printf("\n  MMLU 62.5 -> 57.5: %.2f%% -> %.2f%%, change %+.2f pt [%+.2f, %+.2f], McNemar p "
           "%.3g: %s",
           100 * num(row, "baseline"), 100 * num(row, "candidate"), 100 * num(row, "change"),
           100 * num(row, "ci_low"), 100 * num(row, "ci_high"), num(row, "p_value"),
           str(row, "verdict"));
    cJSON_Delete(j);
    j = compare_json(b, near, &rc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(verdict(j, "mmlu", "mmlu"), "unchanged");
    row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "rows"), 0);
    printf("\n  MMLU 62.5 -> 62.0: %.2f%% -> %.2f%%, change %+.2f pt [%+.2f, %+.2f], McNemar p "
           "%.3g: %s\n",
           100 * num(row, "baseline"), 100 * num(row, "candidate"), 100 * num(row, "change"),
           100 * num(row, "ci_low"), 100 * num(row, "ci_high"), num(row, "p_value"),
           str(row, "verdict"));
    cJSON_Delete(j);
    free(b);
    free(lo);
    free(near);
}

/* ---- 5. incomparable configurations ---- */

static void test_incomparable(void)
{
    if (!ensure_base())
        return;
    char *other = cutest_path(g_dir, "tokens64.h5");
    const char *ra[] = {"run",
                        "--model",
                        "mistral-7b",
                        "--concurrency",
                        "1,4",
                        "--requests",
                        "30",
                        "--output-tokens",
                        "64",
                        "--seed",
                        "3",
                        "--no-report",
                        "--no-progress",
                        "--output",
                        other,
                        NULL};
    CU_ASSERT_EQUAL_FATAL(bench(ra, NULL, NULL, 300), 0);
    const char *ca[] = {"compare", g_base, other, NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(bench(ca, &out, &err, 300), 2);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "output_tokens"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "32") && strstr(err, "64"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--force"));
    printf("\n  %s", err ? err : "");
    free(out);
    free(err);
    const char *fa[] = {"compare", g_base, other, "--force", NULL};
    out = err = NULL;
    int rc = bench(fa, &out, &err, 300);
    CU_ASSERT(rc == 0 || rc == 1);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "forced: output_tokens differs"));
    free(out);
    free(err);
    free(other);
}

/* ---- 6. unreadable input ---- */

static void test_unreadable(void)
{
    if (!ensure_base())
        return;
    char *bad = cutest_path(g_dir, "garbage.h5");
    FILE *f = fopen(bad, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not an HDF5 file\n", f);
    fclose(f);
    char *missing = cutest_path(g_dir, "missing.h5");
    const char *cases[2][4] = {{"compare", g_base, bad, NULL}, {"compare", missing, g_base, NULL}};
    const char *names[2] = {bad, missing};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        CU_ASSERT_EQUAL(bench(cases[i], NULL, &err, 120), 2);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, names[i]));
        printf("\n  %s", err ? err : "");
        free(err);
    }
    free(bad);
    free(missing);
}

int main(void)
{
    g_dir = cutest_tmpdir("compare");
    CU_TestInfo tests[] = {
        {"25% slower simulator: latency and throughput regressions", test_slowdown},
        {"20 unchanged candidates: no false alarm", test_unchanged},
        {"MMLU 5 points lower flagged, 0.5 not", test_quality},
        {"incomparable configurations refused unless forced", test_incomparable},
        {"unreadable input is an error naming the file", test_unreadable},
        CU_TEST_INFO_NULL,
    };
    int rc = cutest_run("compare", tests);
    free(g_base);
    free(g_dir);
    return rc;
}
