/* mtbench.h - MT-Bench (FastChat llm_judge): questions, judge prompts,
 * reference answers, generation temperatures and rating parsing, as FastChat
 * does them.
 *
 * Files: <data_dir>/mt_bench/question.jsonl, judge_prompts.jsonl,
 * reference_answer/gpt-4.jsonl. */
#ifndef BENCH_MTBENCH_H
#define BENCH_MTBENCH_H

#include <stddef.h>

#include "dynbuf.h"
#include "status.h"

typedef struct {
    int id;         /* question_id, 81..160 */
    char *category; /* writing, roleplay, reasoning, math, coding, extraction, stem, humanities */
    char *turns[2];
    char *ref[2]; /* GPT-4 reference answers, or NULL (question's inline reference not used) */
} mtbench_question;

typedef struct {
    char *name; /* "single-v1", ... */
    char *system_prompt;
    char *prompt_template; /* with {question}, {answer}, {ref_answer_1}, ... placeholders */
    char *output_format;   /* "[[rating]]" */
} mtbench_judge_prompt;

typedef struct {
    mtbench_question *q;
    size_t nq;
    mtbench_judge_prompt *judge;
    size_t njudge;
} mtbench_set;

/* Load the three files; errors name the file and line. Every question must
 * have two turns; reference answers are attached by question_id. *out is the
 * caller's; free with mtbench_free. */
bench_status mtbench_load(const char *data_dir, mtbench_set **out, bench_err *err);
void mtbench_free(mtbench_set *s);

/* mtbench_load on the three files' bytes instead of their paths (for tests
 * and fuzzing: fuzz/fuzz_jsonl.c): text[0] the questions, text[1] the judge
 * prompts, text[2] the reference answers, each len[i] bytes (borrowed, need
 * not be NUL-terminated), origin[i] naming it in messages. Same rules and
 * messages as mtbench_load. *out is the caller's (mtbench_free). */
bench_status mtbench_parse(const char *const text[3], const size_t len[3],
                           const char *const origin[3], mtbench_set **out, bench_err *err);

/* FastChat's temperature_config: writing 0.7, roleplay 0.7, extraction 0.0,
 * math 0.0, coding 0.0, reasoning 0.0, stem 0.1, humanities 0.1; 0.7 for an
 * unknown category. */
double mtbench_temperature(const char *category);

/* True for the categories judged against a reference (math, reasoning, coding). */
int mtbench_needs_ref(const char *category);

/* Build the judge request for turn 1 or 2 of q: picks single-v1 /
 * single-v1-multi-turn, or single-math-v1(-multi-turn) when the category needs
 * a reference (and q has one), substitutes the template's placeholders
 * ({question}, {answer}, {ref_answer_1}, {question_1}, {answer_1},
 * {ref_answer_1}, {question_2}, {answer_2}, {ref_answer_2}) and appends the
 * user message to user (caller-owned); *system is a borrowed pointer into set.
 * answers[0..turn-1] are the model's answers. *prompt_name (borrowed) says
 * which prompt was used. */
bench_status mtbench_judge_messages(const mtbench_set *set, const mtbench_question *q, int turn,
                                    const char *const answers[2], const char **system, dynbuf *user,
                                    const char **prompt_name, bench_err *err);

/* FastChat's rating: the first match of \[\[(\d+\.?\d*)\]\], else of
 * \[(\d+\.?\d*)\]; -1 when neither matches. The number is read with
 * strtod ("8." is 8; FastChat's ast.literal_eval would raise on "08", here
 * it is 8). */
double mtbench_parse_rating(const char *text, size_t len);

#endif
