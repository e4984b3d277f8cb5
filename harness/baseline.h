/* baseline.h - `bench baseline promote RUN_DIR`: make a suite run the
 * baseline later runs are compared with (bench suite, bench compare).
 *
 * The run's results files (the *.h5 files in RUN_DIR: load tests and evaluations; the
 * report is not copied) are copied into a temporary directory beside the
 * baseline directory, with BASELINE.json (who promoted what, when and why,
 * and every file's sha256); the new directory then replaces the old one in
 * one renameat2(RENAME_EXCHANGE) (two renames where the file system cannot
 * exchange), so a failure at any point leaves the old baseline as it was.
 * The promotion is appended to the history index (history.h) as a
 * "promote" event. docs/SUITES.md, "Baselines". */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include <stddef.h>

#include "status.h"

typedef struct {
    const char *run_dir;     /* the run to promote (a bench suite output directory) */
    const char *reason;      /* required, non-empty: the audit trail */
    const char *suite;       /* NULL: the run's own history record, else "nightly" */
    const char *to;          /* NULL: <project root>/results/baselines/<suite> */
    const char *history_dir; /* NULL: <project root>/results/history */
} baseline_opts;

/* Promote o->run_dir. dest (may be NULL) receives the baseline directory.
 * BENCH_EUSAGE for a missing reason or a bad suite name; BENCH_EINPUT when
 * RUN_DIR is not a directory, holds no *.h5 file or one that is not a
 * results file; BENCH_EIO when copying or swapping fails (the old baseline
 * is then untouched) or when the history entry cannot be appended (the
 * baseline is then already promoted: the message says so). */
bench_status baseline_promote(const baseline_opts *o, char *dest, size_t destsz, bench_err *err);

/* `bench baseline promote ...` (argv[0] = "baseline"): exit status 0 done,
 * 1 failure, 2 bad flags or input. */
int baseline_main(int argc, char **argv);

#endif
