/* report.h - `bench report`: regenerate the report's tables and plots from
 * results files only (it never re-runs anything).
 *
 * Each input file (or every *.h5 in an input directory) is read level by
 * level, the chunk tables in bounded slices, through the same metric
 * definitions the run uses (metrics.h). Models are grouped across files;
 * where two files hold the same model and level (c8, r2.5), the newer file
 * wins.
 * The output directory receives report.md, report.html (self-contained) and
 * the plots as PNG and SVG with their data files. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "metrics.h"
#include "results_read.h"
#include "status.h"

typedef struct {
    const char *outdir;       /* created when missing */
    const char *catalog_path; /* NULL: suites/models.json of the project */
    const char *plots_dir;    /* NULL: plots/ of the project */
    metrics_slo slo;          /* NAN limits: no goodput */
    double steady_margin;     /* 0..0.45: fraction of each level's span excluded at both ends */
    int plots;                /* render the gnuplot plots */
    int json;                 /* print a JSON summary on stdout */
    int quiet;                /* no "report written to" line on stderr */
} report_opts;

void report_opts_default(report_opts *o);

/* Write the report for the given inputs (paths to results files or to
 * directories holding them). An input that cannot be read is reported on
 * stderr as one line naming it and skipped; the others still report. Returns
 * BENCH_OK when every input was read, BENCH_EINPUT (after writing the report
 * for the rest) when some were not, or the first failure that prevented
 * writing the report. *n_ok (may be NULL) receives the number of files read. */
bench_status report_write(const char *const *inputs, size_t n_inputs, const report_opts *o,
                          size_t *n_ok, bench_err *err);

/* The headline figures of the given inputs, per model, read and computed by
 * the same code as report_write's tables (o: its slo and steady_margin
 * matter; NULL = defaults). *out (the caller's; cJSON_Delete) is an object
 *   {"<model>": {"ttft_p50_ms_c1": ms, "ttft_p99_ms_c1": ms,
 *                "tps_c8": output tok/s, "tps_level": c,
 *                "mmlu": %, "humaneval": %, "mtbench": 1-10}}
 * with null for a figure the inputs do not hold. TTFT is at concurrency 1;
 * tps_c8 is output tokens/s at concurrency 8, or at the highest level
 * measured when 8 was not (tps_level says which). Quality scores are on the
 * report's scale (MMLU macro accuracy and HumanEval pass@1 in %, MT-Bench
 * rating). Unreadable inputs are named on stderr and skipped, as in
 * report_write; BENCH_EINPUT when none could be read. */
bench_status report_headlines(const char *const *inputs, size_t n_inputs, const report_opts *o,
                              cJSON **out, bench_err *err);

/* `bench report ...` entry point (argv[0] = "report"). */
int report_main(int argc, char **argv);

/* Feed level c of f to acc: rows, its n requests (the caller's, as
 * results_read_requests_key returns them; reordered here by chunk_offset),
 * with their chunks, the chunk table read in slices of at most 2^20 rows so
 * that memory does not grow with it (one request's chunks never span two
 * slices; a longer request gets a slice of its own). The one reading loop of
 * bench report and bench compare, so both compute a level's figures from
 * the same reads. Errors come unwrapped from the reader or acc: callers name
 * the file and level. */
bench_status report_feed_level(results_file *f, level_key c, req_record *rows, size_t n,
                               metrics_acc *acc, bench_err *err);

#endif
