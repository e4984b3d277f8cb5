#include "pool.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

struct pool {
    pool_args a;
    _Atomic uint64_t next_id; /* the one shared counter */
    _Atomic int inflight, peak;
    worker **ws;
    int nw;
    int64_t t_start;
};

static int n_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

bench_status pool_start(const pool_args *a, pool **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    *out = NULL;
    if (a->concurrency < 1)
        return bench_fail(err, BENCH_EUSAGE, "concurrency must be at least 1");
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    p->a = *a;
    atomic_init(&p->next_id, 0);
    atomic_init(&p->inflight, 0);
    atomic_init(&p->peak, 0);
    p->t_start = clock_now_ns();
    if (!p->a.t_level)
        p->a.t_level = p->t_start;
    int nw = a->cfg->threads > 0 ? a->cfg->threads : n_cores();
    if (nw > a->concurrency)
        nw = a->concurrency;
    p->ws = calloc((size_t)nw, sizeof *p->ws);
    if (!p->ws) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < nw; i++) {
        /* Worker i keeps `slots` streams busy; all take request ids from
         * the one counter, so the load stays balanced to the end. */
        int slots = a->concurrency / nw + (i < a->concurrency % nw);
        worker_args wa = {
            .index = (uint32_t)i,
            .cfg = a->cfg,
            .prompts = a->prompts,
            .hooks = a->hooks,
            .url = a->url,
            .api_key = a->api_key,
            .model_id = a->model_id,
            .level = a->concurrency,
            .slots = slots,
            .next_id = &p->next_id,
            .n_requests = a->n_requests,
            .n_warmup = a->n_warmup,
            .t0 = a->t0,
            .grace_s = 5.0,
            .stop = a->stop,
            .arrival_ns = a->arrival_ns,
            .t_level = p->a.t_level,
            .tag = a->tag,
            .inflight = &p->inflight,
            .peak = &p->peak,
        };
        if ((st = worker_create(&wa, &p->ws[i], err)))
            goto out;
        p->nw++;
    }
    for (int i = 0; i < p->nw; i++)
        if ((st = worker_start(p->ws[i], err)))
            goto out;
    *out = p;
    p = NULL;
out:
    pool_destroy(p);
    return st;
}

int pool_finished(const pool *p)
{
    int all = 1;
    for (int i = 0; i < p->nw; i++)
        all &= worker_finished(p->ws[i]);
    return all;
}

uint64_t pool_done(const pool *p)
{
    uint64_t n = 0;
    for (int i = 0; i < p->nw; i++)
        n += worker_progress_done(p->ws[i]);
    return n;
}

uint64_t pool_tokens(const pool *p)
{
    uint64_t n = 0;
    for (int i = 0; i < p->nw; i++)
        n += worker_progress_tokens(p->ws[i]);
    return n;
}

bench_status pool_drain(pool *p, pool_sink sink, void *ud, bench_err *err)
{
    bench_status st = BENCH_OK;
    for (int i = 0; i < p->nw; i++) {
        worker_batch b;
        worker_drain(p->ws[i], &b);
        if (!st && sink)
            st = sink(ud, &b, err);
        worker_batch_free(&b);
    }
    return st;
}

bench_status pool_join(pool *p, bench_err *err)
{
    bench_status st = BENCH_OK;
    for (int i = 0; i < p->nw; i++) {
        bench_err werr;
        bench_status wst = worker_join(p->ws[i], &werr);
        if (wst && !st) {
            st = wst;
            if (err)
                *err = werr;
        }
    }
    return st;
}

bench_status pool_run(const pool_args *a, const char *label, bench_err *err)
{
    pool *p = NULL;
    bench_status st = pool_start(a, &p, err);
    if (st)
        return st;
    int64_t t_begin = clock_now_ns();
    for (unsigned tick = 1; !pool_finished(p); tick++) {
        if (label && tick % 5 == 0) {
            fprintf(stderr, "\r  %s %llu/%llu requests  %.0f s ", label,
                    (unsigned long long)pool_done(p), (unsigned long long)a->n_requests,
                    (double)(clock_now_ns() - t_begin) / 1e9);
            fflush(stderr);
        }
        if (tick % 10 == 0)
            pool_drain(p, NULL, NULL, NULL); /* hooks saw everything: keep memory flat */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (label)
        fprintf(stderr, "\r  %s %llu/%llu requests  %.0f s\n", label,
                (unsigned long long)pool_done(p), (unsigned long long)a->n_requests,
                (double)(clock_now_ns() - t_begin) / 1e9);
    st = pool_join(p, err);
    pool_drain(p, NULL, NULL, NULL);
    pool_destroy(p);
    return st;
}

void pool_self_stats(const pool *p, pool_self *out)
{
    memset(out, 0, sizeof *out);
    out->threads = p->nw;
    out->peak_inflight = atomic_load_explicit(&p->peak, memory_order_relaxed);
    stats_hist lag;
    memset(&lag, 0, sizeof lag);
    double busiest = 0;
    for (int i = 0; i < p->nw; i++) {
        const worker_self *ws = worker_self_stats(p->ws[i]);
        out->cpu_s += ws->cpu_s;
        out->loop_wakeups += ws->wakeups;
        out->native = ws->native;
        out->reads += ws->reads;
        out->reads_kernel += ws->reads_kernel;
        out->pauses += ws->pauses;
        out->reads_ring += ws->reads_ring;
        if (ws->wall_s > out->wall_s)
            out->wall_s = ws->wall_s;
        if (ws->wall_s > 0 && ws->cpu_s / ws->wall_s > busiest)
            busiest = ws->cpu_s / ws->wall_s;
        stats_hist_merge(&lag, &ws->lag);
    }
    out->cpu_busiest = busiest;
    out->loop_lag_p50_ms = stats_hist_quantile_ns(&lag, 50) / 1e6;
    out->loop_lag_p99_ms = stats_hist_quantile_ns(&lag, 99) / 1e6;
    out->loop_lag_max_ms = lag.n ? (double)lag.max_ns / 1e6 : NAN;
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nw; i++)
        worker_destroy(p->ws[i]);
    free(p->ws);
    free(p);
}
