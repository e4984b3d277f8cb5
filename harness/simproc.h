/* simproc.h - run the simulated endpoint as a child process of `bench`.
 *
 * The child is `bench serve --simulate MODEL --port 0 ...` (the same
 * executable), bound to an ephemeral loopback port. It is tied to the parent
 * with PR_SET_PDEATHSIG, so it dies with bench even when bench is killed with
 * SIGKILL: no orphaned server, no port left bound. */
#ifndef BENCH_SIMPROC_H
#define BENCH_SIMPROC_H

#include <stddef.h>
#include "status.h"

typedef struct simproc simproc;

/* Start the child. extra_args (NULL-terminated, may be NULL) are appended to
 * its command line (e.g. "--seed", "7", "--log-sends", "f"). On success *out
 * is owned by the caller (simproc_stop frees it) and simproc_url() gives the
 * base URL ("http://127.0.0.1:PORT/v1"). Fails if the child does not report
 * readiness within 10 s, with its reason when it gave one. */
bench_status simproc_start(const char *model, const char *const *extra_args, simproc **out,
                           bench_err *err);

/* Borrowed base URL, valid until simproc_stop. */
const char *simproc_url(const simproc *p);

/* SIGTERM the child, wait up to 5 s, then SIGKILL; reap it and free p. */
bench_status simproc_stop(simproc *p, bench_err *err);

#endif
