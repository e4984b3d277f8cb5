/* simmodel.h - the simulated endpoint's latency model (docs/SIMULATOR.md).
 *
 * TTFT is lognormal, calibrated so that at concurrency 1 its p50/p99 equal the
 * catalog's figures; it grows by prefill_load_factor per extra active stream.
 * Decode time per token grows linearly with the number of active streams, as
 * continuous batching does, calibrated in closed form so that a closed-loop
 * run with the calibration output length reproduces tps_c1 and tps_c8.
 * Pure functions: unit-testable without a server. */
#ifndef BENCH_SIMMODEL_H
#define BENCH_SIMMODEL_H

#include "catalog.h"
#include "rng.h"
#include "status.h"

typedef struct {
    double mu, sigma;   /* lognormal TTFT at concurrency 1, in seconds */
    double ttft_mean_s; /* its mean */
    double load_factor; /* TTFT multiplier slope per extra active stream */
    double tpot1_s;     /* per-token decode time with 1 active stream (slowdown 1) */
    double tpot8_s;     /* ... with 8 active streams (slowdown 1) */
    double slowdown;    /* multiplies every latency (1 = as calibrated) */
} simmodel;

/* Derive the model from a catalog profile. Fails (BENCH_EINPUT, naming the
 * model) when the profile is infeasible, e.g. throughput too high for its TTFT. */
bench_status simmodel_init(simmodel *m, const catalog_model *cm, double slowdown, bench_err *err);

/* Draw a TTFT in seconds for a request arriving while `active` streams
 * (including itself) are being served. */
double simmodel_ttft(const simmodel *m, rng *r, int active);

/* Per-token decode interval in seconds with `active` streams decoding:
 * linear in active through (1, tpot1_s) and (8, tpot8_s), extrapolated
 * linearly above 8, times slowdown. active < 1 counts as 1. */
double simmodel_tpot(const simmodel *m, int active);

/* Mean TTFT in seconds at `active` streams (the expectation of
 * simmodel_ttft), for the closed-form calibration and its tests. */
double simmodel_ttft_mean(const simmodel *m, int active);

#endif
