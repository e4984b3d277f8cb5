#include "stats.h"

#include <math.h>
#include <stdlib.h>

double stats_percentile_sorted(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return v[0];
    if (q >= 100)
        return v[n - 1];
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    double frac = h - (double)lo;
    return v[lo] + frac * (v[lo + 1] - v[lo]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_dist_compute(double *v, size_t n, stats_dist *out)
{
    out->n = n;
    if (n == 0) {
        out->mean = out->min = out->max = NAN;
        out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
        return;
    }
    qsort(v, n, sizeof *v, cmp_double);
    /* Kahan-free: n is at most tens of millions of values in ms; a plain sum
     * in double keeps ~1e-9 relative error, well below what is reported. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->mean = sum / (double)n;
    out->min = v[0];
    out->max = v[n - 1];
    out->p50 = stats_percentile_sorted(v, n, 50);
    out->p90 = stats_percentile_sorted(v, n, 90);
    out->p95 = stats_percentile_sorted(v, n, 95);
    out->p99 = stats_percentile_sorted(v, n, 99);
    out->p999 = stats_percentile_sorted(v, n, 99.9);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double percentile_f(const float *v, size_t n, double q)
{
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * ((double)v[lo + 1] - v[lo]);
}

void stats_dist_compute_f(float *v, size_t n, stats_dist *out)
{
    out->n = n;
    if (n == 0) {
        out->mean = out->min = out->max = NAN;
        out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
        return;
    }
    qsort(v, n, sizeof *v, cmp_float);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->mean = sum / (double)n;
    out->min = v[0];
    out->max = v[n - 1];
    out->p50 = percentile_f(v, n, 50);
    out->p90 = percentile_f(v, n, 90);
    out->p95 = percentile_f(v, n, 95);
    out->p99 = percentile_f(v, n, 99);
    out->p999 = percentile_f(v, n, 99.9);
}
