/* metrics.h - per-level serving metrics from recorded rows, with exactly the
 * definitions of docs/METRICS.md (vLLM `bench serve` conventions):
 *
 *   TTFT  = t_first_token - t_send
 *   E2E   = t_last_token - t_send (a trailing usage-only event or [DONE] does
 *           not extend it)
 *   TPOT  = (t_last_token - t_first_token) / (output_tokens - 1), requests
 *           with at least 2 output tokens
 *   ITL   = gaps between consecutive content chunks of a request
 *   output tok/s = sum of output tokens of successful measured requests /
 *           measured window, where the window runs from the first measured
 *           send to the last measured end
 *
 * From the intended send time (open loop: the schedule's; closed loop:
 * when the slot became free), for a client that may have sent late:
 *   TTFT_sched = t_first_token - t_sched, E2E_sched = t_last_token - t_sched
 *   schedule lag = t_send - t_sched
 *
 * output_tokens is the server's usage.completion_tokens when reported, else
 * the client's count of content chunks. Warm-up rows are excluded; failed
 * requests count in the error rate only. */
#ifndef BENCH_METRICS_H
#define BENCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "level.h"
#include "record.h"
#include "schedule.h"
#include "stats.h"
#include "status.h"

/* Service-level objectives for goodput; NAN = no limit on that metric. */
typedef struct {
    double ttft_ms, tpot_ms, e2e_ms;
} metrics_slo;

typedef struct {
    metrics_slo slo; /* goodput is computed when any limit is set */
    /* Steady-state window: only measured requests sent at or after lo and
     * ended at or before hi count; the others are counted as excluded.
     * INT64_MIN / INT64_MAX for no window. */
    int64_t window_lo_ns, window_hi_ns;
    /* Bytes of samples the accumulator keeps in memory: when they reach
     * it, the sample arrays are written to an unlinked temporary file
     * (below). 0: the default, $BENCH_METRICS_SPILL_BYTES when set (0
     * there: never), else METRICS_SPILL_DEFAULT; METRICS_SPILL_NEVER: keep
     * every sample in memory. */
    size_t spill_bytes;
} metrics_opts;

#define METRICS_SPILL_DEFAULT ((size_t)1 << 20)
#define METRICS_SPILL_NEVER SIZE_MAX

/* No SLO, no window, the default spill bound. */
void metrics_opts_default(metrics_opts *o);

/* Parse "ttft=100ms,tpot=50ms,e2e=5s" (any subset; units ms, s, m). */
bench_status metrics_parse_slo(const char *spec, metrics_slo *slo, bench_err *err);

typedef struct {
    int concurrency;     /* N of a concurrency level; 0 for a rate level */
    level_key key;       /* the level */
    uint64_t n_rows;     /* all rows, warm-up included */
    uint64_t n_warmup;   /* excluded as warm-up */
    uint64_t n_measured; /* n_rows - n_warmup */
    uint64_t n_ok;       /* measured successes (ok + early_stop) */
    uint64_t n_failed;   /* measured failures */
    uint64_t n_early_stop;
    uint64_t by_class[REQ_CLASS_COUNT]; /* measured rows per class */
    uint64_t n_usage;                   /* successes whose token count came from usage */
    uint64_t chunks;                    /* content chunks of successes */
    double output_tokens;               /* sum over successes */
    double prompt_tokens;               /* sum over successes with usage */
    double duration_s;                  /* measured window */
    double output_tps;                  /* output tokens / window */
    double total_tps;                   /* (prompt + output tokens) / window */
    double req_per_s;                   /* successes / window */
    double error_rate;                  /* failed / measured */
    stats_dist ttft_ms, tpot_ms, itl_ms, e2e_ms;
    stats_dist itl_token_ms;    /* per token: a k-token chunk gives k gaps of gap/k */
    stats_dist queue_ms;        /* schedule lag: t_send - t_sched */
    stats_dist ttft_sched_ms;   /* TTFT from the intended send time */
    stats_dist e2e_sched_ms;    /* E2E from the intended send time */
    double offered_rate;        /* rate level: R, requests/s; NAN for a concurrency level */
    double achieved_rate;       /* (measured requests sent - 1) / first to last actual send */
    uint64_t n_excluded_window; /* measured requests outside the steady-state window */
    int chunks_ne_tokens;       /* successes' output tokens != their content chunks */
    int has_slo;
    uint64_t n_good;       /* successes meeting every SLO limit */
    double good_req_per_s; /* n_good / window */
    double good_fraction;  /* n_good / measured (failures are never good) */
    /* Carried, not computed: the caller sets them from the level's
     * attributes (results_level_info) for the summary and the report. */
    char arrival[SCHEDULE_ARRIVAL_MAX]; /* rate level: its arrival process */
    int max_concurrency;                /* rate level: its in-flight cap */
    level_client client;                /* the client's self-measurement */
} level_metrics;

