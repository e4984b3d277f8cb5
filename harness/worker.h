/* worker.h - one load-generator thread.
 *
 * A worker drives up to `slots` requests at a time from its own epoll set,
 * over one of two transports: the native one (plain http://: its own
 * HTTP/1.1 connections, tsock.h and h1.h, every read stamped by the
 * kernel) or libcurl's multi handle through its socket interface
 * (curl_multi_socket_action; https, proxies). Either way each slot keeps
 * its HTTP/1.1 connection alive across its requests (created on first
 * use) and has an SSE parser; the worker has its own record tables:
 * nothing is shared with other workers in the hot path but the level's
 * request counter, from which every worker takes the id of its next request,
 * and the in-flight gauge. Closed loop: each slot sends its next request the
 * moment its previous one ends, until the level's requests are all taken,
 * so exactly `level` requests are in flight across the workers. Open loop
 * (arrival_ns): request id is sent when it falls due, by whichever worker
 * has a free slot, and records its due time as t_sched_ns.
 * Timestamps are CLOCK_MONOTONIC, taken as bytes arrive, before parsing.
 * The worker also measures itself (thread CPU, event-loop lag: worker_self).
 * The run drains the workers' tables (worker_drain) while they run. */
#ifndef BENCH_WORKER_H
#define BENCH_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dynbuf.h"
#include "oai.h"
#include "prompt.h"
#include "record.h"
#include "stats.h"
#include "status.h"

/* Stop levels for worker_args.stop. */
enum { WORKER_RUN = 0, WORKER_STOP_GRACEFUL = 1, WORKER_STOP_NOW = 2 };

/* Requests other than the load generator's own (evaluations, judges): the
 * caller builds each body and receives each response. Both callbacks run on
 * the worker's thread; every id goes to exactly one call of each, so a
 * caller that writes only to per-id state needs no lock. */
typedef struct {
    /* Append request id's JSON body to body (the worker's buffer) and set
     * *max_tokens (recorded only: a shorter answer is not an early stop). A
     * failure ends the worker (fatal). */
    bench_status (*build)(void *ud, uint64_t id, dynbuf *body, int *max_tokens, bench_err *err);
    /* Request id ended. text/len: its content text (borrowed for the call,
     * NUL-terminated; cut at the worker's 4 MiB cap, which fails the
     * request); top: the first position's top logprobs (NULL when the server
     * sent none); error: why it failed, or NULL when r->status is a success
     * class; retry_after_s: the response's Retry-After header in seconds
     * (delta-seconds, or an HTTP-date less now; 0 to 86400), -1 when it had
     * none. */
    void (*done)(void *ud, const req_record *r, const char *text, size_t len, const oai_top *top,
                 const char *error, double retry_after_s);
    void *ud;
} worker_hooks;

typedef struct {
    uint32_t index;               /* worker number (recorded per row) */
    const run_config *cfg;        /* borrowed: timeouts, api, ignore_eos, ... */
    const prompt_source *prompts; /* borrowed, read-only; unused with hooks */
    const worker_hooks *hooks;    /* borrowed; NULL for load-test requests */
    const char *url;              /* full request URL (base + API path) */
    const char *api_key;          /* bearer token or NULL; never recorded */
    const char *model_id;         /* "model" sent in requests */
    int level;                    /* concurrency level, for X-Request-Id */
    int slots;                    /* requests this worker keeps in flight */
    _Atomic uint64_t *next_id;    /* the level's request counter, shared by its workers */
    uint64_t n_requests;          /* the level's requests, warm-up included */
    uint64_t n_warmup;            /* ids below n_warmup are warm-up */
    int64_t t0;                   /* run zero, CLOCK_MONOTONIC ns */
    double grace_s;               /* after a graceful stop, in-flight requests get this long */
    const atomic_int *stop;       /* WORKER_* level set by the signal handler */
    /* Open loop: request id falls due at t_level + arrival_ns[id] (ascending
     * offsets, n_requests of them, borrowed); NULL for the closed loop. */
    const int64_t *arrival_ns;
    int64_t t_level;
    const char *tag;       /* X-Request-Id prefix; NULL = "c<level>" */
    _Atomic int *inflight; /* shared gauge of requests in flight, or NULL */
    _Atomic int *peak;     /* its high-water mark, or NULL */
} worker_args;

