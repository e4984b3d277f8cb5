#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Sorted samples written to the spill file: n of them from byte off. */
typedef struct {
    off_t off;
    size_t n;
} spill_run;

/* A growable array of samples (elem bytes each: double or float), of which
 * n_spilled are in the spill file as sorted runs and n in memory. Once
 * spilled, the samples are a bag: only their multiset matters. */
typedef struct {
    void *v;
    size_t n, cap, elem;
    size_t n_spilled;
    spill_run *runs;
    size_t nruns, runcap;
} samples;

static int samples_push(samples *s, const void *x)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        void *nv = realloc(s->v, ncap * s->elem);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    memcpy((char *)s->v + s->n * s->elem, x, s->elem);
    s->n++;
    return 0;
}

/* All samples of s, spilled or not. */
static size_t samples_total(const samples *s)
{
    return s->n_spilled + s->n;
}

/* Spilled runs are sorted as stats.c sorts (the same comparators), so the
 * merged order, and every figure drawn from it, is stats.c's. */
static void samples_sort(samples *s)
{
    qsort(s->v, s->n, s->elem, s->elem == sizeof(float) ? stats_cmp_float : stats_cmp_double);
}

static double sample_at(const samples *s, const void *v, size_t i)
{
    return s->elem == sizeof(float) ? (double)((const float *)v)[i] : ((const double *)v)[i];
}

#define N_SAMPLES 8 /* the sample arrays of an accumulator (acc_samples) */

struct metrics_acc {
    level_metrics m; /* counters and sums; distributions filled at finish */
    metrics_opts opts;
    int64_t w_start, w_end;
    samples ttft, tpot, e2e, queue; /* double, ms */
    samples ttft_sched, e2e_sched;  /* double, ms, from t_sched */
    int64_t send_lo, send_hi;       /* first and last actual send of measured requests */
    uint64_t n_sent;                /* measured requests with an actual send */
    samples itl, itl_token;         /* float, ms */
    /* Until a chunk carries more than one token, per-token ITL equals
     * per-chunk ITL and itl_token stays empty (half the memory). */
    int tokens_diverged;
    int keep_requests; /* metrics_acc_keep_requests */
    samples reqs;      /* metrics_req (never spilled) */
    /* Spilling: at spill_limit bytes of samples in memory, the arrays go
     * to spill_fd (an unlinked file, -1 until the first spill),
     * appended at spill_end. spill_off: never (keep_requests, no bound, or
     * the file failed). */
    size_t spill_limit;
    int spill_fd;
    off_t spill_end;
    int spill_off;
};

static void acc_samples(metrics_acc *a, samples *out[N_SAMPLES])
{
    samples *all[N_SAMPLES] = {&a->ttft,       &a->tpot,      &a->e2e, &a->queue,
                               &a->ttft_sched, &a->e2e_sched, &a->itl, &a->itl_token};
    memcpy(out, all, sizeof all);
}

/* At most once per process: the spill file failed, so samples stay in
 * memory. The measurement is unaffected; only the memory bound is lost. */
static atomic_int spill_noted;

static void spill_note(const char *what, const char *dir, int e)
{
    if (!atomic_exchange(&spill_noted, 1))
        fprintf(stderr,
                "bench: note: level metrics samples kept in memory: their spill file in %s: "
                "cannot %s (%s)\n",
                dir, what, strerror(e));
}

static const char *spill_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

/* An unlinked read-write file in spill_dir(): O_TMPFILE, else mkostemp and
 * unlink. -1 with errno when neither works. */
static int spill_create(void)
{
    const char *dir = spill_dir();
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/bench-metrics-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* the file is shorter than what was written */
            return -1;
        }
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

static int runs_reserve(samples *s, size_t more)
{
    if (s->nruns + more <= s->runcap)
        return 0;
    size_t ncap = s->runcap ? s->runcap * 2 : 16;
    while (ncap < s->nruns + more)
        ncap *= 2;
    spill_run *nr = realloc(s->runs, ncap * sizeof *nr);
    if (!nr)
        return -1;
    s->runs = nr;
    s->runcap = ncap;
    return 0;
}

