/* eval.c - `bench eval`: configuration, endpoints, the batch engine with
 * retries, and the evaluation file. The tasks are eval_mmlu.c,
 * eval_humaneval.c and eval_mtbench.c. */
#include "eval.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "datasets.h"
#include "dynbuf.h"
#include "eval_impl.h"
#include "fileio.h"
#include "humaneval.h"
#include "mmlu.h"
#include "pool.h"
#include "sim.h"
#include "stopsig.h"
#include "version.h"

/* Largest request body an evaluation builds (MT-Bench judge prompts with two
 * turns and references are the longest, a few tens of KiB). */
#define EVAL_BODY_MAX (8u << 20)
/* Longest wait a server's Retry-After can impose before a retry. */
#define EVAL_RETRY_AFTER_MAX_S 300.0


void eval_config_defaults(eval_config *c)
{
    memset(c, 0, sizeof *c);
    c->api = -1;
    c->concurrency = 8;
    c->seed = 1;
    c->timeout = (config_timeouts){10, 300, 120, 1800};
    c->retries = 3;
    c->shots = 5;
    c->samples = 1;
    c->temperature = -1;
    c->exec_timeout_s = 3.0;
}

void eval_config_free(eval_config *c)
{
    char **s[] = {
        &c->eval,           &c->model,       &c->served_model,      &c->endpoint,   &c->api_key_env,
        &c->output,         &c->data_dir,    &c->catalog_path,      &c->method,     &c->split,
        &c->judge_endpoint, &c->judge_model, &c->judge_api_key_env, &c->sim_quality};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
    free(c->sim_faults);
    c->sim_faults = NULL;
    config_tls_free(&c->tls);
    config_tls_free(&c->judge_tls);
}

/* --- the batch engine ------------------------------------------------------ */

typedef struct {
    eval_ctx *ctx;
    const eval_task *t;
    const size_t *todo; /* pool id -> caller's index */
    int model_served;
    const char *model_id;
    int *failed;         /* per caller index: 1 = retry it */
    double *retry_after; /* per caller index: the failure's Retry-After (s), -1 none */
    int *attempts;       /* per caller index, or NULL */
} batch_state;

static bench_status batch_build(void *ud, uint64_t id, dynbuf *body, int *max_tokens,
                                bench_err *err)
{
    batch_state *b = ud;
    size_t idx = b->todo[id];
    bench_status st = BENCH_OK;
    char *json = NULL;
    cJSON *req = cJSON_CreateObject();
    cJSON *so = cJSON_CreateObject();
    if (!req || !so || !cJSON_AddStringToObject(req, "model", b->model_id) ||
        !cJSON_AddTrueToObject(req, "stream") || !cJSON_AddTrueToObject(so, "include_usage") ||
        !cJSON_AddItemToObject(req, "stream_options", so)) {
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(req, "stream_options")))
            cJSON_Delete(so);
        st = bench_fail(err, BENCH_ENOMEM, "out of memory building a request");
        goto out;
    }
    *max_tokens = 0;
    if ((st = b->t->build(b->t->ud, idx, req, max_tokens, err)))
        goto out;
    if (*max_tokens > 0 && !cJSON_GetObjectItemCaseSensitive(req, "max_tokens"))
        cJSON_AddNumberToObject(req, "max_tokens", *max_tokens);
    json = cJSON_PrintUnformatted(req);
    if (!json) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory building a request");
        goto out;
    }
    if ((st = dynbuf_adds(body, json)))
        st = bench_fail(err, st, "request body larger than %zu bytes", body->max);
    if (b->attempts)
        b->attempts[idx]++;
out:
    free(json);
    cJSON_Delete(req);
    return st;
}

static void batch_done(void *ud, const req_record *r, const char *text, size_t len,
                       const oai_top *top, const char *error, double retry_after_s)
{
    batch_state *b = ud;
    size_t idx = b->todo[r->id];
    int retry = 0;
    if (error) {
        int h = r->http_status;
        retry = !(h >= 400 && h < 500 && h != 408 && h != 429) && r->status != REQ_CANCELLED;
    }
    b->failed[idx] = retry;
    b->retry_after[idx] = retry ? retry_after_s : -1;
    b->t->done(b->t->ud, idx, r, text, len, top, error);
}

