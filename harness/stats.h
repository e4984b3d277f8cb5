/* stats.h - distribution summaries.
 *
 * Percentiles use linear interpolation between closest ranks (numpy's default
 * "linear" method, Hyndman & Fan type 7): for sorted x[0..n-1] and q in
 * [0, 100], h = (n - 1) * q / 100, result = x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]). docs/METRICS.md states the same. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t n;
    double mean, min, max;
    double p50, p90, p95, p99, p999;
} stats_dist;

/* The ascending order every summary sorts by (qsort comparators), for
 * code that sorts samples itself and must agree exactly. */
int stats_cmp_double(const void *a, const void *b);
int stats_cmp_float(const void *a, const void *b);

/* q-th percentile (0..100) of n ascending values; NAN when n == 0. */
double stats_percentile_sorted(const double *v, size_t n, double q);

/* Summarise v[0..n-1]. Sorts v in place. All fields NAN (n = 0) when empty. */
void stats_dist_compute(double *v, size_t n, stats_dist *out);

/* The same for 32-bit samples (sorted in place), so a large sample set is
 * never copied to doubles. */
void stats_dist_compute_f(float *v, size_t n, stats_dist *out);

/* A fixed-size log-linear histogram of non-negative nanosecond durations,
 * for samples too many to keep (the event loop's lag is sampled on every
 * iteration): 16 sub-buckets per power of two, so a quantile is exact to
 * within 1/16 (6.25%) of its value; below 16 ns, exact. Plain data: zero it
 * to start, merge by adding. No allocation. */
#define STATS_HIST_SUB 16
#define STATS_HIST_BUCKETS (64 * STATS_HIST_SUB)
typedef struct {
    uint64_t count[STATS_HIST_BUCKETS];
    uint64_t n;
    int64_t max_ns;
} stats_hist;

void stats_hist_add(stats_hist *h, int64_t ns);
void stats_hist_merge(stats_hist *into, const stats_hist *from);
/* q-th percentile (0..100) in ns: the upper edge of the bucket holding the
 * sample of rank ceil(n*q/100) (never below the true value, at most 6.25%
 * above it), capped at the maximum seen; NAN when empty. */
double stats_hist_quantile_ns(const stats_hist *h, double q);

#endif
