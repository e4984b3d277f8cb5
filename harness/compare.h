/* compare.h - `bench compare BASELINE CANDIDATE`: is the candidate worse?
 *
 * Inputs are results files (load tests, evaluations) or directories of them,
 * matched by model, concurrency level and evaluation. For every metric the
 * comparison gives both values, the relative change, a confidence interval
 * of the change (bootstrap over requests for latency percentiles and
 * throughput; paired tests on the same items for quality: McNemar for
 * accuracy and pass@1, paired bootstrap for MT-Bench) and a verdict. A
 * regression needs both: the change is worse than the metric's threshold
 * (suites/thresholds.json) and the interval excludes zero. docs/COMPARE.md
 * states every rule. */
#ifndef BENCH_COMPARE_H
#define BENCH_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

typedef enum { CMP_TEXT, CMP_MD, CMP_JSON, CMP_JUNIT } compare_format;

typedef struct {
    const char *thresholds_path; /* NULL = <root>/suites/thresholds.json */
    compare_format format;
    int force;       /* compare runs whose configurations differ */
    unsigned seed;   /* bootstrap seed (default 1): same inputs, same output */
    int resamples;   /* bootstrap resamples (default 2000) */
    const char *slo; /* goodput SLO spec as bench report --slo, or NULL */
} compare_opts;

void compare_opts_default(compare_opts *o);

typedef struct {
    int regressions;
    int improvements;
    int unchanged;
    int compared; /* metrics compared */
} compare_counts;

/* Compare baseline with candidate (files or directories) and write the
 * result to out in o->format. Returns BENCH_EINPUT (naming the file or the
 * differing configuration field) when the inputs cannot be compared;
 * *counts is filled on success. */
bench_status compare_paths(const char *baseline, const char *candidate, const compare_opts *o,
                           FILE *out, compare_counts *counts, bench_err *err);

/* `bench compare ...` (argv[0] = "compare"): exit status 0 no regression,
 * 1 regression, 2 error. */
int compare_main(int argc, char **argv);

/* ---- The pieces compare_paths is made of, for tests and other callers. ---- */

/* The metrics compared, in output order. The key (compare_metric_key) names
 * the metric in the thresholds file, the JSON output and the JUnit test
 * case. */
typedef enum {
    CMP_TTFT_P50,
    CMP_TTFT_P99,
    CMP_TPOT_P50,
    CMP_TPOT_P99,
    CMP_ITL_P50,
    CMP_ITL_P99,
    CMP_E2E_P50,
    CMP_E2E_P99,
    CMP_OUTPUT_TPS,
    CMP_ERROR_RATE,
    CMP_GOODPUT,
    CMP_MMLU,
    CMP_HUMANEVAL,
    CMP_MTBENCH,
    CMP_METRIC_COUNT
} compare_metric;

/* "ttft_p50", ...; NULL out of range. Static strings. */
const char *compare_metric_key(compare_metric m);

/* Thresholds: the practical size a change must exceed to count. Relative
 * (a fraction of the baseline) for latencies and throughput, absolute (in
 * the metric's own unit: fractions for error rate, goodput, MMLU and
 * HumanEval, rating points for MT-Bench) for the others; which one is
 * intrinsic to the metric (compare_metric_is_relative). */
typedef struct {
    double alpha;                       /* family-wise error rate (default 0.05) */
    double threshold[CMP_METRIC_COUNT]; /* >= 0 */
    char slo[256];                      /* "slo" member: default goodput SLO, "" = none */
} compare_thresholds;

int compare_metric_is_relative(compare_metric m);

/* The built-in defaults (the values suites/thresholds.json ships with). */
void compare_thresholds_default(compare_thresholds *t);

/* Load a thresholds file over the defaults: {"format": "bench-thresholds",
 * "version": 1, "alpha": A, "slo": "ttft=...", "metrics": {KEY: {"rel": X} or
 * {"abs": X}}}; metrics not named keep their defaults. BENCH_EINPUT naming
 * the file and the offending key for anything else (unknown key, "abs" for a
 * relative metric, a negative value...); BENCH_EIO when it cannot be read. */
