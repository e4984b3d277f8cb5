#include "run.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "clock.h"
#include "fileio.h"
#include "prompt.h"
#include "results.h"
#include "endpoint.h"
#include "pool.h"
#include "schedule.h"
#include "stopsig.h"
#include "tokenize.h"
#include "version.h"

typedef struct {
    const run_config *cfg;
    const prompt_source *prompts;
    const char *url;
    const char *api_key;
    const char *model_id;
    int64_t t0;
    int progress;
    run_summary *sum; /* first_error is set from the first failure drained */
    uint64_t reserve; /* the space guard's reserve, bytes (0: off) */
    const results_meta *meta;
    int max_inflight; /* open loop: the cap on requests in flight */
} level_ctx;

static void print_progress(const char *level, uint64_t done, uint64_t total, uint64_t tokens,
                           double elapsed_s)
{
    fprintf(stderr, "\r  %-12s %6llu/%-6llu requests  %8.0f tok/s ", level,
            (unsigned long long)done, (unsigned long long)total,
            elapsed_s > 0 ? (double)tokens / elapsed_s : 0.0);
    fflush(stderr);
}

/* Where a level's records go while it runs: the open level of the results
 * file and the level's metrics accumulator; should the results file fail, a
 * recovery file for the rest of the level (docs/RELIABILITY.md). */
typedef struct {
    results *res;
    metrics_acc *acc;
    results_level_info info;
    uint64_t chunks_written; /* rows already in the level's chunks table */
    int64_t t_start;
    run_summary *sum;
    /* The space guard: before each batch the file must be able to grow by
     * `reserve` plus twice the largest batch so far. */
    uint64_t reserve;   /* bytes; 0 = no guard */
    uint64_t max_batch; /* bytes of the largest batch, as in memory */
    int out_of_space;   /* the guard stopped the level */
    bench_err space_err;
    /* After a failed write to the results file. */
    const char *path;          /* the results file's */
    const results_meta *meta;  /* its root attributes, for the recovery file */
    uint64_t requests_in_file; /* rows of the level the results file took */
    int file_failed;
    bench_err file_err;
    results *rec; /* the recovery file, while it takes rows */
    char rec_path[1100];
    results_level_info rec_info;
    int64_t rec_t_start;
    uint64_t rec_chunks;
    int rec_failed; /* no recovery file could keep the rest */
    bench_err rec_err;
} level_sink;

static void tally(results_level_info *info, int64_t *t_start, const req_record *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        if (r->t_sched_ns >= 0 && r->t_sched_ns < *t_start)
            *t_start = r->t_sched_ns;
        if (r->t_end_ns > info->t_end_ns)
            info->t_end_ns = r->t_end_ns;
        if (r->warmup)
            info->requests_warmup++;
        else if (req_class_is_success(r->status))
            info->requests_ok++;
        else
            info->requests_failed++;
    }
}

/* Append a batch to the open level of res, rebasing each request's
 * chunk_offset onto the file's chunks table (*chunks_written rows so far).
 * On failure the offsets are put back, for another file. */
static bench_status write_batch(results *res, worker_batch *b, uint64_t *chunks_written,
                                bench_err *err)
{
    uint64_t base = *chunks_written;
    for (size_t i = 0; i < b->nrows; i++)
        b->rows[i].chunk_offset += base;
    bench_status st = results_append_requests(res, b->rows, b->nrows, err);
    if (!st)
        st = results_append_chunks(res, b->chunks, b->nchunks, err);
    for (size_t i = 0; !st && i < b->nerrors; i++)
        st = results_append_error(res, b->errors[i].id, b->errors[i].message, err);
    if (st) {
        for (size_t i = 0; i < b->nrows; i++)
            b->rows[i].chunk_offset -= base;
        return st;
    }
    *chunks_written += b->nchunks;
    return BENCH_OK;
}