bench_status eval_batch(eval_ctx *ctx, int judge, const char *label, const size_t *idx, size_t n,
                        const eval_task *t, int *attempts, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t maxidx = 0;
    for (size_t i = 0; i < n; i++)
        if (idx[i] > maxidx)
            maxidx = idx[i];
    int *failed = calloc(maxidx + 1, sizeof *failed);
    double *retry_after = calloc(maxidx + 1, sizeof *retry_after);
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    if (!failed || !retry_after || !todo) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(todo, idx, n * sizeof *todo);
    size_t ntodo = n;
    const endpoint *ep = judge && !ctx->judge_shares_ep ? &ctx->judge_ep : &ctx->ep;
    oai_api api = judge ? OAI_CHAT : ctx->api;
    char url[1200];
    snprintf(url, sizeof url, "%s%s", ep->base, oai_api_path(api));
    run_config rc = ctx->rc;
    rc.api = api;
    if (judge && !ctx->judge_shares_ep)
        rc.tls = ctx->cfg->judge_tls; /* borrowed, like ctx->rc's */
    for (int attempt = 0; ntodo > 0; attempt++) {
        batch_state b = {
            .ctx = ctx,
            .t = t,
            .todo = todo,
            .model_id = judge ? ctx->judge_served : ctx->served,
            .failed = failed,
            .retry_after = retry_after,
            .attempts = attempts,
        };
        worker_hooks hooks = {batch_build, batch_done, &b};
        pool_args pa = {
            .cfg = &rc,
            .hooks = &hooks,
            .url = url,
            .api_key = judge ? ctx->judge_api_key : ctx->api_key,
            .model_id = b.model_id,
            .concurrency = ctx->cfg->concurrency,
            .n_requests = ntodo,
            .t0 = ctx->t0,
            .stop = ctx->stop,
        };
        char lab[96];
        snprintf(lab, sizeof lab, "%s%s", label, attempt ? " (retry)" : "");
        if ((st = pool_run(&pa, ctx->progress ? lab : NULL, err)))
            goto out;
        if (atomic_load(ctx->stop) != WORKER_RUN)
            break;
        size_t k = 0;
        double ra = -1; /* the longest Retry-After among the failed */
        for (size_t i = 0; i < ntodo; i++)
            if (failed[todo[i]]) {
                if (retry_after[todo[i]] > ra)
                    ra = retry_after[todo[i]];
                todo[k++] = todo[i];
            }
        ntodo = k;
        if (ntodo == 0 || attempt >= ctx->cfg->retries)
            break;
        /* Backoff 1, 2, 4 s, or longer when a server said so (capped). */
        double wait_s = 1 << attempt;
        if (ra > wait_s)
            wait_s = ra < EVAL_RETRY_AFTER_MAX_S ? ra : EVAL_RETRY_AFTER_MAX_S;
        fprintf(stderr, "bench eval: %zu %s request(s) failed; retrying in %g s%s\n", ntodo,
                judge ? "judge" : "model", wait_s, wait_s > (1 << attempt) ? " (Retry-After)" : "");
        for (int w = 0; w < (int)ceil(wait_s * 10) && atomic_load(ctx->stop) == WORKER_RUN; w++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
out:
    free(failed);
    free(retry_after);
    free(todo);
    return st;
}

bench_status eval_req_prompt(cJSON *req, oai_api api, const char *text, bench_err *err)
{
    if (api == OAI_COMPLETIONS) {
        if (!cJSON_AddStringToObject(req, "prompt", text))
            return bench_fail(err, BENCH_ENOMEM, "out of memory");
        return BENCH_OK;
    }
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    cJSON *m = cJSON_CreateObject();
    if (!msgs || !m || !cJSON_AddStringToObject(m, "role", "user") ||
        !cJSON_AddStringToObject(m, "content", text)) {
        cJSON_Delete(m);
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    }
    cJSON_AddItemToArray(msgs, m);
    return BENCH_OK;
}

void eval_item_latency(evalres_item *it, const req_record *r)
{
    it->status = r->status;
    it->prompt_tokens = r->prompt_tokens;
    it->output_tokens = r->output_tokens;
    it->ttft_ms = r->t_first_token_ns >= 0 && r->t_send_ns >= 0
                      ? (double)(r->t_first_token_ns - r->t_send_ns) / 1e6
                      : NAN;
    it->e2e_ms = r->t_last_token_ns >= 0 && r->t_send_ns >= 0
                     ? (double)(r->t_last_token_ns - r->t_send_ns) / 1e6
                     : NAN;
}

/* --- running an evaluation ------------------------------------------------- */

static void utc_now(char *iso, size_t isosz, char *compact, size_t compactsz)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, isosz, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(compact, compactsz, "%Y%m%dT%H%M%SZ", &tm);
}

static char *config_json(const eval_config *c, const eval_ctx *ctx)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "eval", c->eval);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "served_model", ctx->served);
    cJSON_AddStringToObject(o, "endpoint", ctx->ep.base);
    cJSON_AddStringToObject(o, "endpoint_kind", ctx->ep.kind);
    cJSON_AddStringToObject(o, "api", ctx->api == OAI_CHAT ? "chat" : "completions");
    cJSON_AddStringToObject(o, "api_key_env", c->api_key_env ? c->api_key_env : "OPENAI_API_KEY");
    cJSON_AddNumberToObject(o, "concurrency", c->concurrency);
    cJSON_AddNumberToObject(o, "limit", (double)c->limit);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "retries", c->retries);
    cJSON_AddStringToObject(o, "data_dir", ctx->data_dir);
    cJSON_AddStringToObject(o, "method", ctx->method);
    if (strcmp(c->eval, "mmlu") == 0) {
        cJSON_AddStringToObject(o, "split", c->split ? c->split : "test");
        cJSON_AddNumberToObject(o, "shots", c->shots);
    } else if (strcmp(c->eval, "humaneval") == 0) {
        cJSON_AddNumberToObject(o, "samples", c->samples);
        cJSON_AddNumberToObject(o, "exec_timeout_s", c->exec_timeout_s);
    } else {
        cJSON_AddStringToObject(o, "judge_model", ctx->judge_served);
        cJSON_AddStringToObject(o, "judge_endpoint",
                                ctx->judge_shares_ep ? ctx->ep.base : ctx->judge_ep.base);
    }
    config_tls_json(o, "tls", &c->tls);
    if (strcmp(c->eval, "mtbench") == 0 && !ctx->judge_shares_ep)
        config_tls_json(o, "judge_tls", &c->judge_tls);
    if (c->sim_quality)
        cJSON_AddStringToObject(o, "sim_quality", c->sim_quality);
    if (c->sim_faults)
        cJSON_AddStringToObject(o, "sim_faults", c->sim_faults);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The files the embedded simulator plays from (MMLU test and val, HumanEval:
 * simeval_open), read here first so that a damaged one is refused in one
 * line naming it, before the child starts (whose own refusal would come
 * as its line plus ours). About 0.1 s. */
