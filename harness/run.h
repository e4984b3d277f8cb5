/* run.h - a whole `bench run`: resolve the model and endpoint, start the
 * embedded simulated endpoint when no endpoint was given, run each
 * concurrency level with its worker threads, move what they record to the
 * results file while the level runs, and summarise. */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"
#include "status.h"

typedef struct {
    char model[128];
    char served_model[256];
    char endpoint[512];     /* base URL */
    char endpoint_kind[16]; /* "simulated" or "remote" */
    char api[16];
    char results_path[1024];
    char created_utc[32];
    int interrupted;       /* stopped by SIGINT/SIGTERM: 1, or 2 when a second signal aborted */
    char tls_verify[16];   /* "system", "cacert" or "insecure" (config_tls_mode) */
    char first_error[320]; /* the first failed request's class and message, "" none */
    level_metrics levels[CONFIG_MAX_LEVELS];
    size_t n_levels; /* levels measured (fewer when interrupted) */
} run_summary;

/* Run the benchmark described by cfg. Fills *sum with what was measured even
 * when it fails part-way (n_levels tells how far it got); every completed
 * level is already in the results file by then. Returns BENCH_EINTR when a
 * signal stopped it. */
bench_status run_execute(const run_config *cfg, run_summary *sum, bench_err *err);

/* A level planner (bench search): instead of walking cfg's level list, the
 * run asks it for each next level, handing it what the last level
 * measured. The levels it names must be of cfg's kind (rates when
 * cfg->n_rates, else concurrencies) and each name at most once. */
typedef struct {
    /* The next level into *next, or 0 to end the run. prev: the level just
     * measured, NULL before the first. */
    int (*next)(void *ud, const level_metrics *prev, level_key *next);
    /* A JSON text for the results file's root attribute attr, asked for
     * once when the run ends (however it ends) while the file is open;
     * malloc'd (the run frees it), NULL for none. */
    char *(*summary)(void *ud);
    const char *attr;
    void *ud;
} run_planner;

/* run_execute, with the levels chosen by pl (NULL: cfg's list). */
bench_status run_execute_planned(const run_config *cfg, const run_planner *pl, run_summary *sum,
                                 bench_err *err);

#endif
