/* trend.h - `bench report --trend HISTORY_DIR`: the headline figures of the
 * suite runs recorded in a history index (history.h) drawn over time.
 *
 * One plot per headline figure that any run recorded (TTFT p50 and p99 at
 * concurrency 1, output tok/s at concurrency 8, MMLU, HumanEval,
 * MT-Bench), each through plots/trend.gp as trend_<figure>.png/.svg/.dat:
 * x the run's date, one line per model, a red ring on every run whose
 * comparison flagged a regression of that model in a metric behind the
 * figure, a dashed vertical line at every baseline promotion. trend.md and
 * trend.html (rdoc) hold the plots and a table of the runs and of the
 * promotions. */
#ifndef BENCH_TREND_H
#define BENCH_TREND_H

#include "status.h"

typedef struct {
    const char *history_dir; /* holds index.jsonl */
    const char *outdir;      /* created when missing */
    const char *plots_dir;   /* NULL: plots/ of the project */
    int plots;               /* render the plots (else tables only) */
    int quiet;               /* no "wrote" line on stderr */
} trend_opts;

/* Write <outdir>/trend.md, trend.html and the plots. Malformed history
 * lines are named on stderr (file:line) and skipped. BENCH_EIO when the
 * index cannot be read, BENCH_EINPUT when it records no run; a plot that
 * fails is noted in the documents and its error returned after the rest is
 * written. */
bench_status trend_write(const trend_opts *o, bench_err *err);

#endif