/* The recovery file: <output minus .h5>.recovery.h5 beside the output
 * (which == 0), else the same name in $TMPDIR or /tmp (which == 1). */
static void recovery_path(const char *out, int which, char *buf, size_t n)
{
    int len = (int)strlen(out);
    if (len > 3 && strcmp(out + len - 3, ".h5") == 0)
        len -= 3;
    if (which == 0) {
        snprintf(buf, n, "%.*s.recovery.h5", len, out);
        return;
    }
    const char *slash = strrchr(out, '/');
    int skip = slash ? (int)(slash + 1 - out) : 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, n, "%s/%.*s.recovery.h5", tmp && *tmp ? tmp : "/tmp", len - skip, out + skip);
}

/* The results file failed on batch b: open a recovery file for the rest of
 * the level, b first, beside the results file or else in $TMPDIR. */
static void open_recovery(level_sink *k, level_key level, worker_batch *b)
{
    char first[sizeof k->rec_path];
    for (int which = 0; which < 2; which++) {
        results *rec = NULL;
        bench_err e;
        recovery_path(k->path, which, k->rec_path, sizeof k->rec_path);
        if (which == 0)
            snprintf(first, sizeof first, "%s", k->rec_path);
        else if (strcmp(first, k->rec_path) == 0)
            break;
        if (results_create(k->rec_path, k->meta, &rec, &e) == BENCH_OK &&
            results_set_root_attr(rec, "run_status", "recovery", &e) == BENCH_OK &&
            results_set_root_attr(rec, "recovery_of", k->path, &e) == BENCH_OK &&
            results_level_begin_key(rec, level, &e) == BENCH_OK &&
            write_batch(rec, b, &k->rec_chunks, &e) == BENCH_OK) {
            k->rec = rec;
            tally(&k->rec_info, &k->rec_t_start, b->rows, b->nrows);
            return;
        }
        k->rec_err = e;
        if (rec) {
            results_close(rec, NULL);
            unlink(k->rec_path);
        }
    }
    k->rec_failed = 1;
}

/* Bytes of a batch as held in memory: an upper bound of what it adds to the
 * file, which compresses it. */
static uint64_t batch_bytes(const worker_batch *b)
{
    return (uint64_t)b->nrows * sizeof(req_record) + (uint64_t)b->nchunks * sizeof(chunk_record) +
           (uint64_t)b->nerrors * RESULTS_ERROR_LEN;
}

/* Hand one drained batch to the metrics and the file (rows in completion
 * order). Never fails for want of space or a failed write: those stop the
 * level (stopsig_flag) and are reported when it ends. */
static bench_status sink_batch(level_sink *k, worker_batch *b, bench_err *err)
{
    bench_status st = metrics_acc_add(k->acc, b->rows, b->nrows, b->chunks, b->nchunks, err);
    if (st)
        return st;
    tally(&k->info, &k->t_start, b->rows, b->nrows);
    for (size_t i = 0; i < b->nerrors; i++) {
        /* The first failure's message, for the line that says every
         * request failed (e.g. a certificate the client does not trust). */
        if (k->sum && !k->sum->first_error[0] && strncmp(b->errors[i].message, "warning:", 8))
            for (size_t r = 0; r < b->nrows; r++)
                if (b->rows[r].id == b->errors[i].id) {
                    snprintf(k->sum->first_error, sizeof k->sum->first_error, "%s: %s",
                             req_class_name(b->rows[r].status), b->errors[i].message);
                    break;
                }
    }
    if (!k->file_failed) {
        /* The guard stops the level while the space reserved before still
         * takes this batch, the requests cancelled and the level's end. */
        uint64_t bytes = batch_bytes(b);
        if (bytes > k->max_batch)
            k->max_batch = bytes;
        if (k->reserve && !k->out_of_space &&
            results_reserve(k->res, k->reserve + 2 * k->max_batch, &k->space_err)) {
            k->out_of_space = 1;
            atomic_store(&stopsig_flag, WORKER_STOP_NOW);
        }
        bench_err werr;
        if ((st = write_batch(k->res, b, &k->chunks_written, &werr)) == BENCH_OK) {
            k->requests_in_file += b->nrows;
            return BENCH_OK;
        }
        if (!results_failed(k->res)) {
            *err = werr;
            return st;
        }
        /* The results file failed and keeps only the levels ended before:
         * stop measuring; what is still in memory goes to a recovery file. */
        k->file_failed = 1;
        k->file_err = werr;
        atomic_store(&stopsig_flag, WORKER_STOP_NOW);
        open_recovery(k, results_level_key(&k->info), b);
        return BENCH_OK;
    }
    if (k->rec) {
        bench_err e;
        if (write_batch(k->rec, b, &k->rec_chunks, &e) == BENCH_OK) {
            tally(&k->rec_info, &k->rec_t_start, b->rows, b->nrows);
        } else {
            k->rec_err = e;
            k->rec_failed = 1;
            results_close(k->rec, NULL);
            unlink(k->rec_path);
            k->rec = NULL;
        }
    }
    return BENCH_OK;
}