/* The spill file leaves this much free on its file system: when the
 * results file shares it, the run's reserve guard (docs/RELIABILITY.md)
 * needs the space more than the samples, which can stay in memory. */
#define SPILL_KEEP_FREE ((uint64_t)64 << 20)

/* Sort s's samples in memory and append them to the spill file as one run.
 * On failure (errno set, *what naming the step) s is unchanged but for the
 * order of its samples. */
static int spill_samples(metrics_acc *a, samples *s, const char **what)
{
    if (a->spill_fd < 0) {
        *what = "create";
        if ((a->spill_fd = spill_create()) < 0)
            return -1;
    }
    *what = "write";
    if (runs_reserve(s, 1))
        return -1; /* errno ENOMEM */
    size_t bytes = s->n * s->elem;
    struct statvfs sv;
    if (fstatvfs(a->spill_fd, &sv) == 0 &&
        (uint64_t)sv.f_bavail * sv.f_frsize < SPILL_KEEP_FREE + bytes) {
        *what = "grow and leave 64 MiB free";
        errno = ENOSPC;
        return -1;
    }
    samples_sort(s);
    if (pwrite_all(a->spill_fd, s->v, bytes, a->spill_end))
        return -1;
    s->runs[s->nruns++] = (spill_run){a->spill_end, s->n};
    a->spill_end += (off_t)bytes;
    s->n_spilled += s->n;
    s->n = 0;
    return 0;
}

/* Keep the samples in memory under the bound: when they reach it, every
 * array goes to the file. (Spilling only the largest would leave the
 * per-request arrays in memory longer, each at its own size, so that the
 * pages they touch, which stay resident, would creep up to twice their
 * share.) Called between requests. A failure turns spilling off for good
 * and is noted; the samples stay where they are. */
static void spill_check(metrics_acc *a)
{
    if (a->spill_off)
        return;
    samples *all[N_SAMPLES];
    acc_samples(a, all);
    size_t mem = 0;
    for (int i = 0; i < N_SAMPLES; i++)
        mem += all[i]->n * all[i]->elem;
    if (mem < a->spill_limit)
        return;
    for (int i = 0; i < N_SAMPLES; i++) {
        const char *what = "write";
        if (all[i]->n && spill_samples(a, all[i], &what)) {
            spill_note(what, spill_dir(), errno);
            a->spill_off = 1;
            return;
        }
    }
}

/* Bring s's spilled samples back into memory, after those there. */
static bench_status samples_load(metrics_acc *a, samples *s, bench_err *err)
{
    if (!s->n_spilled)
        return BENCH_OK;
    size_t need = samples_total(s);
    if (need > s->cap) {
        void *nv = realloc(s->v, need * s->elem);
        if (!nv)
            return bench_fail(err, BENCH_ENOMEM, "out of memory reading back level metrics");
        s->v = nv;
        s->cap = need;
    }
    char *dst = (char *)s->v + s->n * s->elem;
    for (size_t r = 0; r < s->nruns; r++) {
        size_t bytes = s->runs[r].n * s->elem;
        if (pread_all(a->spill_fd, dst, bytes, s->runs[r].off))
            return bench_fail(err, BENCH_EIO,
                              "reading back level metrics samples from their spill file: %s",
                              strerror(errno));
        dst += bytes;
    }
    /* the file's space is not reclaimed: the runs may be shared
     * (itl_token's seed) and the file goes with the accumulator */
    s->n = need;
    s->n_spilled = 0;
    s->nruns = 0;
    return BENCH_OK;
}

void metrics_opts_default(metrics_opts *o)
{
    o->slo.ttft_ms = o->slo.tpot_ms = o->slo.e2e_ms = NAN;
    o->window_lo_ns = INT64_MIN;
    o->window_hi_ns = INT64_MAX;
    o->spill_bytes = 0;
}

