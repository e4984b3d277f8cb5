/* stopsig.c - the stop flag and its signal handlers (see stopsig.h). */
#include "stopsig.h"

#include <string.h>

#include "worker.h"

atomic_int stopsig_flag;
volatile sig_atomic_t stopsig_last;

static void on_signal(int sig)
{
    stopsig_last = sig;
    int cur = atomic_load(&stopsig_flag);
    atomic_store(&stopsig_flag, cur == WORKER_RUN ? WORKER_STOP_GRACEFUL : WORKER_STOP_NOW);
}

void stopsig_install(stopsig_saved *s)
{
    struct sigaction sa;
    atomic_store(&stopsig_flag, WORKER_RUN);
    stopsig_last = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
    s->on = 1;
}

void stopsig_restore(stopsig_saved *s)
{
    if (!s->on)
        return;
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    s->on = 0;
}
