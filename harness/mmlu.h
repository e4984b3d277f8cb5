/* mmlu.h - the MMLU dataset (Hendrycks et al.), its 5-shot prompt and its
 * answer extraction, exactly as the reference harness builds and scores them.
 *
 * Files: <data_dir>/mmlu/{dev,val,test}/<subject>_<split>.csv, no header,
 * columns question,A,B,C,D,answer; read with libcsv (quoted multi-line
 * fields, CRLF and LF, missing final newline). Subjects are sorted by name. */
#ifndef BENCH_MMLU_H
#define BENCH_MMLU_H

#include <stddef.h>

#include "dynbuf.h"
#include "status.h"

/* The four reporting categories of the MMLU paper (categories.py). */
typedef enum {
    MMLU_STEM = 0,
    MMLU_HUMANITIES = 1,
    MMLU_SOCIAL_SCIENCES = 2,
    MMLU_OTHER = 3,
    MMLU_CATEGORY_COUNT
} mmlu_category;

typedef struct {
    char *question;
    char *choices[4]; /* A, B, C, D */
    char answer;      /* 'A'..'D' */
} mmlu_row;

typedef struct {
    char *name;    /* "abstract_algebra" */
    int category;  /* mmlu_category */
    mmlu_row *dev; /* the dev split, file order (shots are its first rows) */
    size_t ndev;
    mmlu_row *items; /* the evaluated split (test, or val), file order */
    size_t nitems;
} mmlu_subject;

typedef struct {
    mmlu_subject *subjects; /* sorted by name */
    size_t nsubjects;
    size_t nitems; /* total over subjects */
} mmlu_set;

/* Load every subject of <data_dir>/mmlu for the split "test" or "val" (with
 * its dev file). Every row must have exactly 6 fields and an answer in A-D;
 * errors name the file and the record number. A <subject>_<split>.csv whose
 * subject is not one of the 57 is an error. *out is the caller's; free
 * with mmlu_free. */
bench_status mmlu_load(const char *data_dir, const char *split, mmlu_set **out, bench_err *err);
void mmlu_free(mmlu_set *s);

/* Parse one CSV file's bytes into rows (exposed for tests). origin names the
 * file in messages. Fields are kept byte for byte as Python's csv module
 * reads them: no trimming, line breaks inside quoted fields kept as written
 * (CRLF included), a quote inside an unquoted field is literal; blank lines
 * are skipped; an unterminated quoted field is an error. *rows is the
 * caller's; free with mmlu_rows_free. */
bench_status mmlu_parse_csv(const char *data, size_t len, const char *origin, mmlu_row **rows,
                            size_t *nrows, bench_err *err);
void mmlu_rows_free(mmlu_row *rows, size_t n);

/* Category of a subject name; -1 when it is not one of the 57. */
int mmlu_subject_category(const char *subject);
/* "STEM", "humanities", "social sciences", "other" (static strings). */
const char *mmlu_category_name(int category);

/* Append the k-shot prompt for item to out (caller-owned):
 *   "The following are multiple choice questions (with answers) about
 *   {subject, '_' -> ' '}.\n\n", then each of the first k dev rows as
 *   question "\nA. " A "\nB. " B "\nC. " C "\nD. " D "\nAnswer: " letter
 *   "\n\n", then the item the same way ending in "\nAnswer:".
 * k must not exceed s->ndev. */
bench_status mmlu_prompt(const mmlu_subject *s, const mmlu_row *item, int k, dynbuf *out,
                         bench_err *err);

/* The 0-shot chain-of-thought prompt of simple-evals (QUERY_TEMPLATE_MULTICHOICE). */
bench_status mmlu_prompt_cot(const mmlu_row *item, dynbuf *out, bench_err *err);

/* Generative scoring: the first of A-D in the reply after trimming leading
 * whitespace, accepted only as a whole token (followed by end, whitespace,
 * or one of .):,); returns 0 when there is none. One '(' may precede the
 * letter ("(B)"). Only the reply's first token counts and letters are upper
 * case: "The answer is B", "Because" and "b" give 0. */
char mmlu_extract_letter(const char *text, size_t len);

/* Chain-of-thought scoring: the letter of the first match of
 * (?i)Answer[ \t]*:[ \t]*\$?([A-D])\$? (simple-evals); 0 when none. (?i)
 * also lets the group match a-d: such a letter is returned as written, so it
 * never equals an item's answer, as in simple-evals' scoring. */
char mmlu_extract_cot(const char *text, size_t len);

/* Logprob scoring: given the top tokens of the first generated position and
 * their logprobs, the letter whose token (" A".." D", also "A".."D") has the
 * highest logprob; 0 when none of the eight appears. A letter's two tokens
 * are not summed (the higher counts); on a tie the earlier letter wins. */
char mmlu_pick_logprob(const char *const *tokens, const double *logprobs, size_t n);

/* Accuracy aggregates. correct[i] is 0/1 for item i in the set's order
 * (subject by subject, file order). micro = mean over items; macro = mean of
 * the per-subject accuracies; per category = mean over the items of that
 * category (micro within the category). per_subject may be NULL, else has
 * nsubjects entries. Subjects with no evaluated items (limit) are skipped in
 * the macro mean; n_evaluated gives how many items each subject had.
 * correct is indexed over every item of the set (set->nitems entries); only
 * the first n_evaluated[s] items of subject s are counted. n_evaluated may be
 * NULL (every item). per_subject[s] is NaN for a subject with none. */
typedef struct {
    double micro, macro;
    double category[MMLU_CATEGORY_COUNT]; /* NaN when a category had no items */
    size_t n, n_correct;
} mmlu_scores;
void mmlu_score(const mmlu_set *set, const unsigned char *correct, const size_t *n_evaluated,
                mmlu_scores *out, double *per_subject);

#endif
