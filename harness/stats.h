/* stats.h - distribution summaries.
 *
 * Percentiles use linear interpolation between closest ranks (numpy's default
 * "linear" method, Hyndman & Fan type 7): for sorted x[0..n-1] and q in
 * [0, 100], h = (n - 1) * q / 100, result = x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]). docs/METRICS.md states the same. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>

typedef struct {
    size_t n;
    double mean, min, max;
    double p50, p90, p95, p99, p999;
} stats_dist;

/* q-th percentile (0..100) of n ascending values; NAN when n == 0. */
double stats_percentile_sorted(const double *v, size_t n, double q);

/* Summarise v[0..n-1]. Sorts v in place. All fields NAN (n = 0) when empty. */
void stats_dist_compute(double *v, size_t n, stats_dist *out);

/* The same for 32-bit samples (sorted in place), so a large sample set is
 * never copied to doubles. */
void stats_dist_compute_f(float *v, size_t n, stats_dist *out);

#endif
