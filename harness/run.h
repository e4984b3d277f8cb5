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

#endif