static bench_status check_sim_data(const char *data_dir, bench_err *err)
{
    static const char *const splits[2] = {"test", "val"};
    bench_status st = BENCH_OK;
    for (int i = 0; i < 2 && !st; i++) {
        mmlu_set *set = NULL;
        st = mmlu_load(data_dir, splits[i], &set, err);
        mmlu_free(set);
    }
    humaneval_problem *p = NULL;
    size_t n = 0;
    if (!st && !(st = humaneval_load(data_dir, &p, &n, err)))
        humaneval_free(p, n);
    /* a bad file in the user's data directory: exit status 2 */
    return st == BENCH_EIO || st == BENCH_EUSAGE ? BENCH_EINPUT : st;
}

static const char *key_from_env(const char *var, const char *dflt)
{
    const char *v = getenv(var ? var : dflt);
    return v && *v ? v : NULL;
}

bench_status eval_execute(const eval_config *c, eval_outcome *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    catalog *cat = NULL;
    char *cfg_json = NULL, *summary = NULL, *dd = NULL;
    char path_buf[1024];
    stopsig_saved sigs = {.on = 0};
    eval_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(out, 0, sizeof *out);
    ctx.cfg = c;
    atomic_store(&stopsig_flag, WORKER_RUN); /* the handlers come later: stopsig_install */
    stopsig_last = 0;
    ctx.stop = &stopsig_flag;

    int is_mmlu = strcmp(c->eval, "mmlu") == 0, is_he = strcmp(c->eval, "humaneval") == 0;
    int is_mt = strcmp(c->eval, "mtbench") == 0;
    if (!is_mmlu && !is_he && !is_mt)
        return bench_fail(err, BENCH_EUSAGE,
                          "unknown evaluation '%s' (want mmlu, "
                          "humaneval or mtbench)",
                          c->eval);
    if (!c->model)
        return bench_fail(err, BENCH_EUSAGE, "%s: --model is required", c->eval);
    const char *catalog_path = c->catalog_path
                                   ? c->catalog_path
                                   : file_in_root("suites/models.json", path_buf, sizeof path_buf);
    if ((st = catalog_load(catalog_path, &cat, err))) {
        if (st == BENCH_EIO && c->catalog_path) /* --catalog: a bad flag, exit status 2 */
            st = BENCH_EUSAGE;
        goto out;
    }
    ctx.cm = catalog_find(cat, c->model);
    const char *endpoint_url = c->endpoint;
    if (!endpoint_url) {
        const char *env = getenv("OPENAI_BASE_URL");
        if (env && *env)
            endpoint_url = env;
    }
    if (!ctx.cm && !endpoint_url) {
        char *names = catalog_names(cat);
        st = bench_fail(err, BENCH_EUSAGE,
                        "--model: '%s' is not in the catalog %s (known: %s); give --endpoint to "
                        "evaluate a model served elsewhere",
                        c->model, catalog_path, names ? names : "?");
        free(names);
        goto out;
    }
    if (is_mt && endpoint_url && !c->judge_endpoint) {
        st = bench_fail(err, BENCH_EUSAGE,
                        "mtbench: --judge-endpoint is required with --endpoint (the "
                        "embedded simulator judges only simulated answers)");
        goto out;
    }
    if (c->judge_endpoint && !c->judge_model) {
        st = bench_fail(err, BENCH_EUSAGE, "--judge-endpoint needs --judge-model (e.g. gpt-4)");
        goto out;
    }
    snprintf(ctx.served, sizeof ctx.served, "%s",
             c->served_model ? c->served_model
             : ctx.cm        ? ctx.cm->served_id
                             : c->model);
    /* Each evaluation's natural API: completions where the reference
     * harnesses score base-model style (MMLU logprobs, HumanEval), chat for
     * MT-Bench. */
    ctx.api = c->api >= 0 ? (oai_api)c->api : is_mt ? OAI_CHAT : OAI_COMPLETIONS;
    if (is_mt && ctx.api != OAI_CHAT) {
        st = bench_fail(err, BENCH_EUSAGE, "mtbench: --api must be chat");
        goto out;
    }
    if ((st = datasets_dir(c->data_dir, &dd, err)))
        goto out;
    snprintf(ctx.data_dir, sizeof ctx.data_dir, "%s", dd);
    {
        /* The datasets must be there before any server starts: the
         * evaluation's own, and those the embedded simulator plays from
         * (MMLU and HumanEval, whatever the evaluation). */
        const char *need[3] = {is_mmlu ? "mmlu" : is_he ? "humaneval" : "mt_bench", NULL, NULL};
        if (!endpoint_url) {
            need[1] = "mmlu";
            need[2] = "humaneval";
        }
        for (int i = 0; i < 3; i++) {
            char sub[1200];
            struct stat sb;
            if (!need[i])
                continue;
            snprintf(sub, sizeof sub, "%s/%s", ctx.data_dir, need[i]);
            if (stat(sub, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                st = bench_fail(err, BENCH_EINPUT,
                                "data directory %s: no %s dataset%s (%s: %s); set --data-dir or "
                                "$BENCH_DATA_DIR, or run bench datasets fetch",
                                ctx.data_dir, need[i],
                                i ? ", which the embedded simulator plays from" : "", sub,
                                stat(sub, &sb) != 0 ? strerror(errno) : "not a directory");
                goto out;
            }
        }
    }

    if (!endpoint_url && (st = check_sim_data(ctx.data_dir, err)))
        goto out;

    config_defaults(&ctx.rc);
    ctx.rc.timeout = c->timeout;
    ctx.rc.threads = c->threads;
    ctx.rc.tls = c->tls; /* borrowed: ctx.rc is never freed */
    ctx.progress = c->progress > 0 || (c->progress == 0 && isatty(STDERR_FILENO));

    /* Output path first: an unwritable place fails before any request. */
    char created[32], compact[32];
    utc_now(created, sizeof created, compact, sizeof compact);
    if (c->output)
        snprintf(out->path, sizeof out->path, "%s", c->output);
    else
        snprintf(out->path, sizeof out->path, "results/%s-%s-%s.h5", c->model, c->eval, compact);
    if (file_mkdirs_for(out->path)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create its directory: %s", out->path,
                        strerror(errno));
        goto out;
    }

    /* the simulator gets no key */
    const char *hide_env[] = {c->api_key_env ? c->api_key_env : "OPENAI_API_KEY",
                              c->judge_api_key_env, NULL};
    endpoint_sim es = {
        .seed = (unsigned long long)c->seed,
        .catalog = c->catalog_path,
        .data_dir = ctx.data_dir,
        .sim_quality = c->sim_quality,
        .faults = c->sim_faults,
        .hide_env = hide_env,
    };
    if ((st = endpoint_open(&ctx.ep, endpoint_url, "--endpoint", c->model, &es, err)))
        goto out;
    ctx.api_key = key_from_env(c->api_key_env, "OPENAI_API_KEY");
    if (is_mt) {
        if (c->judge_endpoint) {
            if ((st = endpoint_open(&ctx.judge_ep, c->judge_endpoint, "--judge-endpoint", NULL,
                                    NULL, err)))
                goto out;
            snprintf(ctx.judge_served, sizeof ctx.judge_served, "%s", c->judge_model);
            ctx.judge_api_key = key_from_env(c->judge_api_key_env, "OPENAI_API_KEY");
        } else {
            /* The model's own simulator judges: it recognises the judge
             * prompt and rates the answers it labelled. */
            ctx.judge_shares_ep = 1;
            snprintf(ctx.judge_served, sizeof ctx.judge_served, "%s", ctx.served);
            ctx.judge_api_key = ctx.api_key;
        }
    }

    stopsig_install(&sigs);
    ctx.t0 = clock_now_ns();
    int64_t t0_unix = clock_unix_ns();

    st = is_mmlu ? eval_mmlu_run(&ctx, err)
         : is_he ? eval_humaneval_run(&ctx, err)
                 : eval_mtbench_run(&ctx, err);
    if (st)
        goto out;
    out->interrupted = atomic_load(&stopsig_flag) != WORKER_RUN;
    if (out->interrupted)
        cJSON_AddStringToObject(ctx.summary, "run_status", "interrupted");
    cJSON_AddStringToObject(ctx.summary, "endpoint_kind", ctx.ep.kind);
    cJSON_AddStringToObject(ctx.summary, "results", out->path);
    cfg_json = config_json(c, &ctx);
    summary = cJSON_PrintUnformatted(ctx.summary);
    if (!cfg_json || !summary) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    evalres_meta meta = {
        .eval = c->eval,
        .harness_version = BENCH_VERSION,
        .created_utc = created,
        .model = c->model,
        .served_model = ctx.served,
        .endpoint = ctx.ep.base,
        .endpoint_kind = ctx.ep.kind,
        .api = ctx.api == OAI_CHAT ? "chat" : "completions",
        .method = ctx.method,
        .judge_model = is_mt ? ctx.judge_served : NULL,
        .judge_endpoint = is_mt ? (ctx.judge_shares_ep ? ctx.ep.base : ctx.judge_ep.base) : NULL,
        .judge_endpoint_kind =
            is_mt ? (ctx.judge_shares_ep ? ctx.ep.kind : ctx.judge_ep.kind) : NULL,
        .config_json = cfg_json,
        .summary_json = summary,
        .score = ctx.score,
        .t0_unix_ns = t0_unix,
        .t0_monotonic_ns = ctx.t0,
    };
    if ((st = evalres_write(out->path, &meta, ctx.items, ctx.nitems, err)))
        goto out;
    out->score = ctx.score;
    out->summary_json = summary;
    summary = NULL;
    if (out->interrupted)
        st = bench_fail(err, BENCH_EINTR, "interrupted by %s; %s holds the items scored so far",
                        stopsig_last == SIGTERM ? "SIGTERM" : "SIGINT", out->path);
out:
    stopsig_restore(&sigs);
    endpoint_close(&ctx.judge_ep);
    endpoint_close(&ctx.ep);
    evalres_items_free(ctx.items, ctx.nitems);
    cJSON_Delete(ctx.summary);
    free(cfg_json);
    free(summary);
    free(dd);
    catalog_destroy(cat);
    return st;
}

