#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of samples. */
typedef struct {
    void *v;
    size_t n, cap, elem;
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
    samples reqs;      /* metrics_req */
};

void metrics_opts_default(metrics_opts *o)
{
    o->slo.ttft_ms = o->slo.tpot_ms = o->slo.e2e_ms = NAN;
    o->window_lo_ns = INT64_MIN;
    o->window_hi_ns = INT64_MAX;
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
    *out = a;
    return BENCH_OK;
}

const double *metrics_acc_ttft(const metrics_acc *a, size_t *n)
{
    *n = a->ttft.n;
    return a->ttft.v;
}

const float *metrics_acc_itl(const metrics_acc *a, size_t *n)
{
    *n = a->itl.n;
    return a->itl.v;
}

void metrics_acc_keep_requests(metrics_acc *a)
{
    a->keep_requests = 1;
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
    free(a->reqs.v);
    free(a->ttft.v);
    free(a->tpot.v);
    free(a->e2e.v);
    free(a->itl.v);
    free(a->queue.v);
    free(a->ttft_sched.v);
    free(a->e2e_sched.v);
    free(a->itl_token.v);
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
        metrics_req kept = {NAN, NAN, NAN, 0, 0, t_begin, a->itl.n, 0, 0, 0};
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
                 * per-chunk gaps so far, minus this one */
                a->tokens_diverged = 1;
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
            kept.itl_count = (uint32_t)(a->itl.n - kept.itl_first);
            kept.ok = 1;
            kept.good = (unsigned char)good;
            if (samples_push(&a->reqs, &kept))
                goto oom;
        }
    }
    return BENCH_OK;
oom:
    return bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
}

bench_status metrics_acc_finish(metrics_acc *a, level_metrics *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    level_metrics *m = &a->m;
    size_t nd = a->ttft.n > a->queue.n ? a->ttft.n : a->queue.n;
    if (a->ttft_sched.n > nd)
        nd = a->ttft_sched.n;
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
    /* stats_dist_compute sorts in place: summarise copies so that the
     * accumulator stays valid for further batches. */
    const samples *src[6] = {&a->ttft, &a->tpot, &a->e2e, &a->queue, &a->ttft_sched, &a->e2e_sched};
    stats_dist *dst[6] = {&m->ttft_ms,  &m->tpot_ms,       &m->e2e_ms,
                          &m->queue_ms, &m->ttft_sched_ms, &m->e2e_sched_ms};
    for (int k = 0; k < 6; k++) {
        memcpy(tmp, src[k]->v ? src[k]->v : tmp, src[k]->n * sizeof(double));
        stats_dist_compute(tmp, src[k]->n, dst[k]);
    }
    /* Gap samples are a bag: sorting them in place keeps the accumulator
     * valid for further batches. */
    stats_dist_compute_f(a->itl.v, a->itl.n, &m->itl_ms);
    if (a->tokens_diverged)
        stats_dist_compute_f(a->itl_token.v, a->itl_token.n, &m->itl_token_ms);
    else
        m->itl_token_ms = m->itl_ms;
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