bench_status metrics_parse_slo(const char *spec, metrics_slo *slo, bench_err *err)
{
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        return bench_fail(err, BENCH_EUSAGE, "--slo: value too long");
    strcpy(buf, spec);
    slo->ttft_ms = slo->tpot_ms = slo->e2e_ms = NAN;
    char *save = NULL;
    int any = 0;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        if (!eq)
            return bench_fail(err, BENCH_EUSAGE,
                              "--slo: '%s' should be METRIC=LIMIT (metrics: ttft, tpot, e2e)", it);
        *eq = '\0';
        double *dst = strcmp(it, "ttft") == 0   ? &slo->ttft_ms
                      : strcmp(it, "tpot") == 0 ? &slo->tpot_ms
                      : strcmp(it, "e2e") == 0  ? &slo->e2e_ms
                                                : NULL;
        if (!dst)
            return bench_fail(err, BENCH_EUSAGE,
                              "--slo: unknown metric '%s' (metrics: ttft, tpot, e2e)", it);
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || !(v > 0) || !isfinite(v))
            return bench_fail(err, BENCH_EUSAGE, "--slo: %s limit '%s' is not a positive duration",
                              it, eq + 1);
        if (strcmp(end, "ms") == 0)
            ;
        else if (strcmp(end, "s") == 0)
            v *= 1000;
        else if (strcmp(end, "m") == 0)
            v *= 60000;
        else
            return bench_fail(err, BENCH_EUSAGE, "--slo: %s limit '%s' needs a unit (ms, s, m)", it,
                              eq + 1);
        *dst = v;
        any = 1;
    }
    if (!any)
        return bench_fail(err, BENCH_EUSAGE, "--slo: empty (e.g. ttft=100ms,tpot=50ms,e2e=5s)");
    return BENCH_OK;
}

bench_status metrics_acc_create(int concurrency, const metrics_opts *opts, metrics_acc **out,
                                bench_err *err)
{
    return metrics_acc_create_key(level_conc(concurrency), opts, out, err);
}

bench_status metrics_acc_create_key(level_key k, const metrics_opts *opts, metrics_acc **out,
                                    bench_err *err)
{
    metrics_acc *a = calloc(1, sizeof *a);
    if (!a)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    a->m.key = k;
    a->m.concurrency = level_concurrency(k);
    a->m.offered_rate = k.kind == LEVEL_RATE ? k.value : NAN;
    a->send_lo = INT64_MAX;
    a->send_hi = INT64_MIN;
    if (opts)
        a->opts = *opts;
    else
        metrics_opts_default(&a->opts);
    const metrics_slo *slo = &a->opts.slo;
    a->m.has_slo = !isnan(slo->ttft_ms) || !isnan(slo->tpot_ms) || !isnan(slo->e2e_ms);
    a->w_start = INT64_MAX;
    a->w_end = INT64_MIN;
    a->ttft.elem = a->tpot.elem = a->e2e.elem = a->queue.elem = sizeof(double);
    a->ttft_sched.elem = a->e2e_sched.elem = sizeof(double);
    a->itl.elem = a->itl_token.elem = sizeof(float);
    a->reqs.elem = sizeof(metrics_req);
    a->spill_fd = -1;
    a->spill_limit = a->opts.spill_bytes;
    if (a->spill_limit == 0) {
        const char *env = getenv("BENCH_METRICS_SPILL_BYTES");
        char *end;
        unsigned long long v = env && *env ? strtoull(env, &end, 10) : 0;
        if (env && *env && *end == '\0')
            a->spill_limit = v == 0 || v > SIZE_MAX ? METRICS_SPILL_NEVER : (size_t)v;
        else
            a->spill_limit = METRICS_SPILL_DEFAULT;
    }
    a->spill_off = a->spill_limit == METRICS_SPILL_NEVER;
    *out = a;
    return BENCH_OK;
}

/* The accessors' read-back: a failure leaves the array as it was. */
static const void *acc_loaded(metrics_acc *a, samples *s, size_t *n)
{
    bench_err e;
    if (samples_load(a, s, &e)) {
        fprintf(stderr, "bench: %s\n", e.msg);
        *n = 0;
        return NULL;
    }
    *n = s->n;
    return s->v;
}

