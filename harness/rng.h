/* rng.h - small, seedable, reproducible PRNG (xoshiro256**, seeded by
 * splitmix64). Same seed, same sequence, on every platform: prompts, send
 * schedules and the simulated endpoint's latencies all derive from it. */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng;

/* Seed the generator; stream selects an independent sub-sequence so that,
 * e.g., request k's prompt does not depend on how many draws request k-1 made. */
void rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1). */
double rng_uniform(rng *r);
/* Uniform integer in [0, n). n > 0. */
uint64_t rng_below(rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double rng_normal(rng *r);
/* exp(mu + sigma * N(0,1)). */
double rng_lognormal(rng *r, double mu, double sigma);
/* Exponential with the given mean. */
double rng_exponential(rng *r, double mean);

#endif
