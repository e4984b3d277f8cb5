/* level.h - what identifies a load level, and how the client itself fared
 * while it ran.
 *
 * A level is either closed loop, "c<N>": N requests kept in flight, or open
 * loop, "r<R>": requests sent at R per second on a precomputed schedule
 * (schedule.h), whatever is in flight. The key names the level everywhere:
 * the results file's group /levels/c8 or /levels/r2.5, the report's rows,
 * `bench compare`'s matching, the X-Request-Id prefix. level_format and
 * level_parse are the one spelling of it: format(parse(s)) == s for every
 * name either accepts. */
#ifndef BENCH_LEVEL_H
#define BENCH_LEVEL_H

#include <stddef.h>

#include "stats.h"

#define LEVEL_CONCURRENCY 'c'
#define LEVEL_RATE 'r'
/* Open-loop rates, requests/s: the bounds keep every rate's name free of
 * exponents ("r0.001" .. "r100000"). */
#define LEVEL_RATE_MIN 0.001
#define LEVEL_RATE_MAX 100000.0
/* Longest level name with its NUL ("r" + up to 17 significant digits and a
 * point, with room to spare). */
#define LEVEL_NAME_MAX 32

typedef struct {
    char kind;    /* LEVEL_CONCURRENCY or LEVEL_RATE; 0 = unset */
    double value; /* in-flight requests (a whole number >= 1) or requests/s */
} level_key;

level_key level_conc(int concurrency);
level_key level_rate(double rate);

/* The level's name into buf ("c8", "r2.5", "r0.333"): for a rate, the
 * shortest decimal that reads back as the same double, never with an
 * exponent. "?" for a key that is not a valid level. Returns buf. */
const char *level_format(level_key k, char *buf, size_t n);

/* A label for tables and plots: "c=8", "2.5 req/s". Returns buf. */
const char *level_label(level_key k, char *buf, size_t n);

/* Parse a level name as level_format writes it; 0 on success, -1 when s
 * is not exactly such a name (a leading zero, "r2.50", "c0", "r1e3" and
 * anything out of range are refused, so each level has one name). */
int level_parse(const char *s, level_key *out);

/* 1 when k is a valid level (kind set, value in range, a concurrency
 * whole). */
int level_valid(level_key k);

/* Order: concurrency levels by N, then rate levels by R. */
int level_cmp(level_key a, level_key b);
int level_eq(level_key a, level_key b);

/* N for a concurrency level, 0 for a rate level. */
int level_concurrency(level_key k);

/* The client's self-measurement over a level (docs/METRICS.md, "Client"):
 * the worker threads' CPU and event-loop lag (pool.h's pool_self), the
 * whole process's CPU, and the warning drawn from them. present = 0 when
 * the level was written without one (files before the measurement). */
typedef struct {
    int present;
    int threads;            /* worker threads */
    int cores;              /* CPUs online */
    double wall_s;          /* the level's wall time, start to join */
    double cpu_s;           /* worker threads' user + system CPU */
    double cpu_busiest;     /* busiest worker's CPU / wall (1 = one core saturated) */
    double process_cpu_s;   /* the whole process over the level (getrusage) */
    double loop_lag_p50_ms; /* event-loop lag, docs/METRICS.md */
    double loop_lag_p99_ms;
    double loop_lag_max_ms;
    int peak_inflight; /* most requests in flight at once */
    double wakeups;    /* event-loop iterations, all workers (0: not recorded) */
    char transport[16]; /* "native" or "libcurl" ("" not recorded) */
    double kernel_stamped; /* native: share of reads stamped by the kernel (NAN: libcurl) */
    double pauses;         /* native: read-coalescing pauses, all workers */
    double ring_reads;     /* native: share of reads made through io_uring (NAN: libcurl) */
    int busy_poll;     /* the workers spun (--busy-poll): their CPU says nothing */
    char warning[256]; /* "" when the client was not the bottleneck */
} level_client;

/* Thresholds of the warning (docs/METRICS.md "Client"). */
#define LEVEL_WARN_LOOP_LAG_P99_MS 1.0
#define LEVEL_WARN_THREAD_CPU 0.90
#define LEVEL_WARN_PROCESS_CPU 0.90
#define LEVEL_WARN_SCHED_LAG_P99_MS 1.0

/* Fill c->warning from the measurement: the client may have limited what
 * was measured when its event loop's lag p99 exceeds 1 ms, its busiest
 * worker thread used more than 90% of a core, the process more than 90%
 * of all cores, or (open loop: sched_lag non-NULL) requests were sent more
 * than 1 ms late at p99; max_inflight is the open-loop cap (0 closed loop),
 * named when the peak reached it. Empty when none holds. */
void level_client_judge(level_client *c, const stats_dist *sched_lag, int max_inflight);

/* The warning's sentence for level k, as the summary and the report print
 * it after "WARNING: ", into buf (the caller's). Returns buf. */
const char *level_client_sentence(level_key k, const level_client *c, char *buf, size_t n);

#endif
