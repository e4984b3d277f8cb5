/* Integration test of the load generator's two HTTP transports
 * (harness/worker.h: --transport auto|native|libcurl, $BENCH_TRANSPORT).
 *
 * - Choice: against the embedded simulator (plain http://) the default is
 *   the native client, every level records client_transport "native" and
 *   kernel_stamped 1; $BENCH_TRANSPORT=libcurl and --transport libcurl give
 *   "libcurl" (kernel_stamped NaN, no read pauses); the flag wins over the
 *   variable. The native client's reads all go through io_uring where the
 *   kernel allows it (io_uring_reads 1), none with $BENCH_IO_URING=off.
 *   Every request is ok either way. Bad choices are usage errors (exit 2)
 *   naming what was wrong: native for an https:// endpoint (the message
 *   names http://), --transport bogus, $BENCH_TRANSPORT=bogus,
 *   $BENCH_IO_URING=sometimes.
 * - The keep-alive race: tests/replay_server.c --one-per-conn answers the
 *   first request of each connection and closes the connection on reading
 *   the next one, unanswered. On both transports every request still
 *   succeeds: each slot's requests after its first are sent on the kept-
 *   alive connection, go unanswered, and are sent once more on a fresh
 *   connection, which answers them. The server's log shows exactly that:
 *   each request answered once, level c<N> with N requests fewer unanswered
 *   than requested, and a retried request's recorded send time between the
 *   server's unanswered read and its answered one (its latencies count from
 *   the attempt that was answered).
 * - Read coalescing: 64 paced streams (about 1 ms between a stream's
 *   tokens) on one worker thread, the simulator's send log the truth. The
 *   level must have taken read pauses with every read kernel-stamped, and
 *   the chunk times must still be the kernel's receive times: none before
 *   its send, the 10th percentile within COALESCE_P10_MS of its send (a
 *   stamp taken at the read instead of by the kernel lags by the pause and
 *   the loop's turn, 0.1 ms and more), the median within COALESCE_P50_MS,
 *   the largest within COALESCE_MAX_MS. The last two only catch gross
 *   errors (a wrong clock, a pause far too long): on a two-core machine
 *   shared with compilers, events of one connection that arrive while the
 *   worker is not running are read together and share the later one's
 *   stamp (one read, one stamp), which alone costs a token gap (1 ms) and,
 *   with the worker or the simulator descheduled, tens of ms at the
 *   largest; the figures are printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "results_read.h"
#include "rxring.h"
#include "stats.h"

/* Read coalescing's accuracy bounds (above), ms. */
#define COALESCE_P10_MS 0.02
#define COALESCE_P50_MS 0.5
#define COALESCE_MAX_MS 100.0
/* A chunk's stamp may precede its logged send by the clocks' conversion
 * error only (well under a microsecond; docs/METRICS.md "Timestamps"). */
#define COALESCE_EARLY_MS 0.05

static char *g_dir;
/* io_uring can be had here (rxring_create succeeds): the native transport's
 * reads then all go through it unless $BENCH_IO_URING=off. */
static int g_ring;
/* The share of reads expect_levels wants made through io_uring. */
static double g_want_ring;

/* Run bench with args (NULL-terminated, without the executable), with the
 * environment's transport choices cleared ($BENCH_TRANSPORT and the proxy
 * variables, so that the test does not depend on its caller's) and env
 * (NULL-terminated VAR=VALUE, may be NULL) added. Returns the exit status;
 * *err gets stderr (caller frees). */
static int run_bench(const char *const *env, const char *const *args, int timeout_s, char **err)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "/usr/bin/env";
    const char *unset[] = {"BENCH_TRANSPORT", "BENCH_IO_URING", "http_proxy", "all_proxy",
                           "ALL_PROXY"};
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) {
        argv[n++] = "-u";
        argv[n++] = unset[i];
    }
    for (; env && *env && n < 20; env++)
        argv[n++] = *env;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char *out = NULL;
    int rc = cutest_spawn(argv, &out, err, timeout_s);
    free(out);
    return rc;
}

/* Every level of h5 (nlevels of them, n_rows requests each) carries the
 * client's transport `want` and its stamps' share, and every request is
 * ok. */
