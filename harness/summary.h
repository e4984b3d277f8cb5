/* summary.h - the end-of-run summary: a terminal table and a JSON object
 * (fields documented in docs/METRICS.md and README). */
#ifndef BENCH_SUMMARY_H
#define BENCH_SUMMARY_H

#include <stdio.h>

#include "run.h"

/* Print the per-level table and any failures by class to f. */
void summary_print_table(FILE *f, const run_summary *s);

/* The summary as one JSON object (caller frees); NULL on allocation failure. */
char *summary_json(const run_summary *s);

#endif