bench_status compare_thresholds_load(const char *path, compare_thresholds *t, bench_err *err);

/* McNemar's exact test: two-sided p-value for b and c discordant pairs
 * (binomial, n = b + c, p = 1/2: min(1, 2 P(X <= min(b, c)))). 1 when
 * b + c = 0. */
double compare_mcnemar_p(unsigned long b, unsigned long c);

/* Bootstrap interval of the relative change of the q-th percentile (numpy
 * linear, 0..100) from x (baseline) to y (candidate): resample x and y
 * independently with replacement (single requests: no blocks), resamples
 * times, from an RNG seeded with seed; the interval at confidence level is
 * normal on the log scale, log(P_q(y) / P_q(x)) +- z sd, sd the standard
 * deviation of log(P_q(y*) / P_q(x*)) over the resamples, mapped back to a
 * relative change. NAN values are skipped (a request with no such figure).
 * NAN bounds when either sample is empty. The arithmetic of compare_run's
 * latency rows (docs/COMPARE.md), without their blocks. */
bench_status compare_bootstrap_pctl(const double *x, size_t nx, const double *y, size_t ny,
                                    double q, double level, int resamples, unsigned seed,
                                    double *lo, double *hi, bench_err *err);

typedef enum { CMP_UNCHANGED, CMP_REGRESSION, CMP_IMPROVEMENT, CMP_NA } compare_verdict;

/* "unchanged", "regression", "improvement", "n/a". */
const char *compare_verdict_name(compare_verdict v);

/* One compared metric. Values are in the metric's natural unit (ms, tok/s,
 * fractions for rates and accuracies, MT-Bench points). */
typedef struct {
    char *model; /* owned */
    char *scope; /* owned: the level ("c8", "r2.5"), or the evaluation name */
    compare_metric metric;
    double base, cand;     /* the two values (NAN: not measured) */
    double change;         /* cand / base - 1 (relative metrics) or cand - base */
    double lo, hi;         /* its confidence interval at the comparison's level */
    double p;              /* two-sided p-value (NAN when the method gives none) */
    double threshold;      /* from the thresholds */
    const char *method;    /* static: "bootstrap", "newcombe", "mcnemar", "paired-bootstrap" */
    size_t n_base, n_cand; /* requests or items the values rest on */
    compare_verdict verdict;
} compare_row;

/* A whole comparison, ready to be written in any format. */
typedef struct {
    char *baseline, *candidate; /* owned: the paths as given */
    char *thresholds;           /* owned: the thresholds file read, or "built-in defaults" */
    compare_row *rows;          /* owned, n_rows */
    size_t n_rows;
    char **notes; /* owned: unmatched inputs, configuration differences forced through */
    size_t n_notes;
    double alpha;  /* family-wise */
    size_t family; /* m: the rows with both values (Bonferroni divisor) */
    double level;  /* each interval's confidence level, 1 - alpha / m */
    int resamples;
    unsigned seed;
    int forced; /* --force was needed */
    compare_counts counts;
} compare_result;

/* Read, match and compare (compare_paths without the writing). *res is the
 * caller's (compare_result_free) on success and is empty on failure. */
bench_status compare_run(const char *baseline, const char *candidate, const compare_opts *o,
                         compare_result *res, bench_err *err);

/* Write res to out: an aligned text table (CMP_TEXT), Markdown tables
 * grouped by model and level (CMP_MD), one JSON object (CMP_JSON), or JUnit
 * XML with one testsuite per model and level, one testcase per metric and a
 * <failure> per regression (CMP_JUNIT). BENCH_EIO when out reports a write
 * error. */
bench_status compare_write(const compare_result *res, compare_format fmt, FILE *out,
                           bench_err *err);

void compare_result_free(compare_result *res);

/* Write s to out escaped for XML text and attribute values: & < > " ' as
 * entities, other control characters but tab, LF and CR (not allowed in
 * XML 1.0) as U+FFFD. */
void compare_xml_escape(const char *s, FILE *out);

#endif
