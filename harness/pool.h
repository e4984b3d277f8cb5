/* pool.h - a set of worker threads keeping N requests in flight.
 *
 * The one way requests are sent: load levels (run.c) and evaluations
 * (eval.c) both start a pool. It splits `concurrency` in-flight slots over
 * min(threads, concurrency) workers, all taking request ids 0..n-1 from one
 * shared counter, and hands the caller what the workers recorded. */
#ifndef BENCH_POOL_H
#define BENCH_POOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "prompt.h"
#include "status.h"
#include "worker.h"

typedef struct {
    const run_config *cfg;        /* borrowed: timeouts, api, threads (0 = one per core) */
    const prompt_source *prompts; /* borrowed; NULL with hooks */
    const worker_hooks *hooks;    /* borrowed; NULL for load requests */
    const char *url;              /* full request URL */
    const char *api_key;          /* or NULL */
    const char *model_id;
    int concurrency;     /* closed loop: requests in flight; open loop: the cap on them */
    uint64_t n_requests; /* ids 0..n_requests-1, warm-up included */
    uint64_t n_warmup;
    int64_t t0;             /* run zero, CLOCK_MONOTONIC ns */
    const atomic_int *stop; /* WORKER_* level, set by a signal handler */
    /* Open loop: request id is due arrival_ns[id] ns after t_level (both
     * CLOCK_MONOTONIC ns; t_level 0 = when pool_start is called), whatever
     * is in flight; it is recorded with t_sched_ns = its due time, so a
     * client that falls behind shows as schedule lag (t_send - t_sched),
     * never as a skipped or late-counted send. Offsets ascend. NULL: closed
     * loop, each slot sends its next request the moment one ends. Borrowed,
     * n_requests entries. */
    const int64_t *arrival_ns;
    int64_t t_level;
    const char *tag; /* X-Request-Id prefix ("c8", "r2.5"); NULL = "c<concurrency>" */
} pool_args;

/* How the client itself fared during the pool's life (issue 7:
 * self-awareness): when it is the bottleneck, the latencies it recorded are
 * its own limits, not the server's. */
typedef struct {
    int threads;            /* worker threads */
    double wall_s;          /* pool_start to the last worker's end */
    double cpu_s;           /* user + system CPU of the worker threads */
    double cpu_busiest;     /* the busiest thread's CPU / wall_s (1 = saturated) */
    double loop_lag_p50_ms; /* event-loop lag: how late the loop served */
    double loop_lag_p99_ms; /* what was due (docs/METRICS.md "Client") */
    double loop_lag_max_ms;
    uint64_t loop_wakeups; /* event-loop iterations, all workers */
    int peak_inflight;     /* most requests in flight at once */
    int native;            /* the native transport carried the requests (else libcurl) */
    uint64_t reads;        /* native: reads of response bytes, all workers */
    uint64_t reads_kernel; /* native: those stamped by the kernel */
    uint64_t pauses;       /* native: read-coalescing pauses */
    uint64_t reads_ring;   /* native: reads made through io_uring */
} pool_self;

typedef struct pool pool;

/* Create and start the workers. a is copied; its pointers are borrowed and
 * must outlive the pool. *out is the caller's: pool_destroy. */
bench_status pool_start(const pool_args *a, pool **out, bench_err *err);

/* Progress, safe while the pool runs. */
int pool_finished(const pool *p);
uint64_t pool_done(const pool *p);
uint64_t pool_tokens(const pool *p);

/* Hand every worker's records since the last drain to sink (the batch is
 * freed after the call; sink may keep nothing of it). Stops calling sink
 * after its first failure but still empties every worker. */
typedef bench_status (*pool_sink)(void *ud, worker_batch *b, bench_err *err);
bench_status pool_drain(pool *p, pool_sink sink, void *ud, bench_err *err);

/* Wait for every worker; the first fatal worker status, if any. */
bench_status pool_join(pool *p, bench_err *err);

/* The workers' self-measurement; valid after pool_join. */
void pool_self_stats(const pool *p, pool_self *out);

/* Run to the end without a sink: start, wait (progress on stderr when
 * label is non-NULL), join, dropping the workers' tables (hooks have
 * already seen every request). */
bench_status pool_run(const pool_args *a, const char *label, bench_err *err);

void pool_destroy(pool *p);

#endif
