/* suite.h - `bench suite FILE`: run a described set of measurements (every
 * model of a suite through its sweep) into one directory, then write the
 * report over all of them. Suite files are documented in docs/SUITES.md. */
#ifndef BENCH_SUITE_H
#define BENCH_SUITE_H

#include "status.h"

/* `bench suite ...` entry point (argv[0] = "suite"). */
int suite_main(int argc, char **argv);

/* Parse and check a suite file's text without running anything, as
 * `bench suite` does before its first run (for tests and fuzzing:
 * fuzz/fuzz_catalog_suite.c): json is the file's NUL-terminated text,
 * origin names it in messages; map_path, when not NULL, is an endpoint map
 * file applied to it. BENCH_EINPUT (one line naming the file and the
 * member) for a bad suite or map, BENCH_EIO when the map cannot be read. */
bench_status suite_check_text(const char *json, const char *origin, const char *map_path,
                              bench_err *err);

#endif