/* After the results file failed in the middle of level `level`: end and
 * close the recovery file and say, in one line, where everything is. */
static bench_status finish_recovery(level_sink *k, level_key level, bench_err *err)
{
    uint64_t kept = 0;
    char name[LEVEL_NAME_MAX];
    level_format(level, name, sizeof name);
    if (k->rec) {
        bench_err e;
        k->rec_info.concurrency = level_concurrency(level);
        k->rec_info.level = level;
        snprintf(k->rec_info.arrival, sizeof k->rec_info.arrival, "%s", k->info.arrival);
        k->rec_info.max_concurrency = k->info.max_concurrency;
        k->rec_info.t_start_ns = k->rec_t_start == INT64_MAX ? 0 : k->rec_t_start;
        bench_status est = results_level_end(k->rec, &k->rec_info, &e);
        bench_status cst = results_close(k->rec, est ? NULL : &e);
        k->rec = NULL;
        if (est || cst) {
            k->rec_err = e;
            k->rec_failed = 1;
            unlink(k->rec_path);
        } else {
            kept =
                k->rec_info.requests_ok + k->rec_info.requests_failed + k->rec_info.requests_warmup;
        }
    }
    unsigned long long lost = (unsigned long long)k->requests_in_file;
    if (kept)
        return bench_fail(err, BENCH_EIO,
                          "%s; the file keeps the levels ended before; the %llu request(s) of "
                          "level %s it had not taken yet are in the recovery file %s (the %llu "
                          "it had taken are lost)",
                          k->file_err.msg, (unsigned long long)kept, name, k->rec_path, lost);
    if (k->rec_failed)
        return bench_fail(err, BENCH_EIO,
                          "%s; the file keeps the levels ended before; level %s is lost: no "
                          "recovery file could be written (%s)",
                          k->file_err.msg, name, k->rec_err.msg);
    return bench_fail(err, BENCH_EIO,
                      "%s; the file keeps the levels ended before; level %s (%llu request(s)) "
                      "is lost",
                      k->file_err.msg, name, lost);
}

static bench_status sink_cb(void *ud, worker_batch *b, bench_err *err)
{
    return sink_batch(ud, b, err);
}

/* CPU time (user + system) the whole process has used, in s. */
static double process_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The client's self-measurement over a level: the pool's (worker threads'
 * CPU, event-loop lag, peak in flight) and the process's CPU over wall_s. */
