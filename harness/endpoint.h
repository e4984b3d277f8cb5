/* endpoint.h - the server a run or an evaluation talks to: a remote
 * OpenAI-compatible base URL, or the embedded simulated endpoint started as
 * a child process (simproc). */
#ifndef BENCH_ENDPOINT_H
#define BENCH_ENDPOINT_H

#include "simproc.h"
#include "status.h"

typedef struct {
    char base[512]; /* base URL without a trailing slash, e.g. http://127.0.0.1:8000/v1 */
    char kind[16];  /* "remote" or "simulated" */
    simproc *sim;   /* the child when simulated */
} endpoint;

/* Check a base URL given by the user (flag names it in messages): http(s),
 * a host, no credentials; a trailing slash is dropped. */
bench_status endpoint_check_url(const char *url, const char *flag, char *out, size_t outsz,
                                bench_err *err);

/* How to start the embedded simulator (all optional; strings borrowed). */
typedef struct {
    unsigned long long seed;
    double slowdown;         /* 0 = not passed (1) */
    const char *catalog;     /* --catalog */
    const char *data_dir;    /* --data-dir: play the model in evaluations */
    const char *sim_quality; /* --sim-quality */
    const char *faults;      /* --faults */
    const char *log_sends;   /* --log-sends */
    /* variables left out of the child's environment (NULL-terminated, may
     * be NULL): the API key variables in use; OPENAI_API_KEY always is */
    const char *const *hide_env;
} endpoint_sim;

/* Open *ep: url (checked as above) when non-NULL, else start the simulator
 * playing `model` as sim says (sim may be NULL: defaults). Close with
 * endpoint_close. */
bench_status endpoint_open(endpoint *ep, const char *url, const char *flag, const char *model,
                           const endpoint_sim *sim, bench_err *err);

/* Stop the simulator, if any. Safe on a zeroed or closed endpoint. */
void endpoint_close(endpoint *ep);

#endif
