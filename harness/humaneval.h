/* humaneval.h - HumanEval (OpenAI): problems, completion extraction, the
 * program that tests a completion, and the unbiased pass@k estimator, as
 * openai/human-eval defines them.
 *
 * File: <data_dir>/humaneval/HumanEval.jsonl.gz (gzip JSON Lines). */
#ifndef BENCH_HUMANEVAL_H
#define BENCH_HUMANEVAL_H

#include <stddef.h>

#include "dynbuf.h"
#include "status.h"

typedef struct {
    char *task_id; /* "HumanEval/0" */
    char *prompt;
    char *entry_point;
    char *canonical_solution;
    char *test;
} humaneval_problem;

/* Load the 164 problems in file order; errors name the file and line.
 * *out is the caller's; free with humaneval_free. */
bench_status humaneval_load(const char *data_dir, humaneval_problem **out, size_t *n,
                            bench_err *err);
void humaneval_free(humaneval_problem *p, size_t n);

/* The JSON Lines text humaneval_load reads once decompressed, as bytes (for
 * tests and fuzzing: fuzz/fuzz_jsonl.c): data[0, len) is borrowed and need
 * not be NUL-terminated; origin names it in messages. Same rules and
 * messages as humaneval_load. *out is the caller's (humaneval_free). */
bench_status humaneval_parse(const char *data, size_t len, const char *origin,
                             humaneval_problem **out, size_t *n, bench_err *err);

/* Stop sequences for completion models: "\nclass", "\ndef", "\n#", "\nif", "\nprint". */
extern const char *const humaneval_stop[5];
/* Length of text up to (not including) the first stop sequence. */
size_t humaneval_truncate(const char *text, size_t len);

/* The instruction sent to chat models, followed by the prompt: appended to
 * out (caller-owned). */
bench_status humaneval_chat_prompt(const humaneval_problem *p, dynbuf *out, bench_err *err);

/* Turn a chat reply into a completion: the first fenced code block (```python
 * or ```), else the whole reply. When the code defines the entry point
 * (def <entry_point>(), *full_function is set and the code is kept whole
 * (with any imports and helpers); otherwise it is treated as a body and
 * indented to 4 spaces where it is not. *out (caller frees) is the
 * completion. */
bench_status humaneval_extract(const humaneval_problem *p, const char *reply, size_t len,
                               char **out, int *full_function, bench_err *err);

/* The program human-eval runs: prompt + completion + "\n" + test + "\n" +
 * "check(" entry_point ")"; for a full function, the prompt is replaced by
 * the prompt's lines before the "def <entry_point>" line (its imports and
 * helpers) so the signature is not duplicated. Appended to out. */
bench_status humaneval_program(const humaneval_problem *p, const char *completion,
                               int full_function, dynbuf *out, bench_err *err);

/* Unbiased estimator 1 - C(n-c, k)/C(n, k) (1.0 when n - c < k), computed as
 * human-eval does (a product, no big binomials). Requires 0 <= c <= n, 1 <= k <= n. */
double humaneval_pass_at_k(int n, int c, int k);

#endif