static void measure_client(const pool *p, double cpu0, double wall_s, level_client *c)
{
    pool_self ps;
    pool_self_stats(p, &ps);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(c, 0, sizeof *c);
    c->present = 1;
    c->threads = ps.threads;
    c->cores = cores > 0 ? (int)cores : 1;
    c->wall_s = wall_s;
    c->cpu_s = ps.cpu_s;
    c->cpu_busiest = ps.cpu_busiest;
    c->process_cpu_s = process_cpu_s() - cpu0;
    c->loop_lag_p50_ms = ps.loop_lag_p50_ms;
    c->loop_lag_p99_ms = ps.loop_lag_p99_ms;
    c->loop_lag_max_ms = ps.loop_lag_max_ms;
    c->peak_inflight = ps.peak_inflight;
    c->wakeups = (double)ps.loop_wakeups;
    snprintf(c->transport, sizeof c->transport, "%s", ps.native ? "native" : "libcurl");
    c->kernel_stamped =
        ps.native && ps.reads ? (double)ps.reads_kernel / (double)ps.reads : NAN;
    c->pauses = (double)ps.pauses;
    c->ring_reads = ps.native && ps.reads ? (double)ps.reads_ring / (double)ps.reads : NAN;
}

/* Run one level on a pool of workers and, while they run, show progress
 * and move what they recorded to the results file about once a second, so
 * memory does not grow with the level's length. A concurrency level keeps
 * N requests in flight; a rate level sends on the schedule of (seed, rate)
 * (schedule.h), warm-up requests being its first --warmup arrivals, with at
 * most lc->max_inflight in flight. Either way the client measures itself
 * (docs/METRICS.md "Client") and the level's attributes carry it. */