const double *metrics_acc_ttft(metrics_acc *a, size_t *n)
{
    return acc_loaded(a, &a->ttft, n);
}

const float *metrics_acc_itl(metrics_acc *a, size_t *n)
{
    return acc_loaded(a, &a->itl, n);
}

bench_status metrics_acc_load(metrics_acc *a, bench_err *err)
{
    samples *all[N_SAMPLES];
    acc_samples(a, all);
    for (int i = 0; i < N_SAMPLES; i++) {
        bench_status st = samples_load(a, all[i], err);
        if (st)
            return st;
    }
    return BENCH_OK;
}

size_t metrics_acc_spilled(const metrics_acc *a)
{
    const samples *all[N_SAMPLES] = {&a->ttft,       &a->tpot,      &a->e2e, &a->queue,
                                     &a->ttft_sched, &a->e2e_sched, &a->itl, &a->itl_token};
    size_t n = 0;
    for (int i = 0; i < N_SAMPLES; i++)
        n += all[i]->n_spilled;
    return n;
}

void metrics_acc_keep_requests(metrics_acc *a)
{
    a->keep_requests = 1;
    a->spill_off = 1;
}

const metrics_req *metrics_acc_requests(const metrics_acc *a, size_t *n)
{
    *n = a->reqs.n;
    return a->reqs.v;
}

void metrics_acc_destroy(metrics_acc *a)
{
    if (!a)
        return;
    samples *all[N_SAMPLES];
    acc_samples(a, all);
    for (int i = 0; i < N_SAMPLES; i++) {
        free(all[i]->v);
        free(all[i]->runs);
    }
    free(a->reqs.v);
    if (a->spill_fd >= 0)
        close(a->spill_fd);
    free(a);
}

