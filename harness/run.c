#include "run.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "clock.h"
#include "fileio.h"
#include "prompt.h"
#include "results.h"
#include "endpoint.h"
#include "pool.h"
#include "version.h"

/* Set by the signal handler, read by the workers (WORKER_* values). */
static atomic_int g_stop;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    int cur = atomic_load(&g_stop);
    atomic_store(&g_stop, cur == WORKER_RUN ? WORKER_STOP_GRACEFUL : WORKER_STOP_NOW);
}

static void install_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

typedef struct {
    const run_config *cfg;
    const prompt_source *prompts;
    const char *url;
    const char *api_key;
    const char *model_id;
    int64_t t0;
    int progress;
} level_ctx;

static void print_progress(int level, uint64_t done, uint64_t total, uint64_t tokens,
                           double elapsed_s)
{
    fprintf(stderr, "\r  c=%-4d %6llu/%-6llu requests  %8.0f tok/s ", level,
            (unsigned long long)done, (unsigned long long)total,
            elapsed_s > 0 ? (double)tokens / elapsed_s : 0.0);
    fflush(stderr);
}

/* Where a level's records go while it runs: the open level of the results
 * file and the level's metrics accumulator. */
typedef struct {
    results *res;
    metrics_acc *acc;
    results_level_info info;
    uint64_t chunks_written; /* rows already in the level's chunks table */
    int64_t t_start;
} level_sink;

/* Append one drained batch to the file (rows in completion order, their
 * chunk_offset rebased onto the file's table) and to the metrics. */
static bench_status sink_batch(level_sink *k, worker_batch *b, bench_err *err)
{
    bench_status st = metrics_acc_add(k->acc, b->rows, b->nrows, b->chunks, b->nchunks, err);
    if (st)
        return st;
    for (size_t i = 0; i < b->nrows; i++) {
        req_record *r = &b->rows[i];
        r->chunk_offset += k->chunks_written;
        if (r->t_sched_ns >= 0 && r->t_sched_ns < k->t_start)
            k->t_start = r->t_sched_ns;
        if (r->t_end_ns > k->info.t_end_ns)
            k->info.t_end_ns = r->t_end_ns;
        if (r->warmup)
            k->info.requests_warmup++;
        else if (req_class_is_success(r->status))
            k->info.requests_ok++;
        else
            k->info.requests_failed++;
    }
    if ((st = results_append_requests(k->res, b->rows, b->nrows, err)) ||
        (st = results_append_chunks(k->res, b->chunks, b->nchunks, err)))
        return st;
    k->chunks_written += b->nchunks;
    for (size_t i = 0; i < b->nerrors; i++)
        if ((st = results_append_error(k->res, b->errors[i].id, b->errors[i].message, err)))
            return st;
    return BENCH_OK;
}

static bench_status sink_cb(void *ud, worker_batch *b, bench_err *err)
{
    return sink_batch(ud, b, err);
}

/* Run one concurrency level on a pool of workers and, while they run, show
 * progress and move what they recorded to the results file about once a
 * second, so memory does not grow with the level's length. */
