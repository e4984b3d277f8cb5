/* suite.h - `bench suite FILE`: run a described set of measurements (every
 * model of a suite through its sweep) into one directory, then write the
 * report over all of them. Suite files are documented in docs/SUITES.md. */
#ifndef BENCH_SUITE_H
#define BENCH_SUITE_H

/* `bench suite ...` entry point (argv[0] = "suite"). */
int suite_main(int argc, char **argv);

#endif