/* --- command line ---------------------------------------------------------- */

static const char eval_usage[] =
    "usage: bench eval mmlu|humaneval|mtbench --model M [options]\n"
    "\n"
    "Score a model's quality through the same worker pool as the load tests and\n"
    "write an HDF5 evaluation file (docs/EVALS.md, docs/FORMAT.md). With no\n"
    "--endpoint the embedded simulator plays the catalog model (its answers are\n"
    "right with the catalog's figures' probability; everything is labelled simulated).\n"
    "\n"
    "Common:\n"
    "  --model NAME          model from suites/models.json, or any name with --endpoint\n"
    "  --endpoint URL        OpenAI-compatible base URL (default $OPENAI_BASE_URL, else "
    "simulated)\n"
    "  --served-model ID     model id sent (default: the catalog's served_id)\n"
    "  --api chat|completions   default completions (mmlu, humaneval), chat (mtbench)\n"
    "  --api-key-env VAR     variable holding the API key (default OPENAI_API_KEY)\n"
    "  --concurrency N       requests in flight (default 8)\n"
    "  --limit N             mmlu: items per subject; humaneval: problems; mtbench: questions\n"
    "                        (default: all)\n"
    "  --data-dir DIR        datasets (default $BENCH_DATA_DIR, else ../shared/datasets)\n"
    "  --output FILE.h5      evaluation file (default results/<model>-<eval>-<UTC>.h5)\n"
    "  --json                print the scores as one JSON object on stdout\n"
    "  --seed N              seed sent with sampled requests and to the simulator (default 1)\n"
    "  --retries N           extra attempts for a failed request, backoff 1, 2, 4 s or the\n"
    "                        server's Retry-After when longer, at most 300 s (default 3)\n"
    "  --timeout SPEC        e.g. connect=10s,first-token=300s,idle=120s,total=30m (defaults)\n"
    "  --threads N           worker threads (default: all cores, at most --concurrency)\n"
    "  --catalog FILE        model catalog (default suites/models.json)\n"
    "  --cacert FILE         trust the CA certificate(s) in FILE (PEM) instead of the system\n"
    "                        store for an https:// --endpoint (e.g. a self-signed server)\n"
    "  --insecure            do not verify the endpoint's certificate (recorded in the\n"
    "                        evaluation file; the summary warns). Not with --cacert\n"
    "  --progress, --no-progress\n"
    "MMLU:\n"
    "  --method logprobs|generative|cot   default logprobs (needs a server returning\n"
    "                        top logprobs); cot = 0-shot chain of thought as simple-evals\n"
    "  --split test|val      default test (14042 items)\n"
    "  --shots N             0-5 (default 5; cot is always 0-shot)\n"
    "HumanEval:\n"
    "  --samples N           completions per problem (default 1, greedy); pass@k is reported\n"
    "                        for k in 1, 10, 100 when every problem has n >= k\n"
    "  --temperature T       sampling temperature for --samples > 1 (default 0.8)\n"
    "  --exec-timeout S      wall-clock limit per program (default 3)\n"
    "  --require-isolation   refuse to run code where namespaces are refused (docs/SANDBOX.md)\n"
    "MT-Bench:\n"
    "  --judge-endpoint URL  judge's base URL (required with --endpoint; default: the\n"
    "                        simulator judges its own answers)\n"
    "  --judge-model ID      judge model id, e.g. gpt-4 (required with --judge-endpoint)\n"
    "  --judge-api-key-env VAR\n"
    "  --judge-cacert FILE, --judge-insecure   as --cacert and --insecure, for the judge\n"
    "Embedded simulator:\n"
    "  --sim-quality SPEC    override the played figures, e.g. mmlu=100,humaneval=0,mtbench=7.5\n"
    "  --sim-faults SPEC     inject faults, e.g. http429@0:3 (docs/SIMULATOR.md)\n"
    "\n"
    "Exit status: 0 scored, 1 failed, 2 bad flags or input, 130/143 interrupted\n"
    "(the items scored so far are written).\n";

