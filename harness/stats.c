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

int stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int stats_cmp_float(const void *a, const void *b)
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
    summarise(v, n, sizeof *v, stats_cmp_double, at_double, out);
}

void stats_dist_compute_f(float *v, size_t n, stats_dist *out)
{
    summarise(v, n, sizeof *v, stats_cmp_float, at_float, out);
}

/* Bucket of v: values below STATS_HIST_SUB map to themselves; above, the
 * exponent e (v in [2^e, 2^(e+1))) selects a row of STATS_HIST_SUB buckets
 * splitting that octave evenly. */
static size_t hist_bucket(uint64_t v)
{
    if (v < STATS_HIST_SUB)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v);         /* >= 4 */
    uint64_t sub = (v >> (e - 4)) & 15;      /* the 4 bits after the leading one */
    size_t b = (size_t)(e - 3) * STATS_HIST_SUB + (size_t)sub;
    return b < STATS_HIST_BUCKETS ? b : STATS_HIST_BUCKETS - 1;
}

/* Largest value that falls in bucket b. */
static double hist_upper(size_t b)
{
    if (b < STATS_HIST_SUB)
        return (double)b;
    int e = (int)(b / STATS_HIST_SUB) + 3;
    uint64_t sub = b % STATS_HIST_SUB;
    return ldexp((double)(16 + sub + 1), e - 4) - 1;
}

void stats_hist_add(stats_hist *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    h->count[hist_bucket((uint64_t)ns)]++;
    h->n++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void stats_hist_merge(stats_hist *into, const stats_hist *from)
{
    for (size_t i = 0; i < STATS_HIST_BUCKETS; i++)
        into->count[i] += from->count[i];
    into->n += from->n;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

double stats_hist_quantile_ns(const stats_hist *h, double q)
{
    if (h->n == 0)
        return NAN;
    uint64_t rank = (uint64_t)ceil((double)h->n * q / 100.0);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < STATS_HIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank) {
            double u = hist_upper(b);
            return u < (double)h->max_ns ? u : (double)h->max_ns;
        }
    }
    return (double)h->max_ns;
}
