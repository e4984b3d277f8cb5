/* sim.h - the embedded simulated OpenAI-compatible endpoint (`bench serve
 * --simulate MODEL`). A real HTTP/1.1 server on libevent's evhttp: GET
 * /v1/models, POST /v1/chat/completions and /v1/completions, streaming (SSE)
 * and not, with OpenAI-shaped errors and a seeded latency model. With a
 * data directory it also plays the model in evaluations (simeval.h). */
#ifndef BENCH_SIM_H
#define BENCH_SIM_H

#include <stdint.h>
#include "catalog.h"
#include "status.h"

typedef struct {
    const catalog_model *model; /* borrowed; must outlive the server */
    const char *host;           /* default "127.0.0.1" */
    int port;                   /* 0 = ephemeral */
    uint64_t seed;
    double slowdown;       /* 1.0 = as calibrated */
    const char *log_sends; /* path or NULL: per-chunk send-time log */
    const char *faults;    /* fault spec or NULL (docs/SIMULATOR.md) */
    int ready_fd;          /* if >= 0, the base URL + '\n' is written here once listening */
    const catalog *cat;    /* borrowed or NULL: models a judge prompt may name */
    const char *data_dir;  /* NULL, or where MMLU and HumanEval are: play evaluations */
    const char *quality;   /* NULL, or "mmlu=P,humaneval=P,mtbench=S": figures to play */
    int zero_delay;        /* 1: no TTFT, no per-token delay: tokens as fast as the
                              connection drains (benchmarks/; not with faults or data_dir) */
    int events_per_write;  /* zero_delay: SSE events per write (<= 0 means 1) */
} sim_options;

/* Run the server until SIGINT/SIGTERM. Prints "listening on URL" to stdout
 * (and to ready_fd) once bound. Returns BENCH_OK on a clean shutdown. */
bench_status sim_run(const sim_options *opt, bench_err *err);

/* `bench serve ...` entry point: parses argv (argv[0] = "serve") and runs.
 * Returns the process exit status (0 clean shutdown, 2 usage/input error). */
int sim_main(int argc, char **argv);

/* Validate a --faults spec without starting a server, so a caller can
 * reject a bad flag before spawning the simulator. NULL or "" is valid (no
 * faults). BENCH_EUSAGE naming the offending item otherwise. */
bench_status sim_faults_check(const char *spec, bench_err *err);

#endif
