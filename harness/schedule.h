/* schedule.h - the send schedule of an open-loop (rate) level.
 *
 * A rate level sends request i at arrival[i] ns after the level's start,
 * whatever is in flight (pool.h). The schedule is precomputed from the
 * run's seed and the level's rate alone, so the same seed gives the same
 * send times for r4 in any sweep, and a results file's t_sched_ns can be
 * checked against it. Gaps between arrivals:
 *   poisson       exponential with mean 1/R (coefficient of variation 1);
 *   constant      exactly 1/R (CV 0);
 *   gamma:SHAPE   gamma with shape SHAPE and mean 1/R (CV 1/sqrt(SHAPE):
 *                 SHAPE < 1 is burstier than Poisson, > 1 more regular).
 * The first request is due at the level's start (arrival[0] = 0). */
#ifndef BENCH_SCHEDULE_H
#define BENCH_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { ARRIVAL_POISSON, ARRIVAL_CONSTANT, ARRIVAL_GAMMA } arrival_kind;

#define SCHEDULE_SHAPE_MIN 0.01
#define SCHEDULE_SHAPE_MAX 1000.0
#define SCHEDULE_ARRIVAL_MAX 32 /* longest arrival spelling with its NUL */

typedef struct {
    arrival_kind kind;
    double shape; /* gamma only */
} schedule_arrival;

/* Parse "poisson", "constant" or "gamma:SHAPE" (SHAPE in [0.01, 1000]).
 * BENCH_EUSAGE naming flag otherwise. */
bench_status schedule_parse_arrival(const char *s, const char *flag, schedule_arrival *out,
                                    bench_err *err);

/* The arrival's spelling, as parsed ("gamma:2.5"). Returns buf. */
const char *schedule_arrival_format(const schedule_arrival *a, char *buf, size_t n);

/* Coefficient of variation of the gaps: 1, 0 or 1/sqrt(shape). */
double schedule_arrival_cv(const schedule_arrival *a);

/* n arrival offsets in ns for rate requests/s (> 0), ascending, the first
 * 0, drawn from an rng stream of (seed, rate) (rng.h). *out is malloc'ed,
 * the caller's (free). Offsets are the rounded running sum of the exact
 * gaps, so rounding never accumulates. */
bench_status schedule_build(uint64_t seed, double rate, const schedule_arrival *a, size_t n,
                            int64_t **out, bench_err *err);

#endif
