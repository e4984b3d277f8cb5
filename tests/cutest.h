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

/* Run argv[0] (a path) with argv, stdin from /dev/null, capturing stdout and
 * stderr into malloc'ed NUL-terminated strings (caller frees; either pointer
 * may be NULL to discard). Kills the child after timeout_s seconds. Returns
 * the exit status, 128 + signal when killed, -1 when it could not run. */
int cutest_spawn(const char *const argv[], char **out, char **err, int timeout_s);

/* Load a transcript from cutest_samples_dir() (malloc'ed, NUL-terminated;
 * caller frees). NULL, with the reason on stderr, when it cannot be read. */
char *cutest_load_sample(const char *name, size_t *len);

/* A fresh temporary directory (under $BENCH_TEST_TMP when set), caller frees. */
char *cutest_tmpdir(const char *tag);

#endif
