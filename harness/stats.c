#include "stats.h"

#include <math.h>
#include <stdlib.h>

/* Element i of an ascending array of doubles or floats, as a double: the
 * summary code below serves both sample types. */
typedef double (*sample_at)(const void *v, size_t i);

static double at_double(const void *v, size_t i)
{
    return ((const double *)v)[i];
}

static double at_float(const void *v, size_t i)
{
    return ((const float *)v)[i];
}

static double percentile(const void *v, size_t n, double q, sample_at at)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return at(v, 0);
    if (q >= 100)
        return at(v, n - 1);
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return at(v, n - 1);
    double frac = h - (double)lo;
    return at(v, lo) + frac * (at(v, lo + 1) - at(v, lo));
}

double stats_percentile_sorted(const double *v, size_t n, double q)
{
    return percentile(v, n, q, at_double);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sort v (n elements of elem bytes) in place and summarise it. */
static void summarise(void *v, size_t n, size_t elem, int (*cmp)(const void *, const void *),
                      sample_at at, stats_dist *out)
{
    out->n = n;
    if (n == 0) {
        out->mean = out->min = out->max = NAN;
        out->p50 = out->p90 = out->p95 = out->p99 = out->p999 = NAN;
        return;
    }
    qsort(v, n, elem, cmp);
    /* Kahan-free: n is at most tens of millions of values in ms; a plain sum
     * in double keeps ~1e-9 relative error, well below what is reported. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += at(v, i);
    out->mean = sum / (double)n;
    out->min = at(v, 0);
    out->max = at(v, n - 1);
    out->p50 = percentile(v, n, 50, at);
    out->p90 = percentile(v, n, 90, at);
    out->p95 = percentile(v, n, 95, at);
    out->p99 = percentile(v, n, 99, at);
    out->p999 = percentile(v, n, 99.9, at);
}

void stats_dist_compute(double *v, size_t n, stats_dist *out)
{
    summarise(v, n, sizeof *v, cmp_double, at_double, out);
}

void stats_dist_compute_f(float *v, size_t n, stats_dist *out)
{
    summarise(v, n, sizeof *v, cmp_float, at_float, out);
}
