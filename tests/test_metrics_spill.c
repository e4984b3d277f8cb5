/* Unit tests: metrics_acc's spill file (harness/metrics.h). The same rows
 * fed through a tiny in-memory bound, so that the samples go to the spill
 * file as many sorted runs, must give level metrics identical to the bit to
 * those of keeping every sample in memory: percentiles, mean, min, max and
 * counts of every distribution. Also: finishing twice, the per-token ITL
 * beginning after a spill, the accessors reading samples back, an
 * accumulator that keeps requests never spilling, the environment variable,
 * and the fallbacks when the file cannot be created, would leave less than
 * 64 MiB free, or stops taking writes. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"
#include "metrics.h"

#define MS 1000000LL

/* A level's rows and full chunk table, from a seeded generator. */
typedef struct {
    req_record *rows;
    chunk_record *chunks;
    size_t n, nchunks;
} level_data;

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A gap in ns: many ties (a steady pace, identical timestamps), a wide
 * range (1 ns to seconds), so that sorting order and float rounding both
 * matter. */
static int64_t gap_ns(uint64_t *s)
{
    uint64_t u = rnd(s) % 100;
    if (u < 30)
        return 20 * MS;
    if (u < 35)
        return 0;
    if (u < 38)
        return 1 + (int64_t)(rnd(s) % 3);
    if (u < 40)
        return 5000 * MS + (int64_t)(rnd(s) % (1000 * MS));
    return 1 + (int64_t)(rnd(s) % (200 * MS));
}

/* n requests (the first 16 warm-up); about 3% failures, some early stops,
 * some without usage; from request diverge_at on, some chunks carry
 * several tokens (so per-token ITL starts mid-level). */
static void make_level(level_data *d, size_t n, size_t diverge_at, uint64_t seed)
{
    uint64_t s = seed;
    d->n = n;
    d->rows = calloc(n, sizeof *d->rows);
    size_t cap = 1024;
    d->chunks = malloc(cap * sizeof *d->chunks);
    d->nchunks = 0;
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        req_record *r = &d->rows[i];
        t += (int64_t)(rnd(&s) % (30 * MS));
        r->id = i;
        r->warmup = i < 16;
        r->t_sched_ns = t;
        r->t_send_ns = rnd(&s) % 10 == 0 ? -1 : t + (int64_t)(rnd(&s) % (2 * MS));
        int64_t send = r->t_send_ns >= 0 ? r->t_send_ns : t;
        uint64_t u = rnd(&s) % 100;
        r->status = u < 2 ? REQ_HTTP_ERROR : u < 3 ? REQ_RESET : u < 6 ? REQ_EARLY_STOP : REQ_OK;
        r->prompt_tokens = rnd(&s) % 4 ? 100 + (int32_t)(rnd(&s) % 50) : -1;
        uint32_t nc = r->status == REQ_HTTP_ERROR ? 0 : (uint32_t)(rnd(&s) % 120);
        r->chunk_offset = d->nchunks;
        r->chunk_count = nc;
        int64_t ct = send + 5 * MS + (int64_t)(rnd(&s) % (400 * MS));
        int32_t tokens = 0;
        for (uint32_t j = 0; j < nc; j++) {
            if (d->nchunks == cap)
                d->chunks = realloc(d->chunks, (cap *= 2) * sizeof *d->chunks);
            if (j)
                ct += gap_ns(&s);
            uint32_t k = i >= diverge_at && rnd(&s) % 5 == 0 ? 2 + (uint32_t)(rnd(&s) % 3) : 1;
            d->chunks[d->nchunks++] = (chunk_record){i, ct, 40, k};
            tokens += (int32_t)k;
        }
        r->t_first_token_ns = nc ? d->chunks[r->chunk_offset].t_ns : -1;
        r->t_last_token_ns = nc ? ct : -1;
        r->t_end_ns = (nc ? ct : send) + (int64_t)(rnd(&s) % MS);
        r->output_tokens = nc && rnd(&s) % 3 ? tokens : -1;
    }
}