bench_status metrics_acc_add(metrics_acc *a, const req_record *rows, size_t n,
                             const chunk_record *chunks, size_t nchunks, bench_err *err)
{
    level_metrics *m = &a->m;
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        if (r->chunk_offset > nchunks || r->chunk_count > nchunks - r->chunk_offset)
            return bench_fail(err, BENCH_EINPUT,
                              "request %llu: chunk range [%llu, +%u) outside the %zu-row table",
                              (unsigned long long)r->id, (unsigned long long)r->chunk_offset,
                              r->chunk_count, nchunks);
    }
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        spill_check(a);
        m->n_rows++;
        if (r->warmup) {
            m->n_warmup++;
            continue;
        }
        int64_t t_begin = r->t_send_ns >= 0 ? r->t_send_ns : r->t_sched_ns;
        if (t_begin < a->opts.window_lo_ns || r->t_end_ns > a->opts.window_hi_ns) {
            m->n_excluded_window++;
            continue;
        }
        m->n_measured++;
        if (r->status >= 0 && r->status < REQ_CLASS_COUNT)
            m->by_class[r->status]++;
        if (r->t_send_ns >= 0 && r->t_sched_ns >= 0) {
            double q = (double)(r->t_send_ns - r->t_sched_ns) / 1e6;
            if (samples_push(&a->queue, &q))
                goto oom;
        }
        if (r->t_send_ns >= 0) {
            a->n_sent++;
            if (r->t_send_ns < a->send_lo)
                a->send_lo = r->t_send_ns;
            if (r->t_send_ns > a->send_hi)
                a->send_hi = r->t_send_ns;
        }
        if (t_begin >= 0 && t_begin < a->w_start)
            a->w_start = t_begin;
        if (r->t_end_ns > a->w_end)
            a->w_end = r->t_end_ns;
        metrics_req kept = {NAN, NAN, NAN, 0, 0, t_begin, samples_total(&a->itl), 0, 0, 0};
        if (r->t_end_ns >= 0 && t_begin >= 0 && r->t_end_ns > t_begin)
            kept.span_ms = (double)(r->t_end_ns - t_begin) / 1e6;
        if (!req_class_is_success(r->status)) {
            m->n_failed++;
            if (a->keep_requests && samples_push(&a->reqs, &kept))
                goto oom;
            continue;
        }
        m->n_ok++;
        if (r->status == REQ_EARLY_STOP)
            m->n_early_stop++;
        m->chunks += r->chunk_count;
        double out_tok = r->output_tokens >= 0 ? r->output_tokens : (double)r->chunk_count;
        if (r->output_tokens >= 0)
            m->n_usage++;
        m->output_tokens += out_tok;
        if (r->prompt_tokens >= 0)
            m->prompt_tokens += r->prompt_tokens;
        if (out_tok != (double)r->chunk_count)
            m->chunks_ne_tokens = 1;
        double ttft = NAN, tpot = NAN, e2e = NAN;
        if (r->t_first_token_ns >= 0 && r->t_send_ns >= 0) {
            ttft = (double)(r->t_first_token_ns - r->t_send_ns) / 1e6;
            e2e = (double)(r->t_last_token_ns - r->t_send_ns) / 1e6;
            if (samples_push(&a->ttft, &ttft) || samples_push(&a->e2e, &e2e))
                goto oom;
            if (r->t_sched_ns >= 0) {
                double ts = (double)(r->t_first_token_ns - r->t_sched_ns) / 1e6;
                double es = (double)(r->t_last_token_ns - r->t_sched_ns) / 1e6;
                if (samples_push(&a->ttft_sched, &ts) || samples_push(&a->e2e_sched, &es))
                    goto oom;
            }
            if (out_tok >= 2) {
                tpot = (double)(r->t_last_token_ns - r->t_first_token_ns) / 1e6 / (out_tok - 1);
                if (samples_push(&a->tpot, &tpot))
                    goto oom;
            }
        }
        /* Good: within every limit set; a metric that could not be measured
         * (no first token, fewer than 2 tokens for TPOT) cannot meet one. */
        const metrics_slo *slo = &a->opts.slo;
        int good = m->has_slo && (isnan(slo->ttft_ms) || ttft <= slo->ttft_ms) &&
                   (isnan(slo->tpot_ms) || tpot <= slo->tpot_ms) &&
                   (isnan(slo->e2e_ms) || e2e <= slo->e2e_ms);
        if (good)
            m->n_good++;
        const chunk_record *c = chunks + r->chunk_offset;
        for (uint32_t j = 1; j < r->chunk_count; j++) {
            double gap = (double)(c[j].t_ns - c[j - 1].t_ns) / 1e6;
            float g = (float)gap;
            if (samples_push(&a->itl, &g))
                goto oom;
            uint32_t k = c[j].tokens ? c[j].tokens : 1;
            if (k > 1 && !a->tokens_diverged) {
                /* from now on keep per-token gaps apart: seed with the
                 * per-chunk gaps so far, minus this one (in memory: spills
                 * happen between requests). The spilled ones are shared:
                 * itl_token reads the same runs of the file. */
                a->tokens_diverged = 1;
                if (runs_reserve(&a->itl_token, a->itl.nruns))
                    goto oom;
                if (a->itl.nruns)
                    memcpy(a->itl_token.runs, a->itl.runs, a->itl.nruns * sizeof *a->itl.runs);
                a->itl_token.nruns = a->itl.nruns;
                a->itl_token.n_spilled = a->itl.n_spilled;
                const float *prev = a->itl.v;
                for (size_t q = 0; q + 1 < a->itl.n; q++)
                    if (samples_push(&a->itl_token, &prev[q]))
                        goto oom;
            }
            if (a->tokens_diverged) {
                float per = (float)(gap / k);
                for (uint32_t t = 0; t < k; t++)
                    if (samples_push(&a->itl_token, &per))
                        goto oom;
            }
        }
        if (a->keep_requests) {
            kept.ttft_ms = ttft;
            kept.tpot_ms = tpot;
            kept.e2e_ms = e2e;
            kept.output_tokens = out_tok;
            kept.itl_count = (uint32_t)(samples_total(&a->itl) - kept.itl_first);
            kept.ok = 1;
            kept.good = (unsigned char)good;
            if (samples_push(&a->reqs, &kept))
                goto oom;
        }
    }
    spill_check(a);
    return BENCH_OK;
