/* search.h - `bench search`: the highest load that meets a latency SLO.
 *
 * A bracketing search over one load axis (concurrency or request rate),
 * with a stated stopping rule (docs/SEARCH.md):
 *   1. Expand: probe `start`, then double while the probe meets the SLO
 *      (halve while it fails, for rate) until one probe passes and one
 *      fails, or the axis limit is reached.
 *   2. Bisect between the highest passing load `lo` and the lowest failing
 *      load `hi` until hi - lo <= 1 (concurrency: the answer is exact) or
 *      (hi - lo) / lo <= precision (rate), or the probe budget is spent.
 * It assumes the SLO metrics grow with load (latency does, up to noise);
 * every probe is kept, so the curve it measured can be read afterwards.
 * This module is the decision logic only: run.c measures each probe. */
#ifndef BENCH_SEARCH_H
#define BENCH_SEARCH_H

#include <stddef.h>

#include "metrics.h"
#include "status.h"

typedef enum { SEARCH_BY_CONCURRENCY = 0, SEARCH_BY_RATE = 1 } search_by;

enum { SEARCH_TTFT, SEARCH_TPOT, SEARCH_ITL, SEARCH_E2E };

#define SEARCH_MAX_LIMITS 8

typedef struct {
    int metric;      /* SEARCH_TTFT ... */
    double q;        /* percentile: 50, 90, 95, 99 or 99.9 */
    double limit_ms; /* the level meets it when that percentile <= limit_ms */
} search_limit;

typedef struct {
    search_limit lim[SEARCH_MAX_LIMITS];
    int n;
    double max_error_rate; /* failed / measured must not exceed it (default 0.01) */
} search_slo;

/* Parse "ttft_p99=100ms,tpot_p99=50ms" (metrics ttft, tpot, itl, e2e;
 * percentiles p50, p90, p95, p99, p999; units us, ms, s) plus an optional
 * "errors=1%" (the largest error rate that still meets it). Every problem
 * is one line naming the item, BENCH_EUSAGE. */
bench_status search_parse_slo(const char *spec, search_slo *out, bench_err *err);

/* 1 when level m meets slo; else 0 with why (caller's buffer) naming the
 * first limit it broke and by how much. A level without a single success
 * never meets it. */
int search_meets(const search_slo *slo, const level_metrics *m, char *why, size_t whysz);

/* The limit's name, "ttft_p99", into buf. Returns buf. */
const char *search_limit_name(const search_limit *l, char *buf, size_t n);

/* Level m's value of the limit's metric at its percentile, ms; NAN when it
 * has none. */
double search_limit_value(const search_limit *l, const level_metrics *m);

/* Write the SLO back as text ("ttft_p99<=100ms, tpot_p99<=50ms, errors<=1%"). */
void search_slo_format(const search_slo *slo, char *buf, size_t n);

typedef struct {
    search_by by;
    double start;     /* first probe (concurrency: integer >= 1; rate: > 0) */
    double max;       /* highest load ever probed */
    double min;       /* rate: lowest load probed when even start fails */
    double precision; /* rate: relative bracket width to stop at (e.g. 0.05) */
    int max_probes;   /* probe budget */
} search_opts;

typedef struct search search;

/* Start a search. Fails (BENCH_EUSAGE, one line) on inconsistent options.
 * *out is the caller's: search_destroy. */
bench_status search_create(const search_opts *o, search **out, bench_err *err);
void search_destroy(search *s);

/* The next load to probe, in *load; 0 when the search has ended. */
int search_next(search *s, double *load);

/* The probe of `load` (the one search_next gave) passed or not. */
void search_observe(search *s, double load, int pass);

typedef struct {
    double best;         /* highest load that met the SLO; NAN when none did */
    double first_fail;   /* lowest load above it that failed; NAN when none did */
    int probes;          /* probes made */
    const char *stopped; /* why the search ended (static string) */
} search_result;

void search_get_result(const search *s, search_result *r);

#endif
