/* eval_impl.h - internal to eval*.c: the context an evaluation runs in and
 * the batch engine each task (MMLU, HumanEval, MT-Bench) sends requests
 * through. */
#ifndef BENCH_EVAL_IMPL_H
#define BENCH_EVAL_IMPL_H

#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "catalog.h"
#include "endpoint.h"
#include "eval.h"
#include "evalres.h"
#include "record.h"

typedef struct {
    const eval_config *cfg;
    const catalog_model *cm; /* NULL for a model outside the catalog */
    const catalog_model *judge_cm;
    oai_api api;
    endpoint ep, judge_ep;
    int judge_shares_ep; /* the judge is the model's own simulator */
    char served[256], judge_served[256];
    const char *api_key, *judge_api_key;
    char data_dir[1024];
    run_config rc; /* timeouts and threads for the pool */
    int64_t t0;
    int progress;
    atomic_int *stop;
    /* Filled by the task: */
    evalres_item *items;
    size_t nitems;
    char method[32];
    cJSON *summary; /* the --json object */
    double score;
} eval_ctx;

/* One request per index. build adds the request's own members to req (which
 * already holds "model", "stream" and "stream_options") and sets
 * *max_tokens; done receives the outcome (error NULL on success). Both run
 * on worker threads, one call per index per attempt. */
typedef struct {
    bench_status (*build)(void *ud, size_t idx, cJSON *req, int *max_tokens, bench_err *err);
    void (*done)(void *ud, size_t idx, const req_record *r, const char *text, size_t len,
                 const oai_top *top, const char *error);
    void *ud;
} eval_task;

/* Send requests for idx[0..n-1] to the model (judge = 0) or the judge
 * (judge = 1) with ctx->cfg->concurrency in flight; retry failed ones (not
 * 4xx other than 408/429) up to cfg->retries times, waiting 1, 2, 4... s.
 * attempts[idx] (caller's array, may be NULL) counts requests sent. */
bench_status eval_batch(eval_ctx *ctx, int judge, const char *label, const size_t *idx, size_t n,
                        const eval_task *t, int *attempts, bench_err *err);

/* Add the prompt as "prompt" (completions) or a single user message (chat). */
bench_status eval_req_prompt(cJSON *req, oai_api api, const char *text, bench_err *err);

/* Latency fields of an item from its request record. */
void eval_item_latency(evalres_item *it, const req_record *r);

/* Tasks: fill ctx->items, ctx->summary, ctx->score, ctx->method. */
bench_status eval_mmlu_run(eval_ctx *ctx, bench_err *err);
bench_status eval_humaneval_run(eval_ctx *ctx, bench_err *err);
bench_status eval_mtbench_run(eval_ctx *ctx, bench_err *err);

#endif
