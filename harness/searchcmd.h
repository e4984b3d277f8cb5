/* searchcmd.h - `bench search` around a run: its flags, the planner that
 * turns search.h's decisions into levels, and what it prints and records
 * (docs/SEARCH.md). */
#ifndef BENCH_SEARCHCMD_H
#define BENCH_SEARCHCMD_H

#include <stdio.h>

#include "config.h"
#include "run.h"
#include "search.h"
#include "status.h"

typedef struct search_plan search_plan;

/* Take the search's own flags (--slo, --by, --start, --max, --precision,
 * --probes) out of argv[1..argc-1], compacting the rest (the run's flags)
 * in place and updating *argc. Refuses --concurrency and --rate: the
 * search picks the levels. *help is set for --help (then *out is NULL).
 * *out is the caller's: search_plan_destroy. */
bench_status search_plan_from_args(int *argc, char **argv, search_plan **out, int *help,
                                   bench_err *err);

/* Make cfg a run of the search's kind whose first level is the start, and
 * start the search (bounds checked against cfg: the in-flight cap for
 * rate). */
bench_status search_plan_apply(search_plan *sp, run_config *cfg, bench_err *err);

/* The planner to hand run_execute_planned; borrowed from sp. */
const run_planner *search_plan_planner(search_plan *sp);

/* The probes made and the answer, as a table (after the run's own). */
void search_plan_print(const search_plan *sp, FILE *out);

/* The search as JSON ({"by", "slo", "best", "first_fail", "probes",
 * "stopped", "levels": [...]}); malloc'd, the caller frees; NULL when out
 * of memory. */
char *search_plan_json(const search_plan *sp);

void search_plan_destroy(search_plan *sp);

/* The --help text of bench search. */
extern const char search_usage[];

#endif
