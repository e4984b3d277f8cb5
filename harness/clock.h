/* clock.h - the harness's one clock: CLOCK_MONOTONIC in nanoseconds.
 * The client, the simulated endpoint's send log and the results file all use
 * it, so on one machine their timestamps are directly comparable. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wall-clock time (CLOCK_REALTIME) in ns since the Unix epoch. */
static inline int64_t clock_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