/* An accumulator for one level, fed in batches as rows are recorded or read,
 * so that neither the run nor a report holds a level's chunk table. Exact
 * percentiles need every sample: it keeps one double per successful request
 * for each of TTFT, TPOT, E2E, schedule lag, TTFT* and E2E*, and one float
 * per inter-chunk gap (per token too, once a chunk carries several).
 *
 * Its memory stays bounded however long the level: whenever the samples in
 * memory reach the spill bound (metrics_opts.spill_bytes, 1 MiB by default),
 * each array is sorted and appended as a run to one unlinked temporary file
 * in $TMPDIR or /tmp (created at the first spill, closed by
 * metrics_acc_destroy), and its memory reused. finish merges
 * the sorted runs in one streaming pass, so its statistics are bit for bit
 * those of sorting every sample in memory, and its own memory is a read
 * buffer per run (about the bound in all, at least 4 KiB a run). When the
 * file cannot be created or written (a full disk), the samples stay in
 * memory as they would without a bound, with a one-line note on stderr
 * (once per process): nothing measured is lost. */
typedef struct metrics_acc metrics_acc;

/* opts may be NULL (no SLO, no window, the default spill bound); it is
 * copied. *out is owned by the caller; free with metrics_acc_destroy. */
bench_status metrics_acc_create(int concurrency, const metrics_opts *opts, metrics_acc **out,
                                bench_err *err);
/* The same for any level (a concurrency level's key gives the same as
 * above; a rate level's sets offered_rate). */
bench_status metrics_acc_create_key(level_key k, const metrics_opts *opts, metrics_acc **out,
                                    bench_err *err);

/* Samples kept so far (borrowed, in no particular order, valid until the
 * next add or destroy): TTFT in ms per successful request, per-chunk ITL in
 * ms. Spilled samples of that array are first read back into memory (as
 * metrics_acc_load does for all): the caller asks for all of them. When that
 * fails, NULL with *n = 0 and a note on stderr; call metrics_acc_load
 * first to get the error instead. */
const double *metrics_acc_ttft(metrics_acc *a, size_t *n);
const float *metrics_acc_itl(metrics_acc *a, size_t *n);

/* Read every spilled sample back into memory (a no-op when nothing was
 * spilled). Later adds may spill again. BENCH_EIO, BENCH_ENOMEM. */
bench_status metrics_acc_load(metrics_acc *a, bench_err *err);

/* Samples of the arrays currently spilled, summed over the arrays (a run
 * the per-token gaps share with the per-chunk ones counts for both); 0 when
 * nothing is: for tests and diagnostics. */
size_t metrics_acc_spilled(const metrics_acc *a);

/* One measured request (inside the window), as kept for resampling by
 * `bench compare` (docs/COMPARE.md). The figures are the ones the
 * accumulator itself derives for that request with the definitions above:
 * NAN where undefined (every latency of a failure; TPOT with fewer than 2
 * output tokens). */
typedef struct {
    double ttft_ms, tpot_ms, e2e_ms;
    double output_tokens; /* as counted in output tok/s; 0 for a failure */
    double span_ms;       /* slot time: t_end - (t_send, else t_sched); 0 when unknown */
    int64_t t_begin_ns;   /* t_send, else t_sched: orders requests in time */
    size_t itl_first;     /* its per-chunk gaps: metrics_acc_itl's samples */
    uint32_t itl_count;   /*   [itl_first, itl_first + itl_count) */
    unsigned char ok;     /* success class (ok, early_stop) */
    unsigned char good;   /* succeeded and met every SLO limit (0 without an SLO) */
} metrics_req;

/* Keep one metrics_req per measured request from now on (off by default:
 * a run or a report does not need them). Call before the first add. Such an
 * accumulator never spills: its requests index the gaps in the order
 * added, all in memory. */
void metrics_acc_keep_requests(metrics_acc *a);

/* The requests kept, in the order added (borrowed, valid until the next add
 * or destroy). Their ITL ranges index metrics_acc_itl's samples only until
 * metrics_acc_finish, which sorts those samples in place: copy the gaps
 * first. n = 0 unless metrics_acc_keep_requests was called. */
const metrics_req *metrics_acc_requests(const metrics_acc *a, size_t *n);

/* Add a batch. rows and chunks are borrowed for the call; each row's
 * chunk_offset/chunk_count index into this batch's chunks. BENCH_EINPUT when
 * a range lies outside it. */
bench_status metrics_acc_add(metrics_acc *a, const req_record *rows, size_t n,
                             const chunk_record *chunks, size_t nchunks, bench_err *err);

/* Compute the level's metrics from everything added. The accumulator may be
 * fed further and finished again. */
bench_status metrics_acc_finish(metrics_acc *a, level_metrics *out, bench_err *err);

void metrics_acc_destroy(metrics_acc *a);

/* One-shot form: the metrics of rows and their full chunk table. */
bench_status metrics_level(const req_record *rows, size_t n, const chunk_record *chunks,
                           size_t nchunks, int concurrency, level_metrics *out, bench_err *err);

#endif
