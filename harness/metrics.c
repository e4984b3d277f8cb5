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
    int64_t w_start, w_end;
    samples ttft, tpot, e2e; /* double, ms */
    samples itl;             /* float, ms: one per inter-chunk gap */
};

bench_status metrics_acc_create(int concurrency, metrics_acc **out, bench_err *err)
{
    metrics_acc *a = calloc(1, sizeof *a);
    if (!a)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    a->m.concurrency = concurrency;
    a->w_start = INT64_MAX;
    a->w_end = INT64_MIN;
    a->ttft.elem = a->tpot.elem = a->e2e.elem = sizeof(double);
    a->itl.elem = sizeof(float);
    *out = a;
    return BENCH_OK;
}

void metrics_acc_destroy(metrics_acc *a)
{
    if (!a)
        return;
    free(a->ttft.v);
    free(a->tpot.v);
    free(a->e2e.v);
    free(a->itl.v);
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
        m->n_measured++;
        if (r->status >= 0 && r->status < REQ_CLASS_COUNT)
            m->by_class[r->status]++;
        int64_t t_begin = r->t_send_ns >= 0 ? r->t_send_ns : r->t_sched_ns;
        if (t_begin >= 0 && t_begin < a->w_start)
            a->w_start = t_begin;
        if (r->t_end_ns > a->w_end)
            a->w_end = r->t_end_ns;
        if (!req_class_is_success(r->status)) {
            m->n_failed++;
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
        if (r->t_first_token_ns >= 0 && r->t_send_ns >= 0) {
            double ttft = (double)(r->t_first_token_ns - r->t_send_ns) / 1e6;
            double e2e = (double)(r->t_last_token_ns - r->t_send_ns) / 1e6;
            if (samples_push(&a->ttft, &ttft) || samples_push(&a->e2e, &e2e))
                goto oom;
            if (out_tok >= 2) {
                double tpot =
                    (double)(r->t_last_token_ns - r->t_first_token_ns) / 1e6 / (out_tok - 1);
                if (samples_push(&a->tpot, &tpot))
                    goto oom;
            }
        }
        const chunk_record *c = chunks + r->chunk_offset;
        for (uint32_t j = 1; j < r->chunk_count; j++) {
            float gap = (float)((double)(c[j].t_ns - c[j - 1].t_ns) / 1e6);
            if (samples_push(&a->itl, &gap))
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
    double *itl = malloc((a->itl.n + 1) * sizeof *itl);
    double *tmp = malloc((a->ttft.n + 1) * sizeof *tmp);
    if (!itl || !tmp) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
        goto out;
    }
    if (a->w_end > a->w_start && a->w_start != INT64_MAX) {
        m->duration_s = (double)(a->w_end - a->w_start) / 1e9;
        m->output_tps = m->output_tokens / m->duration_s;
        m->total_tps = (m->output_tokens + m->prompt_tokens) / m->duration_s;
        m->req_per_s = (double)m->n_ok / m->duration_s;
    } else {
        m->duration_s = 0;
        m->output_tps = m->total_tps = m->req_per_s = NAN;
    }
    m->error_rate = m->n_measured ? (double)m->n_failed / (double)m->n_measured : NAN;
    /* stats_dist_compute sorts in place: summarise copies so that the
     * accumulator stays valid for further batches. */
    const samples *src[3] = {&a->ttft, &a->tpot, &a->e2e};
    stats_dist *dst[3] = {&m->ttft_ms, &m->tpot_ms, &m->e2e_ms};
    for (int k = 0; k < 3; k++) {
        memcpy(tmp, src[k]->v ? src[k]->v : tmp, src[k]->n * sizeof(double));
        stats_dist_compute(tmp, src[k]->n, dst[k]);
    }
    const float *g = a->itl.v;
    for (size_t i = 0; i < a->itl.n; i++)
        itl[i] = g[i];
    stats_dist_compute(itl, a->itl.n, &m->itl_ms);
    *out = *m;
out:
    free(itl);
    free(tmp);
    return st;
}

bench_status metrics_level(const req_record *rows, size_t n, const chunk_record *chunks,
                           size_t nchunks, int concurrency, level_metrics *out, bench_err *err)
{
    metrics_acc *a = NULL;
    bench_status st = metrics_acc_create(concurrency, &a, err);
    if (st)
        return st;
    memset(out, 0, sizeof *out);
    if (!(st = metrics_acc_add(a, rows, n, chunks, nchunks, err)))
        st = metrics_acc_finish(a, out, err);
    metrics_acc_destroy(a);
    return st;
}