oom:
    return bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
}

/* A sorted source for the merge: a run in the spill file read through buf,
 * or the sorted samples in memory (buf pointing at them, left = 0). */
typedef struct {
    off_t off;   /* next byte to read */
    size_t left; /* samples still in the file */
    char *buf;
    size_t pos, len, cap; /* samples buffered: next, count, room */
    double cur;           /* buf[pos] */
} merge_src;

static int src_next(const samples *s, int fd, merge_src *c)
{
    if (c->pos == c->len) {
        if (!c->left)
            return 0;
        size_t k = c->left < c->cap ? c->left : c->cap;
        if (pread_all(fd, c->buf, k * s->elem, c->off))
            return -1;
        c->off += (off_t)(k * s->elem);
        c->left -= k;
        c->pos = 0;
        c->len = k;
    }
    c->cur = sample_at(s, c->buf, c->pos++);
    return 1;
}

static void heap_down(merge_src **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l]->cur < h[m]->cur)
            m = l;
        if (l + 1 < n && h[l + 1]->cur < h[m]->cur)
            m = l + 1;
        if (m == i)
            return;
        merge_src *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* stats_dist_compute of every sample of s, spilled ones included, without
 * holding them: the sorted runs and the samples in memory (sorted here) are
 * merged into one ascending stream, summed in that order and read at the
 * ranks stats.c's percentiles interpolate between, with its arithmetic, so
 * the result is the same to the bit. Memory: a read buffer per run, about
 * the spill bound in all (at least 4 KiB a run). */
static bench_status merged_dist(metrics_acc *a, samples *s, stats_dist *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t n = samples_total(s), k = s->nruns + 1;
    merge_src *src = calloc(k, sizeof *src);
    merge_src **heap = calloc(k, sizeof *heap);
    size_t per = a->spill_limit / k / s->elem;
    if (per < 4096 / s->elem)
        per = 4096 / s->elem;
    static const double qs[5] = {50, 90, 95, 99, 99.9};
    double *dst[5] = {&out->p50, &out->p90, &out->p95, &out->p99, &out->p999};
    size_t lo[5];
    double xlo[5] = {0}, xhi[5] = {0};
    if (!src || !heap)
        goto oom;
    samples_sort(s);
    for (size_t r = 0; r < s->nruns; r++) {
        merge_src *c = &src[r];
        c->off = s->runs[r].off;
        c->left = s->runs[r].n;
        c->cap = c->left < per ? c->left : per;
        if (!(c->buf = malloc(c->cap * s->elem)))
            goto oom;
    }
    src[k - 1] = (merge_src){.buf = s->v, .len = s->n};
    size_t nh = 0;
    for (size_t r = 0; r < k; r++) {
        int got = src_next(s, a->spill_fd, &src[r]);
        if (got < 0)
            goto io;
        if (got)
            heap[nh++] = &src[r];
    }
    for (size_t i = nh / 2; i-- > 0;)
        heap_down(heap, nh, i);
    /* the ranks of stats.c's percentile(): x[lo] and x[lo + 1] */
    for (int q = 0; q < 5; q++)
        lo[q] = (size_t)floor((double)(n - 1) * qs[q] / 100.0);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        merge_src *c = heap[0];
        double x = c->cur;
        sum += x;
        if (i == 0)
            out->min = x;
        out->max = x;
        for (int q = 0; q < 5; q++) {
            if (i == lo[q])
                xlo[q] = x;
            else if (i == lo[q] + 1)
                xhi[q] = x;
        }
        int got = src_next(s, a->spill_fd, c);
        if (got < 0)
            goto io;
        if (!got)
            heap[0] = heap[--nh];
        heap_down(heap, nh, 0);
    }
    out->n = n;
    out->mean = sum / (double)n;
    for (int q = 0; q < 5; q++) {
        if (lo[q] + 1 >= n) {
            *dst[q] = out->max;
            continue;
        }
        double h = (double)(n - 1) * qs[q] / 100.0;
        double frac = h - (double)lo[q];
        *dst[q] = xlo[q] + frac * (xhi[q] - xlo[q]);
    }
    goto out;
