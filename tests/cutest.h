/* cutest.h - shared CUnit runner and helpers for the test programs. */
#ifndef BENCH_CUTEST_H
#define BENCH_CUTEST_H

#include <CUnit/CUnit.h>

/* Register one suite of tests and run it with the basic (verbose) runner.
 * Returns 0 when every test passed, 1 otherwise: use as main's return. */
int cutest_run(const char *suite_name, CU_TestInfo *tests);

/* Paths from the environment meson sets (tests/meson.build), with defaults. */
const char *cutest_root(void);        /* project root */
const char *cutest_samples_dir(void); /* ../shared/samples */
const char *cutest_bench_exe(void);   /* built bench executable */

#endif