static bench_status run_level(const level_ctx *lc, int level, results *res, level_metrics *lm,
                              bench_err *err)
{
    bench_status st = BENCH_OK;
    const run_config *cfg = lc->cfg;
    pool *p = NULL;
    uint64_t total = (uint64_t)config_requests_for(cfg, level) + (uint64_t)cfg->warmup;
    level_sink sink = {.res = res, .t_start = INT64_MAX};
    sink.info.concurrency = level;

    if ((st = metrics_acc_create(level, NULL, &sink.acc, err)) ||
        (st = results_level_begin(res, level, err)))
        goto out;
    pool_args pa = {
        .cfg = cfg,
        .prompts = lc->prompts,
        .url = lc->url,
        .api_key = lc->api_key,
        .model_id = lc->model_id,
        .concurrency = level,
        .n_requests = total,
        .n_warmup = (uint64_t)cfg->warmup,
        .t0 = lc->t0,
        .stop = &g_stop,
    };
    if ((st = pool_start(&pa, &p, err)))
        goto out;

    int64_t t_begin = clock_now_ns();
    for (unsigned tick = 1;; tick++) {
        int all = pool_finished(p);
        if (lc->progress)
            print_progress(level, pool_done(p), total, pool_tokens(p),
                           (double)(clock_now_ns() - t_begin) / 1e9);
        if (all)
            break;
        if (tick % 10 == 0 && (st = pool_drain(p, sink_cb, &sink, err))) {
            /* The file cannot take more: stop measuring what cannot be kept. */
            atomic_store(&g_stop, WORKER_STOP_NOW);
            break;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (lc->progress)
        fputc('\n', stderr);
    bench_status jst = pool_join(p, st ? NULL : err);
    if (!st)
        st = jst;
    /* Even after a worker failure, what the others measured is kept. */
    bench_status dst = pool_drain(p, sink_cb, &sink, st ? NULL : err);
    if (!st)
        st = dst;
    if (dst == BENCH_OK) {
        sink.info.t_start_ns = sink.t_start == INT64_MAX ? 0 : sink.t_start;
        bench_status est = results_level_end(res, &sink.info, st ? NULL : err);
        if (!st)
            st = est;
        bench_status mst = metrics_acc_finish(sink.acc, lm, st ? NULL : err);
        if (!st)
            st = mst;
    }
out:
    pool_destroy(p);
    metrics_acc_destroy(sink.acc);
    return st;
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
    bench_status st = BENCH_OK;
    catalog *cat = NULL;
    endpoint ep = {0};
    prompt_source *prompts = NULL;
    results *res = NULL;
    char *config_json = NULL;
    char path_buf[1024], url[1200];
    struct sigaction old_int, old_term;
    int signals_installed = 0;

    memset(sum, 0, sizeof *sum);
    atomic_store(&g_stop, WORKER_RUN);
    g_signal = 0;

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
    endpoint_sim es = {
        .seed = (unsigned long long)cfg->seed,
        .slowdown = cfg->sim_slowdown,
        .catalog = cfg->catalog_path,
        .faults = cfg->sim_faults,
        .log_sends = cfg->sim_log_sends,
    };
    if ((st = endpoint_open(&ep, endpoint, "--endpoint", cfg->model, &es, err)))
        goto out;
    snprintf(sum->endpoint, sizeof sum->endpoint, "%s", ep.base);
    snprintf(sum->endpoint_kind, sizeof sum->endpoint_kind, "%s", ep.kind);
    snprintf(url, sizeof url, "%s%s", sum->endpoint, oai_api_path(cfg->api));
    const char *key_env = cfg->api_key_env ? cfg->api_key_env : "OPENAI_API_KEY";
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

    install_signals(&old_int, &old_term);
    signals_installed = 1;
    level_ctx lc = {
        .cfg = cfg,
        .prompts = prompts,
        .url = url,
        .api_key = api_key,
        .model_id = sum->served_model,
        .t0 = t0_mono,
        .progress = cfg->progress > 0 || (cfg->progress == 0 && isatty(STDERR_FILENO)),
    };
    for (size_t i = 0; i < cfg->n_levels; i++) {
        st = run_level(&lc, cfg->levels[i], res, &sum->levels[sum->n_levels], err);
        if (st)
            goto out;
        sum->n_levels++;
        if (atomic_load(&g_stop) != WORKER_RUN)
            break;
    }
    if (atomic_load(&g_stop) != WORKER_RUN) {
        sum->interrupted = 1;
        results_set_root_attr(res, "run_status", "interrupted", NULL);
        st = bench_fail(
            err, BENCH_EINTR, "interrupted by %s after %zu level(s); %s holds what was measured",
            g_signal == SIGTERM ? "SIGTERM" : "SIGINT", sum->n_levels, sum->results_path);
    } else {
        results_set_root_attr(res, "run_status", "complete", NULL);
    }
out:
    if (res) {
        bench_err cerr;
        bench_status cst = results_close(res, &cerr);
        if (cst && !st) {
            st = cst;
            *err = cerr;
        }
    }
    if (signals_installed) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    endpoint_close(&ep);
    free(config_json);
    prompt_source_destroy(prompts);
    catalog_destroy(cat);
    return st;
}