oom:
    st = bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
    goto out;
io:
    st = bench_fail(err, BENCH_EIO, "reading back level metrics samples from their spill file: %s",
                    strerror(errno));
out:
    if (src)
        for (size_t r = 0; r + 1 < k; r++)
            free(src[r].buf);
    free(src);
    free(heap);
    return st;
}

bench_status metrics_acc_finish(metrics_acc *a, level_metrics *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    level_metrics *m = &a->m;
    /* stats_dist_compute sorts in place: the request samples still in
     * memory and never spilled are summarised from a copy, so that
     * metrics_acc_ttft keeps the order added. */
    samples *src[6] = {&a->ttft, &a->tpot, &a->e2e, &a->queue, &a->ttft_sched, &a->e2e_sched};
    stats_dist *dst[6] = {&m->ttft_ms,  &m->tpot_ms,       &m->e2e_ms,
                          &m->queue_ms, &m->ttft_sched_ms, &m->e2e_sched_ms};
    size_t nd = 0;
    for (int k = 0; k < 6; k++)
        if (!src[k]->n_spilled && src[k]->n > nd)
            nd = src[k]->n;
    double *tmp = malloc((nd + 1) * sizeof *tmp);
    if (!tmp) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
        goto out;
    }
    if (a->w_end > a->w_start && a->w_start != INT64_MAX) {
        m->duration_s = (double)(a->w_end - a->w_start) / 1e9;
        m->output_tps = m->output_tokens / m->duration_s;
        m->total_tps = (m->output_tokens + m->prompt_tokens) / m->duration_s;
        m->req_per_s = (double)m->n_ok / m->duration_s;
        m->good_req_per_s = m->has_slo ? (double)m->n_good / m->duration_s : NAN;
    } else {
        m->duration_s = 0;
        m->output_tps = m->total_tps = m->req_per_s = m->good_req_per_s = NAN;
    }
    m->good_fraction =
        m->has_slo && m->n_measured ? (double)m->n_good / (double)m->n_measured : NAN;
    m->error_rate = m->n_measured ? (double)m->n_failed / (double)m->n_measured : NAN;
    m->achieved_rate = a->n_sent >= 2 && a->send_hi > a->send_lo
                           ? (double)(a->n_sent - 1) / ((double)(a->send_hi - a->send_lo) / 1e9)
                           : NAN;
    for (int k = 0; k < 6; k++) {
        if (src[k]->n_spilled) {
            if ((st = merged_dist(a, src[k], dst[k], err)))
                goto out;
            continue;
        }
        memcpy(tmp, src[k]->v ? src[k]->v : tmp, src[k]->n * sizeof(double));
        stats_dist_compute(tmp, src[k]->n, dst[k]);
    }
    /* Gap samples are a bag: sorting them in place keeps the accumulator
     * valid for further batches. */
    if (a->itl.n_spilled)
        st = merged_dist(a, &a->itl, &m->itl_ms, err);
    else
        stats_dist_compute_f(a->itl.v, a->itl.n, &m->itl_ms);
    if (st)
        goto out;
    if (!a->tokens_diverged)
        m->itl_token_ms = m->itl_ms;
    else if (a->itl_token.n_spilled)
        st = merged_dist(a, &a->itl_token, &m->itl_token_ms, err);
    else
        stats_dist_compute_f(a->itl_token.v, a->itl_token.n, &m->itl_token_ms);
    if (st)
        goto out;
    *out = *m;
out:
    free(tmp);
    return st;
}

bench_status metrics_level(const req_record *rows, size_t n, const chunk_record *chunks,
                           size_t nchunks, int concurrency, level_metrics *out, bench_err *err)
{
    metrics_acc *a = NULL;
    bench_status st = metrics_acc_create(concurrency, NULL, &a, err);
    if (st)
        return st;
    memset(out, 0, sizeof *out);
    if (!(st = metrics_acc_add(a, rows, n, chunks, nchunks, err)))
        st = metrics_acc_finish(a, out, err);
    metrics_acc_destroy(a);
    return st;
}