static bench_status run_level(const level_ctx *lc, level_key key, results *res, level_metrics *lm,
                              int *kept, bench_err *err)
{
    bench_status st = BENCH_OK;
    const run_config *cfg = lc->cfg;
    pool *p = NULL;
    int64_t *arrivals = NULL;
    char name[LEVEL_NAME_MAX], label[LEVEL_NAME_MAX + 2];
    uint64_t total = (uint64_t)config_requests_for_level(cfg, key) + (uint64_t)cfg->warmup;
    level_sink sink = {.res = res,
                       .t_start = INT64_MAX,
                       .sum = lc->sum,
                       .reserve = lc->reserve,
                       .path = lc->sum->results_path,
                       .meta = lc->meta,
                       .rec_t_start = INT64_MAX};
    int open_loop = key.kind == LEVEL_RATE;
    sink.info.concurrency = level_concurrency(key);
    sink.info.level = key;
    if (open_loop) {
        schedule_arrival_format(&cfg->arrival, sink.info.arrival, sizeof sink.info.arrival);
        sink.info.max_concurrency = lc->max_inflight;
    }
    level_format(key, name, sizeof name);
    snprintf(label, sizeof label, "%c=%s", name[0], name + 1);
    *kept = 0;

    if ((st = metrics_acc_create_key(key, NULL, &sink.acc, err)) ||
        (st = results_level_begin_key(res, key, err)))
        goto out;
    if (open_loop &&
        (st = schedule_build(cfg->seed, key.value, &cfg->arrival, (size_t)total, &arrivals, err)))
        goto out;
    pool_args pa = {
        .cfg = cfg,
        .prompts = lc->prompts,
        .url = lc->url,
        .api_key = lc->api_key,
        .model_id = lc->model_id,
        .concurrency = open_loop ? lc->max_inflight : level_concurrency(key),
        .n_requests = total,
        .n_warmup = (uint64_t)cfg->warmup,
        .t0 = lc->t0,
        .stop = &stopsig_flag,
        .arrival_ns = arrivals,
        .tag = name,
    };
    double cpu0 = process_cpu_s();
    int64_t t_begin = clock_now_ns();
    if ((st = pool_start(&pa, &p, err)))
        goto out;

    for (unsigned tick = 1;; tick++) {
        int all = pool_finished(p);
        if (lc->progress)
            print_progress(label, pool_done(p), total, pool_tokens(p),
                           (double)(clock_now_ns() - t_begin) / 1e9);
        if (all)
            break;
        if (tick % 10 == 0 && (st = pool_drain(p, sink_cb, &sink, err))) {
            /* Not a matter of space or of a failed write (those stop the
             * level through stopsig_flag and are reported below). */
            atomic_store(&stopsig_flag, WORKER_STOP_NOW);
            break;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    bench_status jst = pool_join(p, st ? NULL : err);
    if (!st)
        st = jst;
    measure_client(p, cpu0, (double)(clock_now_ns() - t_begin) / 1e9, &sink.info.client);
    sink.info.client.busy_poll = cfg->busy_poll;
    /* Even after a worker failure, what the others measured is kept. */
    bench_status dst = pool_drain(p, sink_cb, &sink, st ? NULL : err);
    if (!st)
        st = dst;
    if (sink.file_failed) {
        if (lc->progress)
            fputc('\n', stderr);
        st = finish_recovery(&sink, key, err);
        goto out;
    }
    if (dst == BENCH_OK) {
        sink.info.t_start_ns = sink.t_start == INT64_MAX ? 0 : sink.t_start;
        /* The metrics before the level's end: the client's warning weighs
         * the schedule lag (open loop), and the attributes carry it. */
        bench_err merr;
        bench_status mst = metrics_acc_finish(sink.acc, lm, &merr);
        level_client_judge(&sink.info.client, open_loop && !mst ? &lm->queue_ms : NULL,
                           open_loop ? lc->max_inflight : 0);
        /* The progress line tells when the level's end begins ("saving...")
         * and when it is on disk ("saved"): tests/test_kill9.py reads them to
         * know which levels a kill must leave in the file. */
        if (lc->progress)
            fputs("  saving...", stderr);
        bench_err eerr;
        bench_status est = results_level_end(res, &sink.info, &eerr);
        if (est == BENCH_OK || !results_failed(res))
            *kept = 1; /* on disk (a disagreeing count is reported, not lost) */
        if (lc->progress)
            fputs(*kept ? " saved\n" : "\n", stderr);
        if (est && results_failed(res)) {
            sink.file_err = eerr;
            st = finish_recovery(&sink, key, err);
            goto out;
        }
        if (est && !st) {
            st = est;
            *err = eerr;
        }
        if (mst && !st) {
            st = mst;
            *err = merr;
        }
        snprintf(lm->arrival, sizeof lm->arrival, "%s", sink.info.arrival);
        lm->max_concurrency = sink.info.max_concurrency;
        lm->client = sink.info.client;
        if (!st && sink.out_of_space)
            st = bench_fail(err, BENCH_EIO,
                            "%s: stopped the run in level %s after %llu of %llu requests; %s "
                            "holds everything measured",
                            sink.space_err.msg, name,
                            (unsigned long long)(sink.info.requests_ok + sink.info.requests_failed +
                                                 sink.info.requests_warmup),
                            (unsigned long long)total, sink.path);
    } else if (lc->progress) {
        fputc('\n', stderr);
    }
out:
    pool_destroy(p);
    free(arrivals);
    metrics_acc_destroy(sink.acc);
    return st;
}

/* The space the writer keeps in reserve: $BENCH_WRITE_RESERVE_MIB MiB,
 * default 8; 0 turns the guard off. */
static bench_status write_reserve(uint64_t *bytes, bench_err *err)
{
    const char *v = getenv("BENCH_WRITE_RESERVE_MIB");
    unsigned long long mib = 8;
    if (v && *v) {
        char *end;
        errno = 0;
        mib = strtoull(v, &end, 10);
        if (errno || *end || *v == '-' || mib > 1024 * 1024)
            return bench_fail(
                err, BENCH_EUSAGE,
                "BENCH_WRITE_RESERVE_MIB: '%s' is not a number of MiB in [0, 1048576]", v);
    }
    *bytes = (uint64_t)mib << 20;
    return BENCH_OK;
}

/* Warn (one line) when the results file's file system, or the file size
 * limit, leaves less than the run is likely to write: about 64 bytes per
 * request plus 6 per output token, compressed (measured: 330 bytes for a
 * 64-token request, 820 for 128). The guard stops the run cleanly if space
 * does run out; this says so up front. */
static void warn_if_short(const run_config *cfg, const char *path, uint64_t reserve)
{
    struct statvfs vs;
    if (statvfs(path, &vs) != 0)
        return;
    uint64_t avail = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < avail)
        avail = (uint64_t)rl.rlim_cur;
    if (avail < reserve)
        return; /* the refusal that follows says it */
    uint64_t est = 0;
    for (size_t i = 0; i < config_level_count(cfg); i++)
        est += ((uint64_t)config_requests_for_level(cfg, config_level(cfg, i)) +
                (uint64_t)cfg->warmup) *
               (64 + 6 * (uint64_t)cfg->output_tokens);
    if (avail < est + reserve)
        fprintf(stderr,
                "bench: warning: %s: %.1f MiB free for it, less than this run's estimated "
                "%.1f MiB plus %.1f MiB in reserve; if space runs out the run stops, keeping "
                "what was measured\n",
                path, (double)avail / 1048576.0, (double)est / 1048576.0,
                (double)reserve / 1048576.0);
}

/* Resolve c->max_concurrency (0 = the default) against the hard
 * RLIMIT_NOFILE and raise the soft limit to fit it: each request in flight
 * holds a connection. BENCH_EUSAGE when an explicit cap does not fit. */
static bench_status open_loop_cap(run_config *c, bench_err *err)
{
    struct rlimit rl;
    uint64_t hard = UINT64_MAX / 2;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
        hard = (uint64_t)rl.rlim_max;
    int cap = 0;
    bench_status st = config_max_inflight(c, hard, &cap, err);
    if (st)
        return st;
    c->max_concurrency = cap;
    rlim_t need = (rlim_t)cap + CONFIG_FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return bench_fail(err, BENCH_EUSAGE,
                              "--max-concurrency: cannot raise the file descriptor limit to %llu "
                              "for %d requests in flight: %s",
                              (unsigned long long)need, cap, strerror(errno));
    }
    return BENCH_OK;
}