static void expect_levels(const char *h5, const char *want, size_t nlevels, size_t n_rows)
{
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), nlevels);
    for (size_t i = 0; i < nlevels; i++) {
        const results_level_info *li = results_file_level(f, i);
        const level_client *c = &li->client;
        CU_ASSERT(c->present);
        CU_ASSERT_STRING_EQUAL(c->transport, want);
        if (strcmp(want, "native") == 0) {
            CU_ASSERT(c->kernel_stamped == 1.0);
            CU_ASSERT(c->ring_reads == g_want_ring);
            if (c->ring_reads != g_want_ring)
                fprintf(stderr, "%s level %d: io_uring_reads %g, wanted %g\n", h5, li->concurrency,
                        c->ring_reads, g_want_ring);
        } else {
            CU_ASSERT(isnan(c->kernel_stamped));
            CU_ASSERT(isnan(c->ring_reads));
            CU_ASSERT(c->pauses == 0);
        }
        if (strcmp(c->transport, want) != 0 ||
            (strcmp(want, "native") == 0) != (c->kernel_stamped == 1.0))
            fprintf(stderr, "%s level %d: transport '%s', kernel_stamped %g (wanted %s)\n", h5,
                    li->concurrency, c->transport, c->kernel_stamped, want);
        req_record *rows = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL_FATAL(results_read_requests(f, li->concurrency, &rows, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, n_rows);
        for (size_t k = 0; k < n; k++)
            CU_ASSERT_EQUAL(rows[k].status, REQ_OK);
        free(rows);
    }
    results_file_close(f);
}

/* ---- Which transport: the default, the variable, the flag. */

/* A small run on the embedded simulator with env and extra flags (each
 * NULL-terminated, may be NULL); every level must be `want`. */
