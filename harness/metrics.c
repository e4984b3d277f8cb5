#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bench_status metrics_level(const req_record *rows, size_t n, const chunk_record *chunks,
                           size_t nchunks, int concurrency, level_metrics *m, bench_err *err)
{
    bench_status st = BENCH_OK;
    double *ttft = NULL, *tpot = NULL, *e2e = NULL, *itl = NULL;
    memset(m, 0, sizeof *m);
    m->concurrency = concurrency;
    m->n_rows = n;

    size_t n_itl = 0;
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        if (r->chunk_offset > nchunks || r->chunk_count > nchunks - r->chunk_offset)
            return bench_fail(err, BENCH_EINPUT,
                              "request %llu: chunk range [%llu, +%u) outside the %zu-row table",
                              (unsigned long long)r->id, (unsigned long long)r->chunk_offset,
                              r->chunk_count, nchunks);
        if (!r->warmup && req_class_is_success(r->status) && r->chunk_count > 1)
            n_itl += r->chunk_count - 1;
    }
    ttft = malloc((n + 1) * sizeof *ttft);
    tpot = malloc((n + 1) * sizeof *tpot);
    e2e = malloc((n + 1) * sizeof *e2e);
    itl = malloc((n_itl + 1) * sizeof *itl);
    if (!ttft || !tpot || !e2e || !itl) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory computing level metrics");
        goto out;
    }

    size_t nt = 0, np = 0, ne = 0, ni = 0;
    int64_t w_start = INT64_MAX, w_end = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        if (r->warmup) {
            m->n_warmup++;
            continue;
        }
        m->n_measured++;
        if (r->status >= 0 && r->status < REQ_CLASS_COUNT)
            m->by_class[r->status]++;
        int64_t t_begin = r->t_send_ns >= 0 ? r->t_send_ns : r->t_sched_ns;
        if (t_begin >= 0 && t_begin < w_start)
            w_start = t_begin;
        if (r->t_end_ns > w_end)
            w_end = r->t_end_ns;
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
            ttft[nt++] = (double)(r->t_first_token_ns - r->t_send_ns) / 1e6;
            e2e[ne++] = (double)(r->t_last_token_ns - r->t_send_ns) / 1e6;
            if (out_tok >= 2)
                tpot[np++] =
                    (double)(r->t_last_token_ns - r->t_first_token_ns) / 1e6 / (out_tok - 1);
        }
        const chunk_record *c = chunks + r->chunk_offset;
        for (uint32_t j = 1; j < r->chunk_count; j++)
            itl[ni++] = (double)(c[j].t_ns - c[j - 1].t_ns) / 1e6;
    }
    if (w_end > w_start && w_start != INT64_MAX) {
        m->duration_s = (double)(w_end - w_start) / 1e9;
        m->output_tps = m->output_tokens / m->duration_s;
        m->total_tps = (m->output_tokens + m->prompt_tokens) / m->duration_s;
        m->req_per_s = (double)m->n_ok / m->duration_s;
    } else {
        m->output_tps = m->total_tps = m->req_per_s = NAN;
    }
    m->error_rate = m->n_measured ? (double)m->n_failed / (double)m->n_measured : NAN;
    stats_dist_compute(ttft, nt, &m->ttft_ms);
    stats_dist_compute(tpot, np, &m->tpot_ms);
    stats_dist_compute(e2e, ne, &m->e2e_ms);
    stats_dist_compute(itl, ni, &m->itl_ms);
out:
    free(ttft);
    free(tpot);
    free(e2e);
    free(itl);
    return st;
}
