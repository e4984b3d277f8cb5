/* stopsig.h - SIGINT and SIGTERM as the one stop flag of a run or an
 * evaluation: the first signal asks the workers to stop gracefully (finish
 * what is in flight within the grace period), a second one to stop now.
 * One run or evaluation at a time per process (a suite runs them in turn),
 * so one flag serves them all. */
#ifndef BENCH_STOPSIG_H
#define BENCH_STOPSIG_H

#include <signal.h>
#include <stdatomic.h>

/* WORKER_RUN, WORKER_STOP_GRACEFUL or WORKER_STOP_NOW (worker.h); the
 * workers read it, the code around them may raise it too. */
extern atomic_int stopsig_flag;
/* The last signal received since stopsig_install, 0 none. */
extern volatile sig_atomic_t stopsig_last;

typedef struct {
    struct sigaction old_int, old_term;
    int on;
} stopsig_saved;

/* Reset the flag to WORKER_RUN and install the handlers, keeping the ones
 * they replace in *s. */
void stopsig_install(stopsig_saved *s);

/* Put back the handlers stopsig_install replaced (nothing if it was not
 * called on s). */
void stopsig_restore(stopsig_saved *s);

#endif