static void sim_run(const char *tag, const char *const *env, const char *const *extra,
                    const char *want)
{
    char name[64];
    snprintf(name, sizeof name, "%s.h5", tag);
    char *h5 = cutest_path(g_dir, name);
    const char *args[40] = {"--model",
                            "mistral-7b",
                            "--concurrency",
                            "1,4",
                            "--requests",
                            "20",
                            "--warmup",
                            "2",
                            "--output-tokens",
                            "32",
                            "--sim-slowdown",
                            "0.1",
                            "--output",
                            h5,
                            "--no-report",
                            "--no-progress",
                            NULL};
    int n = 16;
    for (; extra && *extra && n < 38; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    char *err = NULL;
    int rc = run_bench(env, args, 180, &err);
    if (rc != 0)
        fprintf(stderr, "%s: bench exited %d: %s\n", tag, rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    expect_levels(h5, want, 2, 22);
    free(err);
    unlink(h5);
    free(h5);
}

static void test_default_native(void)
{
    g_want_ring = g_ring;
    sim_run("default", NULL, NULL, "native");
}

/* $BENCH_IO_URING=off: a recvmsg per readiness, the same results; =on
 * where io_uring can be had, the same as the default. */
static void test_ring_choice(void)
{
    const char *off[] = {"BENCH_IO_URING=off", NULL};
    g_want_ring = 0;
    sim_run("ring-off", off, NULL, "native");
    if (g_ring) {
        const char *on[] = {"BENCH_IO_URING=on", NULL};
        g_want_ring = 1;
        sim_run("ring-on", on, NULL, "native");
    }
    g_want_ring = g_ring;
}

static void test_env_libcurl(void)
{
    const char *env[] = {"BENCH_TRANSPORT=libcurl", NULL};
    sim_run("env-libcurl", env, NULL, "libcurl");
}

static void test_flag_libcurl(void)
{
    const char *extra[] = {"--transport", "libcurl", NULL};
    sim_run("flag-libcurl", NULL, extra, "libcurl");
}

/* $BENCH_TRANSPORT applies only while the flag is auto. */
static void test_flag_over_env(void)
{
    const char *env[] = {"BENCH_TRANSPORT=libcurl", NULL};
    const char *extra[] = {"--transport", "native", NULL};
    sim_run("flag-over-env", env, extra, "native");
}

/* Exit 2, a line of stderr holding every one of needles (NULL-terminated). */
static void expect_usage_error(const char *const *env, const char *const *args,
                               const char *const *needles)
{
    char *err = NULL;
    int rc = run_bench(env, args, 60, &err);
    const char *line = err, *found = NULL;
    while (line && *line && !found) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        int all = 1;
        for (const char *const *nd = needles; *nd && all; nd++) {
            const char *p = strstr(line, *nd);
            all = p && p + strlen(*nd) <= line + len;
        }
        if (all)
            found = line;
        line = eol ? eol + 1 : line + len;
    }
    if (rc != 2 || !found)
        fprintf(stderr, "bench exited %d (wanted 2, a line naming '%s'): %s\n", rc, needles[0],
                err ? err : "");
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(found);
    free(err);
}

static void test_usage_errors(void)
{
    char *h5 = cutest_path(g_dir, "usage.h5");
    /* The built-in client speaks plain http:// only. */
    const char *https[] = {"--model",
                           "m",
                           "--endpoint",
                           "https://127.0.0.1:9/v1",
                           "--transport",
                           "native",
                           "--concurrency",
                           "1",
                           "--requests",
                           "1",
                           "--output",
                           h5,
                           "--no-report",
                           "--no-progress",
                           NULL};
    const char *want_https[] = {"bench: --transport native", "http://", NULL};
    expect_usage_error(NULL, https, want_https);
    /* The same chosen through the variable. */
    const char *env_native[] = {"BENCH_TRANSPORT=native", NULL};
    const char *https_auto[] = {"--model",
                                "m",
                                "--endpoint",
                                "https://127.0.0.1:9/v1",
                                "--concurrency",
                                "1",
                                "--requests",
                                "1",
                                "--output",
                                h5,
                                "--no-report",
                                "--no-progress",
                                NULL};
    const char *want_http[] = {"http://", NULL};
    expect_usage_error(env_native, https_auto, want_http);
    /* Values that are no transport. */
    const char *bogus[] = {"--model", "mistral-7b",  "--transport",   "bogus", "--output",
                           h5,        "--no-report", "--no-progress", NULL};
    const char *want_flag[] = {"--transport", "bogus", NULL};
    expect_usage_error(NULL, bogus, want_flag);
    const char *env_bogus[] = {"BENCH_TRANSPORT=bogus", NULL};
    const char *plain[] = {
        "--model", "mistral-7b",  "--concurrency", "1", "--requests", "1", "--output",
        h5,        "--no-report", "--no-progress", NULL};
    const char *want_env[] = {"$BENCH_TRANSPORT", "bogus", NULL};
    expect_usage_error(env_bogus, plain, want_env);
    const char *ring_bogus[] = {"BENCH_IO_URING=sometimes", NULL};
    const char *want_ring[] = {"$BENCH_IO_URING", "sometimes", NULL};
    expect_usage_error(ring_bogus, plain, want_ring);
    unlink(h5);
    free(h5);
}

/* ---- The keep-alive race. */

#define RACE_REQUESTS 10
#define RACE_MAX_IDS 64

/* The replay server's record of one request id. */
typedef struct {
    char id[64];
    int answered;      /* "req" lines */
    int unanswered;    /* "unanswered" lines */
    long long t_req;   /* the answered read */
    long long t_unans; /* the (last) unanswered read */
} race_req;

static race_req *race_find(race_req *r, int *n, const char *id)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(r[i].id, id) == 0)
            return &r[i];
    if (*n == RACE_MAX_IDS)
        return NULL;
    race_req *x = &r[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    return x;
}

static int race_log(const char *path, race_req *r)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int n = 0;
    char line[512], kind[32], id[64];
    long long t;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %63s %lld", kind, id, &t) != 3)
            continue;
        int ans = strcmp(kind, "req") == 0, unans = strcmp(kind, "unanswered") == 0;
        race_req *x = ans || unans ? race_find(r, &n, id) : NULL;
        if (!x)
            continue;
        if (ans) {
            x->answered++;
            x->t_req = t;
        } else {
            x->unanswered++;
            x->t_unans = t;
        }
    }
    fclose(f);
    return n;
}

