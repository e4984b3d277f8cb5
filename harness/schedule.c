#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

bench_status schedule_parse_arrival(const char *s, const char *flag, schedule_arrival *out,
                                    bench_err *err)
{
    if (strcmp(s, "poisson") == 0) {
        *out = (schedule_arrival){ARRIVAL_POISSON, 1.0};
        return BENCH_OK;
    }
    if (strcmp(s, "constant") == 0) {
        *out = (schedule_arrival){ARRIVAL_CONSTANT, 0.0};
        return BENCH_OK;
    }
    if (strncmp(s, "gamma:", 6) == 0) {
        char *end;
        errno = 0;
        double k = strtod(s + 6, &end);
        if (end == s + 6 || *end || errno || !isfinite(k))
            return bench_fail(err, BENCH_EUSAGE, "%s: '%s': the gamma shape is not a number", flag,
                              s);
        if (k < SCHEDULE_SHAPE_MIN || k > SCHEDULE_SHAPE_MAX)
            return bench_fail(err, BENCH_EUSAGE,
                              "%s: '%s': the gamma shape is out of range [%g, %g]", flag, s,
                              SCHEDULE_SHAPE_MIN, SCHEDULE_SHAPE_MAX);
        *out = (schedule_arrival){ARRIVAL_GAMMA, k};
        return BENCH_OK;
    }
    return bench_fail(err, BENCH_EUSAGE, "%s: '%s' (want poisson, constant or gamma:SHAPE)", flag,
                      s);
}

const char *schedule_arrival_format(const schedule_arrival *a, char *buf, size_t n)
{
    if (a->kind == ARRIVAL_CONSTANT)
        snprintf(buf, n, "constant");
    else if (a->kind == ARRIVAL_GAMMA)
        snprintf(buf, n, "gamma:%g", a->shape);
    else
        snprintf(buf, n, "poisson");
    return buf;
}

double schedule_arrival_cv(const schedule_arrival *a)
{
    return a->kind == ARRIVAL_CONSTANT ? 0.0
           : a->kind == ARRIVAL_GAMMA  ? 1.0 / sqrt(a->shape)
                                       : 1.0;
}

/* Gamma(shape, 1) by Marsaglia and Tsang (2000), "A simple method for
 * generating gamma variables"; shape < 1 through Gamma(shape + 1) *
 * U^(1/shape). */
static double gamma_draw(rng *r, double shape)
{
    if (shape < 1.0) {
        double u = rng_uniform(r);
        if (u < 1e-300)
            u = 1e-300;
        return gamma_draw(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (u > 0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

/* The rng stream of a level of rate `rate`: its bits, mixed with a tag
 * that no other stream of the program uses (prompts use 0x70726f6d7074...,
 * "prompt"). */
static uint64_t stream_of(double rate)
{
    uint64_t bits;
    memcpy(&bits, &rate, sizeof bits);
    return 0x7363686564000000ULL ^ (bits * 0x9e3779b97f4a7c15ULL); /* "sched" */
}

bench_status schedule_build(uint64_t seed, double rate, const schedule_arrival *a, size_t n,
                            int64_t **out, bench_err *err)
{
    *out = NULL;
    if (!(rate > 0) || !isfinite(rate))
        return bench_fail(err, BENCH_EUSAGE, "schedule: rate %g is not positive", rate);
    int64_t *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return bench_fail(err, BENCH_ENOMEM, "out of memory for a schedule of %zu requests", n);
    rng r;
    rng_seed(&r, seed, stream_of(rate));
    double mean_ns = 1e9 / rate, t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            if (a->kind == ARRIVAL_CONSTANT)
                t = mean_ns * (double)i; /* no running sum: exact multiples */
            else if (a->kind == ARRIVAL_GAMMA)
                t += gamma_draw(&r, a->shape) * (mean_ns / a->shape);
            else
                t += rng_exponential(&r, mean_ns);
        }
        if (!(t < 4e18)) { /* about 127 years: int64 ns would overflow soon after */
            free(v);
            return bench_fail(err, BENCH_EUSAGE,
                              "schedule: %zu requests at %g/s last longer than a century", n, rate);
        }
        v[i] = (int64_t)llround(t);
    }
    *out = v;
    return BENCH_OK;
}
