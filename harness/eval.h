/* eval.h - `bench eval mmlu|humaneval|mtbench`: quality evaluations sent
 * through the same worker pool as the load tests (pool.h), scored exactly as
 * the reference implementations do (docs/EVALS.md), written to an HDF5
 * evaluation file (evalres.h). */
#ifndef BENCH_EVAL_H
#define BENCH_EVAL_H

#include <stdint.h>

#include "config.h"
#include "oai.h"
#include "status.h"

typedef struct {
    char *eval;         /* "mmlu", "humaneval", "mtbench" */
    char *model;        /* catalog name, or any name with --endpoint */
    char *served_model; /* id sent; NULL = catalog's served_id or model */
    char *endpoint;     /* NULL = embedded simulator */
    char *api_key_env;
    int api; /* oai_api, or -1 = the evaluation's default */
    int concurrency;
    long limit; /* MMLU: items per subject; HumanEval: problems; MT-Bench: questions; 0 = all */
    char *output;
    int json;
    int progress; /* -1 never, 0 auto, 1 always */
    char *data_dir;
    char *catalog_path;
    uint64_t seed;
    int threads;
    config_timeouts timeout;
    int retries; /* extra attempts for a failed request (default 3, backoff 1, 2, 4 s) */
    /* MMLU */
    char *method; /* logprobs | generative | cot */
    char *split;  /* test | val */
    int shots;
    /* HumanEval */
    int samples;
    double temperature; /* < 0: 0 for one sample, 0.8 for several */
    double exec_timeout_s;
    int require_isolation;
    /* MT-Bench */
    char *judge_endpoint;
    char *judge_model;
    char *judge_api_key_env;
    /* HTTPS verification (config_tls, owned): the model's endpoint, the judge's */
    config_tls tls;
    config_tls judge_tls;
    /* embedded simulator */
    char *sim_quality; /* passed to bench serve --sim-quality */
    char *sim_faults;  /* passed to bench serve --faults */
} eval_config;

void eval_config_defaults(eval_config *c);
void eval_config_free(eval_config *c);

typedef struct {
    char path[1024];    /* the evaluation file written */
    char *summary_json; /* owned; free() */
    double score;
    int interrupted;
} eval_outcome;

/* Run one evaluation end to end. On success the file is written and
 * *out->summary_json is the caller's. */
bench_status eval_execute(const eval_config *c, eval_outcome *out, bench_err *err);

/* `bench eval ...` (argv[0] = "eval"): exit status. */
int eval_main(int argc, char **argv);

#endif