static void utc_stamp(time_t t, char *iso, size_t isosz, char *compact, size_t compactsz)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, isosz, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(compact, compactsz, "%Y%m%dT%H%M%SZ", &tm);
}

bench_status run_execute(const run_config *cfg, run_summary *sum, bench_err *err)
{
    return run_execute_planned(cfg, NULL, sum, err);
}

bench_status run_execute_planned(const run_config *cfg, const run_planner *pl, run_summary *sum,
                                 bench_err *err)
{
    bench_status st = BENCH_OK;
    catalog *cat = NULL;
    endpoint ep = {0};
    prompt_source *prompts = NULL;
    tokenizer *tk = NULL;
    results *res = NULL;
    char *config_json = NULL;
    char path_buf[1024], url[1200];
    stopsig_saved sigs = {.on = 0};

    memset(sum, 0, sizeof *sum);
    /* From the start: a signal while the endpoint starts is an
     * interruption like any other (exit 130/143), not a kill. */
    stopsig_install(&sigs);
    uint64_t reserve = 0;
    if ((st = write_reserve(&reserve, err)))
        goto out;
    /* Open loop: the in-flight cap, within what the descriptor limit
     * allows; the effective cap is the one recorded. */
    run_config eff = *cfg; /* strings borrowed from cfg */
    if (cfg->n_rates && (st = open_loop_cap(&eff, err)))
        goto out;
    cfg = &eff;

    /* The model: from the catalog, or any name when an endpoint is given. */
    const char *catalog_path = cfg->catalog_path
                                   ? cfg->catalog_path
                                   : file_in_root("suites/models.json", path_buf, sizeof path_buf);
    if ((st = catalog_load(catalog_path, &cat, err))) {
        if (st == BENCH_EIO && cfg->catalog_path) /* --catalog: a bad flag, exit status 2 */
            st = BENCH_EUSAGE;
        goto out;
    }
    const catalog_model *cm = catalog_find(cat, cfg->model);
    const char *endpoint = cfg->endpoint;
    if (!endpoint) {
        const char *env = getenv("OPENAI_BASE_URL");
        if (env && *env)
            endpoint = env;
    }
    if (!cm && !endpoint) {
        char *names = catalog_names(cat);
        st = bench_fail(err, BENCH_EUSAGE,
                        "--model: '%s' is not in the catalog %s (known: %s); give --endpoint to "
                        "measure a model served elsewhere",
                        cfg->model, catalog_path, names ? names : "?");
        free(names);
        goto out;
    }
    snprintf(sum->model, sizeof sum->model, "%s", cfg->model);
    snprintf(sum->served_model, sizeof sum->served_model, "%s",
             cfg->served_model ? cfg->served_model
             : cm              ? cm->served_id
                               : cfg->model);
    snprintf(sum->api, sizeof sum->api, "%s", cfg->api == OAI_CHAT ? "chat" : "completions");
    snprintf(sum->tls_verify, sizeof sum->tls_verify, "%s", config_tls_mode(&cfg->tls));

    /* Prompts before anything starts: a bad dataset fails fast. */
    if (cfg->dataset) {
        st = prompt_source_dataset(cfg->dataset, cfg->output_tokens, &prompts, err);
        if (st == BENCH_EIO) /* a --dataset that cannot be read is a bad flag: exit status 2 */
            st = BENCH_EUSAGE;
    } else
        st = prompt_source_synthetic(cfg->seed, cfg->input_tokens, cfg->output_tokens, &prompts,
                                     err);
    if (st)
        goto out;

    /* The results file is created (and so checked writable) before the first
     * request is sent. */
    char created[32], compact[32];
    time_t now_wall = time(NULL);
    utc_stamp(now_wall, created, sizeof created, compact, sizeof compact);
    snprintf(sum->created_utc, sizeof sum->created_utc, "%s", created);
    if (cfg->output)
        snprintf(sum->results_path, sizeof sum->results_path, "%s", cfg->output);
    else
        snprintf(sum->results_path, sizeof sum->results_path, "results/%s-%s.h5", cfg->model,
                 compact);
    if (file_mkdirs_for(sum->results_path)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create its directory: %s", sum->results_path,
                        strerror(errno));
        goto out;
    }

    /* The endpoint: remote, or the embedded simulator as a child process. */
    const char *key_env = cfg->api_key_env ? cfg->api_key_env : "OPENAI_API_KEY";
    const char *hide_env[] = {key_env, NULL}; /* the simulator gets no key */
    endpoint_sim es = {
        .seed = (unsigned long long)cfg->seed,
        .slowdown = cfg->sim_slowdown,
        .catalog = cfg->catalog_path,
        .faults = cfg->sim_faults,
        .log_sends = cfg->sim_log_sends,
        .hide_env = hide_env,
    };
    if ((st = endpoint_open(&ep, endpoint, "--endpoint", cfg->model, &es, err)))
        goto out;
    snprintf(sum->endpoint, sizeof sum->endpoint, "%s", ep.base);
    snprintf(sum->endpoint_kind, sizeof sum->endpoint_kind, "%s", ep.kind);
    snprintf(url, sizeof url, "%s%s", sum->endpoint, oai_api_path(cfg->api));
    const char *api_key = getenv(key_env);

    config_json = config_to_json(cfg, sum->served_model, sum->endpoint, sum->endpoint_kind);
    if (!config_json) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    int64_t t0_mono = clock_now_ns(), t0_unix = clock_unix_ns();
    results_meta meta = {
        .harness_version = BENCH_VERSION,
        .created_utc = created,
        .model = sum->model,
        .served_model = sum->served_model,
        .endpoint = sum->endpoint,
        .endpoint_kind = sum->endpoint_kind,
        .api = sum->api,
        .config_json = config_json,
        .t0_unix_ns = t0_unix,
        .t0_monotonic_ns = t0_mono,
    };
    if ((st = results_create(sum->results_path, &meta, &res, err)))
        goto out;
    /* ...and it must have room: at least the reserve the writer keeps. */
    warn_if_short(cfg, sum->results_path, reserve);
    if (reserve && (st = results_reserve(res, reserve, err))) {
        bench_err why = *err;
        bench_fail(err, st, "%s; nothing was sent", why.msg);
        results_close(res, NULL);
        res = NULL;
        unlink(sum->results_path);
        goto out;
    }

    /* Synthetic prompts sized by the server's tokenizer when it has one. */
    tokenizer_opts tko = {.spec = cfg->tokenizer,
                          .base = sum->endpoint,
                          .api = cfg->api,
                          .model_id = sum->served_model,
                          .api_key = api_key,
                          .tls = &cfg->tls,
                          .connect_s = cfg->timeout.connect_s,
                          .stop = &stopsig_flag};
    if ((st = tokenizer_create(&tko, &tk, err)))
        goto out;
    level_ctx lc = {
        .cfg = cfg,
        .prompts = prompts,
        .url = url,
        .api_key = api_key,
        .model_id = sum->served_model,
        .t0 = t0_mono,
        .progress = cfg->progress > 0 || (cfg->progress == 0 && isatty(STDERR_FILENO)),
        .sum = sum,
        .reserve = reserve,
        .meta = &meta,
        .max_inflight = eff.max_concurrency,
    };
    const level_metrics *prev = NULL;
    for (size_t i = 0; atomic_load(&stopsig_flag) == WORKER_RUN; i++) {
        int kept = 0;
        level_key key;
        if (pl) {
            if (sum->n_levels == CONFIG_MAX_LEVELS || !pl->next(pl->ud, prev, &key))
                break;
        } else {
            if (i >= config_level_count(cfg))
                break;
            key = config_level(cfg, i);
        }
        uint64_t n_ids = (uint64_t)config_requests_for_level(cfg, key) + (uint64_t)cfg->warmup;
        st = tokenizer_prepare_level(tk, prompts, n_ids, res, err);
        if (!st)
            st = run_level(&lc, key, res, &sum->levels[sum->n_levels], &kept, err);
        if (kept)
            prev = &sum->levels[sum->n_levels++];
        if (st) {
            if (!results_failed(res)) {
                results_set_root_attr(res, "run_status", "failed", NULL);
                results_set_root_attr(res, "run_error", err->msg, NULL);
            }
            goto out;
        }
    }
    if (atomic_load(&stopsig_flag) != WORKER_RUN) {
        /* A second signal cancelled the requests in flight at once. */
        int aborted = atomic_load(&stopsig_flag) == WORKER_STOP_NOW;
        sum->interrupted = aborted ? 2 : 1;
        results_set_root_attr(res, "run_status", "interrupted", NULL);
        st = bench_fail(err, BENCH_EINTR, "%s %s after %zu level(s); %s holds what was measured",
                        aborted ? "aborted by a second" : "interrupted by",
                        stopsig_last == SIGTERM ? "SIGTERM" : "SIGINT", sum->n_levels,
                        sum->results_path);
    } else {
        results_set_root_attr(res, "run_status", "complete", NULL);
    }
out:
    if (res && pl && pl->summary && !results_failed(res)) {
        char *j = pl->summary(pl->ud);
        if (j)
            results_set_root_attr(res, pl->attr, j, NULL);
        free(j);
    }
    if (res) {
        bench_err cerr;
        bench_status cst = results_close(res, &cerr);
        if (cst && !st) {
            st = cst;
            *err = cerr;
        }
    }
    stopsig_restore(&sigs);
    endpoint_close(&ep);
    free(config_json);
    tokenizer_destroy(tk);
    prompt_source_destroy(prompts);
    catalog_destroy(cat);
    return st;
}
