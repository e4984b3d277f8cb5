/* simmodel.c - the simulated endpoint's latency model (docs/SIMULATOR.md).
 *
 * Everything here is a pure function of the catalog profile, the slowdown
 * and the caller's RNG, so the calibration can be checked without a server. */
#include "simmodel.h"

#include <math.h>

/* z such that Phi(z) = 0.99: the lognormal's p99 is exp(mu + Z99 * sigma). */
#define Z99 2.326348

bench_status simmodel_init(simmodel *m, const catalog_model *cm, double slowdown, bench_err *err)
{
    const catalog_sim *s = &cm->sim;
    if (!(slowdown > 0) || !isfinite(slowdown))
        return bench_fail(err, BENCH_EUSAGE, "--slowdown: %g is not a positive number", slowdown);
    double p50 = s->ttft_p50_ms / 1000.0, p99 = s->ttft_p99_ms / 1000.0;
    if (!(p50 > 0) || !(p99 >= p50) || !isfinite(p99))
        return bench_fail(err, BENCH_EINPUT,
                          "model %s: sim TTFT needs 0 < p50 <= p99 (got %g, %g ms)", cm->name,
                          s->ttft_p50_ms, s->ttft_p99_ms);
    if (!(s->tps_c1 > 0) || !(s->tps_c8 > 0) || s->calib_output_tokens < 1)
        return bench_fail(err, BENCH_EINPUT,
                          "model %s: sim needs positive tps_c1, tps_c8 and calib_output_tokens",
                          cm->name);
    if (!(s->prefill_load_factor >= 0))
        return bench_fail(err, BENCH_EINPUT, "model %s: sim prefill_load_factor must be >= 0",
                          cm->name);

    m->mu = log(p50);
    m->sigma = log(p99 / p50) / Z99;
    m->ttft_mean_s = exp(m->mu + m->sigma * m->sigma / 2.0);
    m->load_factor = s->prefill_load_factor;
    m->slowdown = slowdown;

    /* Closed loop at concurrency c with N output tokens: the first token
     * comes at TTFT and the other N - 1 follow t(c) apart, so each request
     * takes E[TTFT_c] + (N - 1) t(c) and throughput = c N / (E[TTFT_c] +
     * (N - 1) t(c)). Solving for t at c = 1 and c = 8 reproduces tps_c1 and
     * tps_c8 exactly. */
    double n = (double)s->calib_output_tokens;
    m->tpot1_s = (n / s->tps_c1 - m->ttft_mean_s) / (n - 1.0);
    m->tpot8_s = (8.0 * n / s->tps_c8 - m->ttft_mean_s * (1.0 + 7.0 * m->load_factor)) / (n - 1.0);
    if (!(m->tpot1_s > 0))
        return bench_fail(err, BENCH_EINPUT,
                          "model %s: sim profile infeasible: tps_c1 %g is too high for a mean TTFT "
                          "of %.1f ms over %d output tokens",
                          cm->name, s->tps_c1, m->ttft_mean_s * 1000.0, s->calib_output_tokens);
    if (!(m->tpot8_s > 0))
        return bench_fail(err, BENCH_EINPUT,
                          "model %s: sim profile infeasible: tps_c8 %g is too high for a mean TTFT "
                          "of %.1f ms at 8 streams over %d output tokens",
                          cm->name, s->tps_c8,
                          m->ttft_mean_s * (1.0 + 7.0 * m->load_factor) * 1000.0,
                          s->calib_output_tokens);
    return BENCH_OK;
}

/* Prefill slows down as more streams share the batch. */
static double load_multiplier(const simmodel *m, int active)
{
    if (active < 1)
        active = 1;
    return 1.0 + m->load_factor * (double)(active - 1);
}

double simmodel_ttft(const simmodel *m, rng *r, int active)
{
    return rng_lognormal(r, m->mu, m->sigma) * load_multiplier(m, active) * m->slowdown;
}

double simmodel_ttft_mean(const simmodel *m, int active)
{
    return m->ttft_mean_s * load_multiplier(m, active) * m->slowdown;
}

double simmodel_tpot(const simmodel *m, int active)
{
    if (active < 1)
        active = 1;
    double t = m->tpot1_s + (m->tpot8_s - m->tpot1_s) * (double)(active - 1) / 7.0;
    /* A profile whose decode gets faster with load (tpot8 < tpot1) would
     * extrapolate to zero and below; hold it at tpot8 past 8 streams. */
    if (active > 8 && m->tpot8_s < m->tpot1_s)
        t = m->tpot8_s;
    return t * m->slowdown;
}