static void race_case(const char *transport)
{
    char tag[64];
    snprintf(tag, sizeof tag, "race-%s", transport);
    char *dir = cutest_tmpdir(tag);
    char *log = cutest_path(dir, "server.log");
    char *h5 = cutest_path(dir, "race.h5");
    char *tpath = cutest_path(cutest_samples_dir(), "sse_llamacpp_sample.txt");
    const char *extra[] = {"--per-write", "1", "--ttft-ms",      "5",
                           "--gap-ms",    "1", "--one-per-conn", NULL};
    int port = 0;
    pid_t pid = cutest_replay_start(tpath, extra, log, &port);
    char url[64], nreq[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    snprintf(nreq, sizeof nreq, "%d", RACE_REQUESTS);
    /* --tokenizer off: no probes of /tokenize on connections of their own. */
    const char *args[] = {"--model",
                          "replayed",
                          "--endpoint",
                          url,
                          "--api",
                          "chat",
                          "--transport",
                          transport,
                          "--concurrency",
                          "1,2",
                          "--requests",
                          nreq,
                          "--warmup",
                          "0",
                          "--output-tokens",
                          "12",
                          "--tokenizer",
                          "off",
                          "--output",
                          h5,
                          "--no-report",
                          "--no-progress",
                          NULL};
    char *err = NULL;
    int rc = port > 0 ? run_bench(NULL, args, 120, &err) : -1;
    cutest_replay_stop(pid);
    if (rc != 0)
        fprintf(stderr, "%s: bench exited %d: %s\n", tag, rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    expect_levels(h5, transport, 2, RACE_REQUESTS);

    static race_req sr[RACE_MAX_IDS];
    int nsr = race_log(log, sr);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    int64_t t0 = results_file_t0_monotonic(f);
    int levels[] = {1, 2};
    for (int li = 0; li < 2; li++) {
        req_record *rows = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL_FATAL(results_read_requests(f, levels[li], &rows, &n, &e), BENCH_OK);
        int unanswered = 0;
        for (size_t k = 0; k < n; k++) {
            const req_record *r = &rows[k];
            CU_ASSERT_EQUAL(r->chunk_count, 12);
            CU_ASSERT_EQUAL(r->output_tokens, 12);
            char id[64];
            snprintf(id, sizeof id, "c%d-%llu", levels[li], (unsigned long long)r->id);
            const race_req *s = NULL;
            for (int i = 0; i < nsr; i++)
                if (strcmp(sr[i].id, id) == 0)
                    s = &sr[i];
            CU_ASSERT_PTR_NOT_NULL(s);
            if (!s)
                continue;
            /* Answered once: nothing answered was sent again. */
            CU_ASSERT_EQUAL(s->answered, 1);
            /* Unanswered at most once: the retry goes on a fresh
             * connection, whose first request is answered. */
            CU_ASSERT(s->unanswered <= 1);
            unanswered += s->unanswered;
            if (s->unanswered == 1) {
                /* The recorded send is the answered attempt's. */
                long long send = t0 + r->t_send_ns;
                if (!(s->t_unans < send && send <= s->t_req))
                    fprintf(stderr,
                            "%s %s: send at %lld, not between the unanswered read (%lld) and "
                            "the answered one (%lld)\n",
                            tag, id, send, s->t_unans, s->t_req);
                CU_ASSERT(s->t_unans < send);
                CU_ASSERT(send <= s->t_req);
            }
        }
        printf("  %s c%d: %zu requests, %d unanswered and sent again\n", transport, levels[li], n,
               unanswered);
        /* Every request but each slot's first went out on a reused
         * connection and was not answered there. */
        CU_ASSERT_EQUAL(unanswered, RACE_REQUESTS - levels[li]);
        free(rows);
    }
    results_file_close(f);
    free(err);
    free(tpath);
    free(h5);
    free(log);
    free(dir);
}

static void test_race_native(void)
{
    race_case("native");
}

static void test_race_libcurl(void)
{
    race_case("libcurl");
}

/* ---- Read coalescing against the simulator's send log. */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_coalescing_accuracy(void)
{
    char *h5 = cutest_path(g_dir, "coalesce.h5"), *log = cutest_path(g_dir, "coalesce.sends");
    const char *args[] = {"--model",
                          "mistral-7b",
                          "--concurrency",
                          "64",
                          "--requests",
                          "256",
                          "--warmup",
                          "0",
                          "--output-tokens",
                          "128",
                          "--threads",
                          "1",
                          "--sim-slowdown",
                          "0.1",
                          "--sim-log-sends",
                          log,
                          "--output",
                          h5,
                          "--no-report",
                          "--no-progress",
                          NULL};
    char *err = NULL;
    int rc = run_bench(NULL, args, 240, &err);
    if (rc != 0)
        fprintf(stderr, "bench exited %d: %s\n", rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    expect_levels(h5, "native", 1, 256);

    cutest_send_log sl;
    cutest_send_log_load(log, &sl);
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    const level_client *c = &results_file_level(f, 0)->client;
    int64_t t0 = results_file_t0_monotonic(f);
    req_record *rows = NULL;
    size_t n = 0;
    uint64_t nch = 0;
    CU_ASSERT_EQUAL_FATAL(results_read_requests(f, 64, &rows, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_chunk_count(f, 64, &nch, &e), BENCH_OK);
    chunk_record *ch = malloc((nch + 1) * sizeof *ch);
    double *errs = malloc((nch + 1) * sizeof *errs);
    CU_ASSERT_FATAL(ch && errs);
    CU_ASSERT_EQUAL_FATAL(results_read_chunks(f, 64, 0, nch, ch, &e), BENCH_OK);
    size_t nerr = 0, shared = 0;
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        CU_ASSERT_EQUAL(r->chunk_count, 128);
        char key[64];
        snprintf(key, sizeof key, "c64-%llu", (unsigned long long)r->id);
        const cutest_sent_req *s = cutest_send_log_find(&sl, key, 0);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (!s || s->n != (int)r->chunk_count || r->chunk_offset + r->chunk_count > nch) {
            CU_ASSERT(s && s->n == (int)r->chunk_count);
            continue;
        }
        for (uint32_t k = 0; k < r->chunk_count; k++) {
            const chunk_record *cr = &ch[r->chunk_offset + k];
            errs[nerr++] = (double)(t0 + cr->t_ns - s->t[k]) / 1e6;
            if (k > 0 && cr->t_ns == cr[-1].t_ns)
                shared++; /* read together with the one before */
        }
    }
    CU_ASSERT_EQUAL(nerr, (size_t)256 * 128);
    double p10 = 0, p50 = 0, p99 = 0, mn = 0, mx = 0;
    if (nerr) {
        qsort(errs, nerr, sizeof *errs, cmp_d);
        p10 = stats_percentile_sorted(errs, nerr, 10);
        p50 = stats_percentile_sorted(errs, nerr, 50);
        p99 = stats_percentile_sorted(errs, nerr, 99);
        mn = errs[0];
        mx = errs[nerr - 1];
    }
    printf("\n  c64, one thread: read_pauses %.0f, kernel_stamped %.4f, loop wakeups %.0f\n"
           "  chunk time - send time (ms), %zu chunks: min %.4f p10 %.4f p50 %.4f p99 %.4f "
           "max %.4f; %zu read with the chunk before\n",
           c->pauses, c->kernel_stamped, c->wakeups, nerr, mn, p10, p50, p99, mx, shared);
    if (c->pauses == 0)
        fprintf(stderr,
                "no read pauses: every probe must have seen kernel-stamped reads only, more "
                "gaps than bursts, and reads*window/probe >= 4 (coalesce_decide in "
                "harness/worker.c); kernel_stamped %.4f, wakeups %.0f\n",
                c->kernel_stamped, c->wakeups);
    CU_ASSERT(c->pauses > 0);
    CU_ASSERT(c->kernel_stamped == 1.0);
    CU_ASSERT(mn > -COALESCE_EARLY_MS);
    CU_ASSERT(p10 < COALESCE_P10_MS);
    CU_ASSERT(p50 < COALESCE_P50_MS);
    CU_ASSERT(mx < COALESCE_MAX_MS);
    free(errs);
    free(ch);
    free(rows);
    cutest_send_log_free(&sl);
    results_file_close(f);
    free(err);
    unlink(h5);
    unlink(log);
    free(h5);
    free(log);
}

static CU_TestInfo tests[] = {
    {"default on plain http: native, every read kernel-stamped", test_default_native},
    {"$BENCH_IO_URING=off and =on", test_ring_choice},
    {"$BENCH_TRANSPORT=libcurl", test_env_libcurl},
    {"--transport libcurl", test_flag_libcurl},
    {"--transport native wins over $BENCH_TRANSPORT", test_flag_over_env},
    {"bad transport choices: usage errors", test_usage_errors},
    {"keep-alive race, native: every request sent again and answered", test_race_native},
    {"keep-alive race, libcurl", test_race_libcurl},
    {"read coalescing: pauses taken, chunk times still the kernel's", test_coalescing_accuracy},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    rxring *r = NULL;
    bench_err e;
    g_ring = rxring_create(1, &r, &e) == BENCH_OK;
    rxring_destroy(r);
    g_want_ring = g_ring;
    printf("io_uring %s\n", g_ring ? "available: the native transport reads through it" : e.msg);
    g_dir = cutest_tmpdir("transport");
    if (!g_dir) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    int rc = cutest_run("transport", tests);
    rmdir(g_dir);
    free(g_dir);
    return rc;
}
