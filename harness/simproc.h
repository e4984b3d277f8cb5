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

/* Name the executable to run as the child (a copy is kept; NULL restores
 * the default, "/proc/self/exe", i.e. this very program). Tests set the
 * built bench here, since their own executable is not bench. Not
 * thread-safe: call it before simproc_start, from one thread. */
void simproc_set_exe(const char *path);

/* Start the child. extra_args (NULL-terminated, may be NULL) are appended
 * to its command line (e.g. "--seed", "7", "--log-sends", "f", or
 * "--data-dir", DIR to have it play the model in evaluations). On success
 * *out is owned by the caller (simproc_stop frees it) and simproc_url()
 * gives the base URL ("http://127.0.0.1:PORT/v1"). Fails if the child does
 * not report readiness within 10 s; when it exits early its own message is
 * on stderr (inherited from bench) and err gives its exit status (the
 * status is BENCH_EINPUT when it exited with 2: it refused its arguments or
 * input, BENCH_ESYS otherwise).
 *
 * Call it from a thread that lives as long as the child should (normally
 * the main thread): the kernel's parent-death signal fires when the forking
 * *thread* exits. The child gets its own process group, so a terminal's
 * Ctrl-C reaches only bench, which stops the child with simproc_stop after
 * its own graceful shutdown; the child's stdin is /dev/null. */
bench_status simproc_start(const char *model, const char *const *extra_args, simproc **out,
                           bench_err *err);

/* simproc_start, with the variables named in hide_env (NULL-terminated,
 * may be NULL) left out of the child's environment. OPENAI_API_KEY is
 * always left out: the simulator checks no key, so it is never given one
 * (neither on its command line nor in its environment). */
bench_status simproc_start_env(const char *model, const char *const *extra_args,
                               const char *const *hide_env, simproc **out, bench_err *err);

/* Borrowed base URL, valid until simproc_stop. */
const char *simproc_url(const simproc *p);

/* SIGTERM the child, wait up to 5 s, then SIGKILL; reap it and free p
 * (p may be NULL). Fails (BENCH_ESYS) when the child had to be killed or
 * did not exit with status 0, e.g. because its send log could not be
 * written; p is freed either way. */
bench_status simproc_stop(simproc *p, bench_err *err);

#endif
