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

#include <stdio.h>

#include "status.h"

typedef enum { CMP_TEXT, CMP_MD, CMP_JSON, CMP_JUNIT } compare_format;

typedef struct {
    const char *thresholds_path; /* NULL = <root>/suites/thresholds.json */
    compare_format format;
    int force;          /* compare runs whose configurations differ */
    unsigned seed;      /* bootstrap seed (default 1): same inputs, same output */
    int resamples;      /* bootstrap resamples (default 2000) */
    const char *slo;    /* goodput SLO spec as bench report --slo, or NULL */
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

#endif