static void free_level(level_data *d)
{
    free(d->rows);
    free(d->chunks);
}

/* Feed rows [from, to) in batches of 37 rows (with the full chunk table). */
static int feed(metrics_acc *a, const level_data *d, size_t from, size_t to)
{
    bench_err e;
    for (size_t i = from; i < to; i += 37) {
        size_t k = to - i < 37 ? to - i : 37;
        if (metrics_acc_add(a, d->rows + i, k, d->chunks, d->nchunks, &e)) {
            fprintf(stderr, "add: %s\n", e.msg);
            return -1;
        }
    }
    return 0;
}

#define SAME(f) (memcmp(&x->f, &y->f, sizeof x->f) == 0)

/* Every computed field of two level_metrics, bit for bit (the carried
 * fields, set by callers, are not the accumulator's). 0 when identical,
 * else the first differing field is named on stderr. */
static int metrics_differ(const level_metrics *x, const level_metrics *y)
{
    struct {
        const char *name;
        int same;
    } f[] = {
        {"n_rows", SAME(n_rows)},
        {"n_warmup", SAME(n_warmup)},
        {"n_measured", SAME(n_measured)},
        {"n_ok", SAME(n_ok)},
        {"n_failed", SAME(n_failed)},
        {"n_early_stop", SAME(n_early_stop)},
        {"by_class", SAME(by_class)},
        {"n_usage", SAME(n_usage)},
        {"chunks", SAME(chunks)},
        {"output_tokens", SAME(output_tokens)},
        {"prompt_tokens", SAME(prompt_tokens)},
        {"duration_s", SAME(duration_s)},
        {"output_tps", SAME(output_tps)},
        {"total_tps", SAME(total_tps)},
        {"req_per_s", SAME(req_per_s)},
        {"error_rate", SAME(error_rate)},
        {"ttft_ms", SAME(ttft_ms)},
        {"tpot_ms", SAME(tpot_ms)},
        {"itl_ms", SAME(itl_ms)},
        {"e2e_ms", SAME(e2e_ms)},
        {"itl_token_ms", SAME(itl_token_ms)},
        {"queue_ms", SAME(queue_ms)},
        {"ttft_sched_ms", SAME(ttft_sched_ms)},
        {"e2e_sched_ms", SAME(e2e_sched_ms)},
        {"offered_rate", SAME(offered_rate)},
        {"achieved_rate", SAME(achieved_rate)},
        {"n_excluded_window", SAME(n_excluded_window)},
        {"chunks_ne_tokens", SAME(chunks_ne_tokens)},
        {"has_slo", SAME(has_slo)},
        {"n_good", SAME(n_good)},
        {"good_req_per_s", SAME(good_req_per_s)},
        {"good_fraction", SAME(good_fraction)},
        {"concurrency", SAME(concurrency)},
        {"key.kind", SAME(key.kind)},
        {"key.value", SAME(key.value)},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!f[i].same) {
            fprintf(stderr, "level_metrics differ in %s\n", f[i].name);
            return 1;
        }
    return 0;
}

static metrics_opts opts_with(size_t spill_bytes)
{
    metrics_opts o;
    metrics_opts_default(&o);
    CU_ASSERT_EQUAL(o.spill_bytes, 0);
    CU_ASSERT(metrics_parse_slo("ttft=300ms,tpot=60ms", &o.slo, &(bench_err){0}) == BENCH_OK);
    o.spill_bytes = spill_bytes;
    return o;
}

/* The metrics of d (fed in batches) under a spill bound; *spilled = the
 * samples in the file before finish. With mid, also the metrics after the
 * first half, the same accumulator then fed the rest (finish, then more). */
