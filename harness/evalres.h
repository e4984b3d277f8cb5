/* evalres.h - evaluation results in HDF5 (docs/FORMAT.md, "Evaluation
 * files"): one file per evaluation run, root attributes in the results
 * format's conventions plus kind = "eval", and one table /eval/items with a
 * row per scored item.
 *
 * A file is written in one go when the evaluation ends (items are few: at
 * most ~14k for MMLU), to a temporary name renamed into place, so a crash
 * leaves either no file or a complete one. */
#ifndef BENCH_EVALRES_H
#define BENCH_EVALRES_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* One scored item. Strings are borrowed by the writer, owned by the reader's
 * caller (evalres_items_free). NULL strings are written as "". */
typedef struct {
    char *id;               /* "abstract_algebra/0", "HumanEval/3#0", "81/1" (question/turn) */
    char *group;            /* MMLU subject, MT-Bench category, "" for HumanEval */
    char *prompt_sha256;    /* of the request body's prompt text (hex) */
    char *response;         /* the model's text */
    char *parsed;           /* extracted letter, "passed"/"failed"/"timed out", rating text */
    char *judge;            /* MT-Bench judge's text, else "" */
    char *detail;           /* exception, request error, ... */
    double score;           /* MMLU/HumanEval 1 or 0; MT-Bench rating 1-10, -1 unrated */
    int status;             /* req_class of the (last) generation request */
    int attempts;           /* requests sent for it (retries included) */
    double ttft_ms, e2e_ms; /* generation latency; NaN when it failed */
    int prompt_tokens, output_tokens; /* from usage, -1 unknown */
} evalres_item;

/* Root attributes (borrowed strings; NULL written as ""). */
typedef struct {
    const char *eval; /* "mmlu", "humaneval", "mtbench" */
    const char *harness_version;
    const char *created_utc;
    const char *model, *served_model, *endpoint, *endpoint_kind, *api;
    const char *method; /* "logprobs", "generative", "cot"; "completion"/"chat"; "single-v1" */
    const char *judge_model, *judge_endpoint, *judge_endpoint_kind; /* MT-Bench, else NULL */
    const char *config_json;  /* effective configuration, no secrets */
    const char *summary_json; /* the scores, as printed by --json */
    double score;             /* the headline score (MMLU macro, pass@1, MT-Bench overall) */
    int64_t t0_unix_ns;       /* when the evaluation started (wall clock) */
    int64_t t0_monotonic_ns;  /* the same instant on CLOCK_MONOTONIC */
} evalres_meta;

/* Write path (parent directories created) atomically: path.tmp then rename. */
bench_status evalres_write(const char *path, const evalres_meta *meta, const evalres_item *items,
                           size_t n, bench_err *err);

/* Read the items table of an evaluation file. *items is the caller's:
 * evalres_items_free. Fails with BENCH_EINPUT naming the file when it is not
 * an evaluation file of this format. */
bench_status evalres_read_items(const char *path, evalres_item **items, size_t *n, bench_err *err);
void evalres_items_free(evalres_item *items, size_t n);

#endif
