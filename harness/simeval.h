/* simeval.h - the simulated endpoint playing a catalog model in evaluations
 * (docs/SIMULATOR.md, "Playing a model in evaluations").
 *
 * With the evaluation data loaded (MMLU test and val, HumanEval), a request
 * is recognised as an MT-Bench judge prompt, an MMLU 5-shot or 0-shot
 * chain-of-thought item, or a HumanEval problem, and gets a scripted reply:
 * right with the probability of the played model's figure, wrong otherwise.
 * Draws depend only on (seed, model, request text, its "seed" and
 * "temperature", and at temperature > 0 how many identical requests came
 * before), never on how requests interleave. Not thread-safe: one event
 * loop owns it. */
#ifndef BENCH_SIMEVAL_H
#define BENCH_SIMEVAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "catalog.h"
#include "dynbuf.h"
#include "status.h"

#define SIMEVAL_MAX_STOP 16 /* stop sequences honoured per request */
#define SIMEVAL_MAX_TOP 20  /* top logprobs given at most */
#define SIMEVAL_JUDGE_MARK "Please act as an impartial judge"
#define SIMEVAL_ANSWER_MARK "[simulated answer by " /* + NAME + "]" */

/* The figures played: MMLU accuracy %, HumanEval pass@1 %, MT-Bench 1-10. */
typedef struct {
    double mmlu, humaneval, mtbench;
} simeval_quality;

/* Override q's fields from "mmlu=P,humaneval=P,mtbench=S" (any subset, in
 * any order). BENCH_EUSAGE naming the item for an unknown key or a value
 * out of range (0-100, 0-100, 1-10). NULL or "" changes nothing. */
bench_status simeval_quality_parse(const char *spec, simeval_quality *q, bench_err *err);

typedef struct simeval simeval;

/* Load <data_dir>'s MMLU (test and val splits) and HumanEval and index
 * them. cat (every model a judge prompt may name) and model (the one
 * played, with the figures q) are borrowed and must outlive *out, which is
 * the caller's (simeval_free). Fails, naming the missing or bad file, when
 * the data cannot be loaded, and when a figure of q is NaN. */
bench_status simeval_open(const char *data_dir, const catalog *cat, const catalog_model *model,
                          const simeval_quality *q, uint64_t seed, simeval **out, bench_err *err);
void simeval_free(simeval *e);

/* Items indexed, for the start-up message. */
size_t simeval_mmlu_items(const simeval *e);
size_t simeval_humaneval_problems(const simeval *e);

typedef enum {
    SIMEVAL_NONE = 0,  /* not an evaluation prompt: the caller writes filler */
    SIMEVAL_JUDGE,     /* MT-Bench judge: "... Rating: [[R]]" (or [[A]]/[[B]]/[[C]]) */
    SIMEVAL_MMLU,      /* MMLU 5-shot: one letter */
    SIMEVAL_MMLU_COT,  /* MMLU 0-shot chain of thought: "...\nAnswer: X" */
    SIMEVAL_HUMANEVAL, /* HumanEval: a completion or a fenced full function */
} simeval_kind;

typedef struct {
    /* What the request asked for (every request, also SIMEVAL_NONE). */
    char *stop[SIMEVAL_MAX_STOP]; /* owned copies of its non-empty stop strings */
    size_t nstop;
    int logprobs; /* top logprobs asked for (chat: top_logprobs), -1 when none */
    /* The reply. */
    simeval_kind kind;
    char *text;   /* owned, NUL-terminated; NULL for SIMEVAL_NONE */
    char letter;  /* SIMEVAL_MMLU / _COT: the letter given ('A'..'D') */
    int correct;  /* 1 when the scripted reply is the right one (-1: unknown item) */
    double lp[4]; /* SIMEVAL_MMLU: logprob of each letter A..D (given one highest) */
} simeval_reply;

/* Recognise the request (its parsed JSON body; chat selects messages over
 * prompt) and script the reply into *out (caller frees with
 * simeval_reply_free, also on failure). Only BENCH_ENOMEM fails: requests
 * that are not evaluation prompts get kind SIMEVAL_NONE. */
bench_status simeval_respond(simeval *e, const cJSON *root, int chat, simeval_reply *out,
                             bench_err *err);
void simeval_reply_free(simeval_reply *r);

/* Offset of the first occurrence in text of any of r's stop strings, or
 * len when none occurs. */
size_t simeval_stop_cut(const simeval_reply *r, const char *text, size_t len);

/* Append the "logprobs" value for r's first token (an MMLU letter) to out:
 * the completions object {"tokens","token_logprobs","top_logprobs",
 * "text_offset"} or the chat object {"content":[...]}, with at most
 * r->logprobs top entries. Appends "null" when r has none to give. */
bench_status simeval_logprobs_json(const simeval_reply *r, int chat, dynbuf *out);

/* End offset of the token-sized piece of text[0..len) starting at pos:
 * leading whitespace, then a word (letters, digits, '_', bytes >= 0x80) or
 * up to 4 other bytes. pos < len; the result is in (pos, len]. */
size_t simeval_piece_end(const char *text, size_t len, size_t pos);

#endif