enum {
    E_MODEL = 256,
    E_ENDPOINT,
    E_SERVED,
    E_API,
    E_KEYENV,
    E_CONC,
    E_LIMIT,
    E_DATA,
    E_OUTPUT,
    E_JSON,
    E_SEED,
    E_RETRIES,
    E_TIMEOUT,
    E_THREADS,
    E_CATALOG,
    E_PROGRESS,
    E_NO_PROGRESS,
    E_METHOD,
    E_SPLIT,
    E_SHOTS,
    E_SAMPLES,
    E_TEMP,
    E_EXEC_TIMEOUT,
    E_REQ_ISO,
    E_JUDGE_EP,
    E_JUDGE_MODEL,
    E_JUDGE_KEY,
    E_SIM_QUALITY,
    E_SIM_FAULTS,
    E_CACERT,
    E_INSECURE,
    E_JUDGE_CACERT,
    E_JUDGE_INSECURE,
    E_HELP
};

static const struct option eval_opts[] = {
    {"model", required_argument, NULL, E_MODEL},
    {"endpoint", required_argument, NULL, E_ENDPOINT},
    {"served-model", required_argument, NULL, E_SERVED},
    {"api", required_argument, NULL, E_API},
    {"api-key-env", required_argument, NULL, E_KEYENV},
    {"concurrency", required_argument, NULL, E_CONC},
    {"limit", required_argument, NULL, E_LIMIT},
    {"data-dir", required_argument, NULL, E_DATA},
    {"output", required_argument, NULL, E_OUTPUT},
    {"json", no_argument, NULL, E_JSON},
    {"seed", required_argument, NULL, E_SEED},
    {"retries", required_argument, NULL, E_RETRIES},
    {"timeout", required_argument, NULL, E_TIMEOUT},
    {"threads", required_argument, NULL, E_THREADS},
    {"catalog", required_argument, NULL, E_CATALOG},
    {"progress", no_argument, NULL, E_PROGRESS},
    {"no-progress", no_argument, NULL, E_NO_PROGRESS},
    {"method", required_argument, NULL, E_METHOD},
    {"split", required_argument, NULL, E_SPLIT},
    {"shots", required_argument, NULL, E_SHOTS},
    {"samples", required_argument, NULL, E_SAMPLES},
    {"temperature", required_argument, NULL, E_TEMP},
    {"exec-timeout", required_argument, NULL, E_EXEC_TIMEOUT},
    {"require-isolation", no_argument, NULL, E_REQ_ISO},
    {"judge-endpoint", required_argument, NULL, E_JUDGE_EP},
    {"judge-model", required_argument, NULL, E_JUDGE_MODEL},
    {"judge-api-key-env", required_argument, NULL, E_JUDGE_KEY},
    {"sim-quality", required_argument, NULL, E_SIM_QUALITY},
    {"sim-faults", required_argument, NULL, E_SIM_FAULTS},
    {"cacert", required_argument, NULL, E_CACERT},
    {"insecure", no_argument, NULL, E_INSECURE},
    {"judge-cacert", required_argument, NULL, E_JUDGE_CACERT},
    {"judge-insecure", no_argument, NULL, E_JUDGE_INSECURE},
    {"help", no_argument, NULL, E_HELP},
    {NULL, 0, NULL, 0},
};