/* What a worker measured of itself, from its start to its end. */
typedef struct {
    double wall_s;
    double cpu_s;          /* this thread's user + system CPU (RUSAGE_THREAD) */
    uint64_t wakeups;      /* event-loop iterations */
    stats_hist lag;        /* event-loop lag samples, ns (docs/METRICS.md "Client") */
    int native;            /* the native transport carried the requests (else libcurl) */
    uint64_t reads;        /* native: reads of response bytes */
    uint64_t reads_kernel; /* native: those stamped by the kernel */
    uint64_t pauses;       /* native: read-coalescing pauses taken */
    uint64_t reads_ring;   /* native: reads made through io_uring (rxring.h) */
} worker_self;

typedef struct {
    uint64_t id;
    char message[256];
} worker_error;

typedef struct worker worker;

/* Whether requests to url go through the native transport (the built-in
 * HTTP/1.1 client, reads stamped by the kernel: docs/METRICS.md
 * "Timestamps") rather than libcurl, in *native: --transport native, or
 * auto (the default) for a plain http:// URL with no proxy variable set.
 * With --transport auto, $BENCH_TRANSPORT (auto, native or libcurl)
 * chooses instead when set. BENCH_EUSAGE for a bad $BENCH_TRANSPORT, or
 * native asked for a URL that is not plain http, or for a bad
 * $BENCH_IO_URING (worker_ring_mode), whose choice goes to *ring_mode
 * (may be NULL). */
bench_status worker_transport(const run_config *cfg, const char *url, int *native, int *ring_mode,
                              bench_err *err);

/* How the native transport reads (rxring.h), from $BENCH_IO_URING: auto
 * (unset or empty too: io_uring where the kernel allows it, else a
 * recvmsg per readiness), on (io_uring or the run fails), off (recvmsg). */
enum { WORKER_RING_AUTO = 0, WORKER_RING_ON, WORKER_RING_OFF };
bench_status worker_ring_mode(int *mode, bench_err *err);

/* Allocate a worker (curl handles, buffers). a is copied; the pointers in it
 * are borrowed and must outlive the worker. Free with worker_destroy. */
bench_status worker_create(const worker_args *a, worker **out, bench_err *err);

/* Start the thread. */
bench_status worker_start(worker *w, bench_err *err);

/* Wait for the thread. Returns the worker's fatal status, if it had one
 * (individual request failures are recorded, not fatal). */
bench_status worker_join(worker *w, bench_err *err);

/* Progress, safe to read from another thread while the worker runs. */
uint64_t worker_progress_done(const worker *w);
uint64_t worker_progress_tokens(const worker *w);
/* 1 once the thread has finished its share (or failed). */
int worker_finished(const worker *w);

/* The worker's self-measurement; complete once worker_join returned. */
const worker_self *worker_self_stats(const worker *w);

/* What a worker recorded since the last drain. */
typedef struct {
    req_record *rows; /* in completion order */
    size_t nrows;
    chunk_record *chunks; /* each row's chunks contiguous; chunk_offset indexes this array */
    size_t nchunks;
    worker_error *errors;
    size_t nerrors;
} worker_batch;

/* Move everything recorded so far into *b, leaving the worker's tables
 * empty. Safe while the worker runs (a lock taken once per completed
 * request on the worker's side, once per drain here). The arrays become the
 * caller's: release them with worker_batch_free. */
void worker_drain(worker *w, worker_batch *b);
void worker_batch_free(worker_batch *b);

void worker_destroy(worker *w);

#endif
