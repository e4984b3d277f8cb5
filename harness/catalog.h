/* catalog.h - the model catalog (suites/models.json).
 *
 * Each entry names a model as the report does, gives its context window, the
 * id servers usually know it by, the figures the report published (NaN where
 * none was published) and the parameters of its simulated latency profile. */
#ifndef BENCH_CATALOG_H
#define BENCH_CATALOG_H

#include "status.h"

typedef struct {
    double ttft_p50_ms, ttft_p99_ms; /* TTFT at concurrency 1 */
    double tps_c1, tps_c8;           /* output tok/s at concurrency 1 and 8 */
    double mmlu, humaneval, mtbench; /* MMLU %, HumanEval pass@1 %, MT-Bench 1-10 */
} catalog_published;

typedef struct {
    double ttft_p50_ms, ttft_p99_ms; /* lognormal TTFT at concurrency 1 */
    double tps_c1, tps_c8;           /* closed-loop output tok/s to reproduce */
    int calib_output_tokens;         /* output length the tok/s figures assume */
    int calib_input_tokens;          /* input length the TTFT figures assume */
    double prefill_load_factor;      /* TTFT grows by this fraction per extra stream */
    double mmlu, humaneval, mtbench; /* quality the simulator plays */
} catalog_sim;

typedef struct {
    char *name;      /* report name, e.g. "mixtral-8x7b" */
    char *served_id; /* default model id sent in requests */
    char *family;    /* free text */
    int context;     /* context window in tokens */
    double params_b; /* total parameters, billions */
    double active_b; /* active parameters per token, billions (MoE) */
    catalog_published published;
    catalog_sim sim;
} catalog_model;

typedef struct catalog catalog;

/* Load and validate a catalog file. On success *out owns everything; free it
 * with catalog_destroy(). On failure *out is NULL and err names the file and
 * the offending entry/field. */
bench_status catalog_load(const char *path, catalog **out, bench_err *err);

/* Parse a catalog from a JSON string (origin names it in messages). */
bench_status catalog_parse(const char *json, const char *origin, catalog **out, bench_err *err);

void catalog_destroy(catalog *c);

/* Borrowed pointer into c, or NULL when name is not in the catalog. */
const catalog_model *catalog_find(const catalog *c, const char *name);

size_t catalog_count(const catalog *c);
/* Borrowed pointer to entry i (0 <= i < count). */
const catalog_model *catalog_at(const catalog *c, size_t i);

/* Comma-separated list of model names, for error messages; caller frees. */
char *catalog_names(const catalog *c);

#endif