static bench_status set_s(char **dst, const char *v, const char *flag, bench_err *err)
{
    if (!*v)
        return bench_fail(err, BENCH_EUSAGE, "%s: empty value", flag);
    free(*dst);
    *dst = strdup(v);
    return *dst ? BENCH_OK : bench_fail(err, BENCH_ENOMEM, "out of memory");
}

static bench_status parse_num(const char *s, const char *flag, double lo, double hi, double *out,
                              bench_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno)
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a number", flag, s);
    if (!(v >= lo && v <= hi))
        return bench_fail(err, BENCH_EUSAGE, "%s: %s is out of range [%g, %g]", flag, s, lo, hi);
    *out = v;
    return BENCH_OK;
}

static bench_status parse_eval(int argc, char **argv, eval_config *c, int *help, bench_err *err)
{
    bench_status st = BENCH_OK;
    long v;
    double d = 0;
    int opt;
    optind = 1;
    opterr = 0;
    *help = 0;
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            *help = 1;
            return BENCH_OK;
        }
        return bench_fail(err, BENCH_EUSAGE, "name the evaluation: mmlu, humaneval or mtbench");
    }
    if ((st = set_s(&c->eval, argv[1], "evaluation", err)))
        return st;
    argc--;
    argv++;
    while ((opt = getopt_long(argc, argv, ":", eval_opts, NULL)) != -1 && !st) {
        const char *a = optarg;
        switch (opt) {
        case E_MODEL:
            st = set_s(&c->model, a, "--model", err);
            break;
        case E_ENDPOINT:
            st = set_s(&c->endpoint, a, "--endpoint", err);
            break;
        case E_SERVED:
            st = set_s(&c->served_model, a, "--served-model", err);
            break;
        case E_API:
            if (strcmp(a, "chat") == 0)
                c->api = OAI_CHAT;
            else if (strcmp(a, "completions") == 0)
                c->api = OAI_COMPLETIONS;
            else
                st = bench_fail(err, BENCH_EUSAGE, "--api: '%s' (want chat or completions)", a);
            break;
        case E_KEYENV:
            st = set_s(&c->api_key_env, a, "--api-key-env", err);
            break;
        case E_CONC:
            if (!(st = config_parse_long(a, "--concurrency", 1, 4096, &v, err)))
                c->concurrency = (int)v;
            break;
        case E_LIMIT:
            if (!(st = config_parse_long(a, "--limit", 1, 100000000, &v, err)))
                c->limit = v;
            break;
        case E_DATA:
            st = set_s(&c->data_dir, a, "--data-dir", err);
            break;
        case E_OUTPUT:
            st = set_s(&c->output, a, "--output", err);
            break;
        case E_JSON:
            c->json = 1;
            break;
        case E_SEED:
            if (!(st = config_parse_long(a, "--seed", 0, 2147483647L, &v, err)))
                c->seed = (uint64_t)v;
            break;
        case E_RETRIES:
            if (!(st = config_parse_long(a, "--retries", 0, 10, &v, err)))
                c->retries = (int)v;
            break;
        case E_TIMEOUT:
            st = config_parse_timeouts(a, &c->timeout, err);
            break;
        case E_THREADS:
            if (!(st = config_parse_long(a, "--threads", 1, 1024, &v, err)))
                c->threads = (int)v;
            break;
        case E_CATALOG:
            st = set_s(&c->catalog_path, a, "--catalog", err);
            break;
        case E_PROGRESS:
            c->progress = 1;
            break;
        case E_NO_PROGRESS:
            c->progress = -1;
            break;
        case E_METHOD:
            if (strcmp(a, "logprobs") && strcmp(a, "generative") && strcmp(a, "cot"))
                st = bench_fail(err, BENCH_EUSAGE,
                                "--method: '%s' (want logprobs, generative or cot)", a);
            else
                st = set_s(&c->method, a, "--method", err);
            break;
        case E_SPLIT:
            if (strcmp(a, "test") && strcmp(a, "val"))
                st = bench_fail(err, BENCH_EUSAGE, "--split: '%s' (want test or val)", a);
            else
                st = set_s(&c->split, a, "--split", err);
            break;
        case E_SHOTS:
            if (!(st = config_parse_long(a, "--shots", 0, 5, &v, err)))
                c->shots = (int)v;
            break;
        case E_SAMPLES:
            if (!(st = config_parse_long(a, "--samples", 1, 1000, &v, err)))
                c->samples = (int)v;
            break;
        case E_TEMP:
            if (!(st = parse_num(a, "--temperature", 0, 2, &d, err)))
                c->temperature = d;
            break;
        case E_EXEC_TIMEOUT:
            if (!(st = parse_num(a, "--exec-timeout", 0.1, 600, &d, err)))
                c->exec_timeout_s = d;
            break;
        case E_REQ_ISO:
            c->require_isolation = 1;
            break;
        case E_JUDGE_EP:
            st = set_s(&c->judge_endpoint, a, "--judge-endpoint", err);
            break;
        case E_JUDGE_MODEL:
            st = set_s(&c->judge_model, a, "--judge-model", err);
            break;
        case E_JUDGE_KEY:
            st = set_s(&c->judge_api_key_env, a, "--judge-api-key-env", err);
            break;
        case E_SIM_QUALITY:
            st = set_s(&c->sim_quality, a, "--sim-quality", err);
            break;
        case E_SIM_FAULTS:
            if (!(st = set_s(&c->sim_faults, a, "--sim-faults", err)) &&
                (st = sim_faults_check(a, err)))
                st = bench_wrap(err, st, "--sim-faults");
            break;
        case E_CACERT:
            st = set_s(&c->tls.cacert, a, "--cacert", err);
            break;
        case E_INSECURE:
            c->tls.insecure = 1;
            break;
        case E_JUDGE_CACERT:
            st = set_s(&c->judge_tls.cacert, a, "--judge-cacert", err);
            break;
        case E_JUDGE_INSECURE:
            c->judge_tls.insecure = 1;
            break;
        case E_HELP:
            *help = 1;
            break;
        case ':':
            st = bench_fail(err, BENCH_EUSAGE, "%s: missing value", argv[optind - 1]);
            break;
        default:
            st = bench_fail(err, BENCH_EUSAGE, "unknown option '%s' (see bench eval --help)",
                            argv[optind - 1]);
            break;
        }
    }
    if (!st && optind < argc)
        st = bench_fail(err, BENCH_EUSAGE, "unexpected argument '%s'", argv[optind]);
    if (!st && !*help && strcmp(c->eval, "mmlu") && strcmp(c->eval, "humaneval") &&
        strcmp(c->eval, "mtbench"))
        st = bench_fail(err, BENCH_EUSAGE,
                        "unknown evaluation '%s' (want mmlu, humaneval or mtbench)", c->eval);
    if (!st && !*help && !c->model)
        st = bench_fail(err, BENCH_EUSAGE, "%s: --model is required", c->eval);
    if (!st && !*help && (st = config_tls_check(&c->tls, "--", err)) == BENCH_OK)
        st = config_tls_check(&c->judge_tls, "--judge-", err);
    if (!st && c->sim_faults && c->endpoint)
        st = bench_fail(err, BENCH_EUSAGE,
                        "--sim-faults applies only to the embedded endpoint (not with --endpoint)");
    return st;
}