static int level_under(const level_data *d, size_t spill_bytes, level_metrics *mid,
                       level_metrics *end, size_t *spilled)
{
    metrics_opts o = opts_with(spill_bytes);
    metrics_acc *a = NULL;
    bench_err e;
    int rc = -1;
    if (metrics_acc_create_key(level_rate(8.5), &o, &a, &e))
        return -1;
    size_t half = mid ? d->n / 2 : d->n;
    if (feed(a, d, 0, half))
        goto out;
    if (mid) {
        memset(mid, 0, sizeof *mid);
        if (metrics_acc_finish(a, mid, &e) || feed(a, d, half, d->n))
            goto out;
    }
    *spilled = metrics_acc_spilled(a);
    memset(end, 0, sizeof *end);
    if (metrics_acc_finish(a, end, &e)) {
        fprintf(stderr, "finish: %s\n", e.msg);
        goto out;
    }
    rc = 0;
out:
    metrics_acc_destroy(a);
    return rc;
}

static void test_same_figures(void)
{
    level_data d;
    make_level(&d, 3000, 1700, 42);
    level_metrics ref_mid, ref, mid, m;
    size_t spilled;
    CU_ASSERT_EQUAL_FATAL(level_under(&d, METRICS_SPILL_NEVER, &ref_mid, &ref, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    /* the level is what the test means: failures, many gaps, per-token ITL
     * apart from per-chunk ITL */
    CU_ASSERT(ref.n_failed > 0 && ref.n_early_stop > 0 && ref.n_good > 0);
    CU_ASSERT(ref.itl_ms.n > 100000);
    CU_ASSERT(ref.itl_token_ms.n > ref.itl_ms.n);
    CU_ASSERT(ref_mid.itl_token_ms.n == ref_mid.itl_ms.n);
    CU_ASSERT(isfinite(ref.ttft_ms.p999) && isfinite(ref.queue_ms.mean));

    /* from a spill at every request (a run per array each time) to a few */
    const size_t bounds[] = {1, 64, 1000, 4096, 65536, 300000};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(level_under(&d, bounds[i], &mid, &m, &spilled), 0);
        CU_ASSERT(spilled > 0);
        CU_ASSERT_EQUAL(metrics_differ(&ref_mid, &mid), 0);
        CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
        /* and fed at once, finished once */
        CU_ASSERT_EQUAL_FATAL(level_under(&d, bounds[i], NULL, &m, &spilled), 0);
        CU_ASSERT(spilled > 0);
        CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
    }
    /* a bound above everything: never spills, same figures */
    CU_ASSERT_EQUAL_FATAL(level_under(&d, 64u << 20, NULL, &m, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);

    /* tiny levels: one request, one gap */
    level_data t;
    make_level(&t, 20, 0, 7);
    level_metrics r1, m1;
    CU_ASSERT_EQUAL_FATAL(level_under(&t, METRICS_SPILL_NEVER, NULL, &r1, &spilled), 0);
    CU_ASSERT_EQUAL_FATAL(level_under(&t, 1, NULL, &m1, &spilled), 0);
    CU_ASSERT(spilled > 0);
    CU_ASSERT_EQUAL(metrics_differ(&r1, &m1), 0);
    free_level(&t);
    free_level(&d);
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* metrics_acc_ttft and metrics_acc_itl read spilled samples back: the same
 * multisets as an accumulator that never spilled. */
static void test_accessors_read_back(void)
{
    level_data d;
    make_level(&d, 800, 400, 3);
    metrics_opts on = opts_with(METRICS_SPILL_NEVER), small = opts_with(512);
    metrics_acc *a = NULL, *b = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(metrics_acc_create(8, &on, &a, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(metrics_acc_create(8, &small, &b, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(feed(a, &d, 0, d.n), 0);
    CU_ASSERT_EQUAL_FATAL(feed(b, &d, 0, d.n), 0);
    level_metrics ma, mb;
    CU_ASSERT_EQUAL(metrics_acc_finish(a, &ma, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_acc_finish(b, &mb, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_differ(&ma, &mb), 0);
    size_t before = metrics_acc_spilled(b);
    CU_ASSERT(before > 0);

    size_t na, nb;
    const float *ga = metrics_acc_itl(a, &na);
    float *ca = malloc((na + 1) * sizeof *ca);
    memcpy(ca, ga, na * sizeof *ca);
    const float *gb = metrics_acc_itl(b, &nb);
    CU_ASSERT_EQUAL_FATAL(na, nb);
    CU_ASSERT_EQUAL(nb, mb.itl_ms.n);
    float *cb = malloc((nb + 1) * sizeof *cb);
    memcpy(cb, gb, nb * sizeof *cb);
    qsort(ca, na, sizeof *ca, cmp_f);
    qsort(cb, nb, sizeof *cb, cmp_f);
    CU_ASSERT(memcmp(ca, cb, na * sizeof *ca) == 0);
    CU_ASSERT(metrics_acc_spilled(b) < before);
    free(ca);
    free(cb);

    const double *ta = metrics_acc_ttft(a, &na);
    double *da = malloc((na + 1) * sizeof *da);
    memcpy(da, ta, na * sizeof *da);
    const double *tb = metrics_acc_ttft(b, &nb);
    CU_ASSERT_EQUAL_FATAL(na, nb);
    double *db = malloc((nb + 1) * sizeof *db);
    memcpy(db, tb, nb * sizeof *db);
    qsort(da, na, sizeof *da, cmp_d);
    qsort(db, nb, sizeof *db, cmp_d);
    CU_ASSERT(memcmp(da, db, na * sizeof *da) == 0);
    free(da);
    free(db);

    /* everything back; finishing again gives the same; then it spills anew */
    CU_ASSERT_EQUAL(metrics_acc_load(b, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_acc_spilled(b), 0);
    CU_ASSERT_EQUAL(metrics_acc_finish(b, &mb, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_differ(&ma, &mb), 0);
    CU_ASSERT_EQUAL_FATAL(feed(a, &d, 0, d.n), 0);
    CU_ASSERT_EQUAL_FATAL(feed(b, &d, 0, d.n), 0);
    CU_ASSERT(metrics_acc_spilled(b) > 0);
    CU_ASSERT_EQUAL(metrics_acc_finish(a, &ma, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_acc_finish(b, &mb, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_differ(&ma, &mb), 0);
    metrics_acc_destroy(a);
    metrics_acc_destroy(b);
    free_level(&d);
}

/* An accumulator keeping requests never spills: the requests' ITL ranges
 * index the gaps in the order added. */
static void test_keep_requests_no_spill(void)
{
    level_data d;
    make_level(&d, 300, 1000, 9);
    metrics_opts small = opts_with(64);
    metrics_acc *a = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(metrics_acc_create(4, &small, &a, &e), BENCH_OK);
    metrics_acc_keep_requests(a);
    CU_ASSERT_EQUAL_FATAL(feed(a, &d, 0, d.n), 0);
    CU_ASSERT_EQUAL(metrics_acc_spilled(a), 0);
    size_t nr, ng;
    const metrics_req *rq = metrics_acc_requests(a, &nr);
    const float *g = metrics_acc_itl(a, &ng);
    CU_ASSERT_EQUAL(nr, 300 - 16);
    /* the first success with a few gaps: its gaps, in order */
    int checked = 0;
    for (size_t i = 0; i < nr && !checked; i++) {
        if (!rq[i].ok || rq[i].itl_count < 3)
            continue;
        const req_record *r = &d.rows[16 + i];
        const chunk_record *c = d.chunks + r->chunk_offset;
        CU_ASSERT_EQUAL_FATAL(rq[i].itl_count, r->chunk_count - 1);
        for (uint32_t j = 0; j < rq[i].itl_count; j++)
            CU_ASSERT(g[rq[i].itl_first + j] == (float)((double)(c[j + 1].t_ns - c[j].t_ns) / 1e6));
        checked = 1;
    }
    CU_ASSERT(checked);
    metrics_acc_destroy(a);
    free_level(&d);
}

/* BENCH_METRICS_SPILL_BYTES sets the default bound; 0 there means never. */
static void test_environment(void)
{
    level_data d;
    make_level(&d, 400, 200, 11);
    level_metrics ref, m;
    size_t spilled;
    CU_ASSERT_EQUAL_FATAL(level_under(&d, METRICS_SPILL_NEVER, NULL, &ref, &spilled), 0);
    setenv("BENCH_METRICS_SPILL_BYTES", "2048", 1);
    CU_ASSERT_EQUAL_FATAL(level_under(&d, 0, NULL, &m, &spilled), 0);
    CU_ASSERT(spilled > 0);
    CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
    setenv("BENCH_METRICS_SPILL_BYTES", "0", 1);
    CU_ASSERT_EQUAL_FATAL(level_under(&d, 0, NULL, &m, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
    unsetenv("BENCH_METRICS_SPILL_BYTES");
    /* the default, 1 MiB: this level's samples stay under it */
    CU_ASSERT_EQUAL_FATAL(level_under(&d, 0, NULL, &m, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    free_level(&d);
}

/* No spill file can be created ($TMPDIR missing): the samples stay in
 * memory, the figures are the same. */
static void test_no_spill_dir(void)
{
    level_data d;
    make_level(&d, 400, 200, 13);
    level_metrics ref, m;
    size_t spilled;
    CU_ASSERT_EQUAL_FATAL(level_under(&d, METRICS_SPILL_NEVER, NULL, &ref, &spilled), 0);
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent/bench-spill-test", 1);
    CU_ASSERT_EQUAL_FATAL(level_under(&d, 64, NULL, &m, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    free_level(&d);
}

/* The spill file's file system has less than 64 MiB free (a 16 MiB tmpfs
 * as $TMPDIR): nothing is spilled, the figures are the same. Needs root
 * (mount); skipped with a note otherwise. */
static void test_little_free_space(void)
{
    char *dir = cutest_tmpdir("spill-tmpfs");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    if (geteuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, "size=16m") != 0) {
        fprintf(stderr, "SKIPPED: little free space: cannot mount a tmpfs at %s (%s)\n", dir,
                strerror(errno));
        free(dir);
        return;
    }
    level_data d;
    make_level(&d, 400, 200, 19);
    level_metrics ref, m;
    size_t spilled;
    CU_ASSERT_EQUAL(level_under(&d, METRICS_SPILL_NEVER, NULL, &ref, &spilled), 0);
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", dir, 1);
    CU_ASSERT_EQUAL(level_under(&d, 4096, NULL, &m, &spilled), 0);
    CU_ASSERT_EQUAL(spilled, 0);
    CU_ASSERT_EQUAL(metrics_differ(&ref, &m), 0);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    CU_ASSERT_EQUAL(umount(dir), 0);
    rmdir(dir);
    free(dir);
    free_level(&d);
}

/* The spill file stops taking writes part way (a file size limit, as a
 * full disk would): the runs written stay in use, the rest stays in
 * memory, the figures are the same. In a child, which alone gets the
 * limit. */
static void test_write_fails_midway(void)
{
    level_data d;
    make_level(&d, 1500, 700, 17);
    level_metrics ref;
    size_t spilled;
    CU_ASSERT_EQUAL_FATAL(level_under(&d, METRICS_SPILL_NEVER, NULL, &ref, &spilled), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        if (setrlimit(RLIMIT_FSIZE, &rl))
            _exit(3);
        level_metrics m;
        if (level_under(&d, 4096, NULL, &m, &spilled))
            _exit(4);
        /* some runs were written before the limit, not all */
        if (spilled == 0 || spilled >= ref.itl_ms.n)
            _exit(5);
        _exit(metrics_differ(&ref, &m) ? 6 : 0);
    }
    int ws = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &ws, 0), pid);
    CU_ASSERT(WIFEXITED(ws));
    CU_ASSERT_EQUAL(WEXITSTATUS(ws), 0);
    free_level(&d);
}

static CU_TestInfo tests[] = {
    {"same figures spilled or not, to the bit", test_same_figures},
    {"accessors read spilled samples back", test_accessors_read_back},
    {"keeping requests never spills", test_keep_requests_no_spill},
    {"BENCH_METRICS_SPILL_BYTES", test_environment},
    {"no spill directory: kept in memory", test_no_spill_dir},
    {"little free space: kept in memory", test_little_free_space},
    {"spill file stops taking writes", test_write_fails_midway},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("metrics_spill", tests);
}
