/* summary.h - the end-of-run summary: a terminal table and a JSON object
 * (fields documented in docs/METRICS.md and README). */
#ifndef BENCH_SUMMARY_H
#define BENCH_SUMMARY_H

#include <stdio.h>

#include "run.h"

/* Print the per-level table and any failures by class to f. */
void summary_print_table(FILE *f, const run_summary *s);

/* One level's metrics as a JSON object (the "levels" entries of --json);
 * the caller owns it (cJSON_Delete). */
struct cJSON;
struct cJSON *summary_level_json(const level_metrics *m);

/* The summary as one JSON object (caller frees); NULL on allocation failure. */
char *summary_json(const run_summary *s);

#endif