/* One human-readable block on stderr (the JSON, when asked, on stdout). */
static void print_summary(FILE *f, const eval_config *c, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "endpoint_kind");
    fprintf(f, "%s on %s (%s endpoint%s)\n", c->eval, c->model,
            cJSON_IsString(kind) ? kind->valuestring : "?",
            cJSON_IsString(kind) && strcmp(kind->valuestring, "simulated") == 0
                ? ": simulated figures, not a measurement of the model"
                : "");
    const char *keys[] = {"micro",    "macro", "pass@1", "pass@10",
                          "pass@100", "score", "turn1",  "turn2"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (cJSON_IsNumber(v))
            fprintf(f, "  %-9s %.4f\n", keys[i], v->valuedouble);
    }
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(o, "categories");
    const cJSON *e;
    cJSON_ArrayForEach(e, cats)
    {
        if (cJSON_IsNumber(e))
            fprintf(f, "  %-18s %.4f\n", e->string, e->valuedouble);
    }
    const char *counts[] = {"n",       "correct",         "passed",      "failed", "timed_out",
                            "unrated", "failed_requests", "no_logprobs", "not_run"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, counts[i]);
        if (cJSON_IsNumber(v))
            fprintf(f, "  %-16s %.0f\n", counts[i], v->valuedouble);
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "results");
    if (cJSON_IsString(res))
        fprintf(f, "results: %s\n", res->valuestring);
    if (c->tls.insecure)
        fprintf(f, "WARNING: --insecure: the endpoint's TLS certificate was not verified\n");
    if (c->judge_tls.insecure)
        fprintf(f, "WARNING: --judge-insecure: the judge's TLS certificate was not verified\n");
    cJSON_Delete(o);
}

int eval_main(int argc, char **argv)
{
    eval_config c;
    eval_outcome o;
    bench_err err = {{0}};
    int help = 0, code = 0;
    eval_config_defaults(&c);
    memset(&o, 0, sizeof o);
    bench_status st = parse_eval(argc, argv, &c, &help, &err);
    if (!st && help) {
        fputs(eval_usage, stdout);
        goto out;
    }
    if (!st)
        st = eval_execute(&c, &o, &err);
    if (o.summary_json) {
        print_summary(stderr, &c, o.summary_json);
        if (c.json)
            printf("%s\n", o.summary_json);
    }
    if (st) {
        fprintf(stderr, "bench eval: %s\n", err.msg);
        code = st == BENCH_EINTR ? 128 + (stopsig_last ? (int)stopsig_last : SIGINT) : bench_exit_code(st);
    }
out:
    free(o.summary_json);
    eval_config_free(&c);
    return code;
}
