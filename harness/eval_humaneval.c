/* eval_humaneval.c - HumanEval pass@k: generate through the pool, then run
 * every completion in the sandbox on a few threads. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets.h"
#include "eval_impl.h"
#include "worker.h"
#include "humaneval.h"
#include "sandbox.h"

typedef struct {
    eval_ctx *ctx;
    const humaneval_problem *p;
    int samples;
    double temperature;
    int *attempts;
    unsigned char *passed;
    unsigned char *timed_out;
    /* execution */
    sandbox_limits lim;
    _Atomic size_t next;
    size_t n;
    bench_status exec_st;
    bench_err exec_err;
    pthread_mutex_t lock;
} he_state;

static bench_status he_build(void *ud, size_t idx, cJSON *req, int *max_tokens, bench_err *err)
{
    he_state *h = ud;
    const humaneval_problem *p = &h->p[idx / (size_t)h->samples];
    bench_status st;
    if (h->ctx->api == OAI_COMPLETIONS) {
        if ((st = eval_req_prompt(req, OAI_COMPLETIONS, p->prompt, err)))
            return st;
        cJSON *stop = cJSON_AddArrayToObject(req, "stop");
        for (size_t i = 0; stop && i < 4; i++) /* OpenAI accepts at most 4 stops */
            cJSON_AddItemToArray(stop, cJSON_CreateString(humaneval_stop[i]));
        *max_tokens = 512;
    } else {
        dynbuf t;
        dynbuf_init(&t, 1u << 20);
        st = humaneval_chat_prompt(p, &t, err);
        if (!st)
            st = eval_req_prompt(req, OAI_CHAT, t.p, err);
        dynbuf_free(&t);
        if (st)
            return st;
        *max_tokens = 1024;
    }
    cJSON_AddNumberToObject(req, "temperature", h->temperature);
    if (h->samples > 1)
        cJSON_AddNumberToObject(req, "seed",
                                (double)(h->ctx->cfg->seed + (uint64_t)(idx % (size_t)h->samples)));
    return BENCH_OK;
}

static void he_done(void *ud, size_t idx, const req_record *r, const char *text, size_t len,
                    const oai_top *top, const char *error)
{
    he_state *h = ud;
    (void)top;
    evalres_item *it = &h->ctx->items[idx];
    eval_item_latency(it, r);
    it->attempts = h->attempts[idx];
    free(it->response);
    free(it->detail);
    it->response = strndup(text, len);
    it->detail = error ? strdup(error) : NULL;
}

/* Execution threads: take items from the shared counter. */
static void *he_exec(void *arg)
{
    he_state *h = arg;
    dynbuf prog;
    dynbuf_init(&prog, 16u << 20);
    for (;;) {
        size_t idx = atomic_fetch_add(&h->next, 1);
        if (idx >= h->n || atomic_load(h->ctx->stop) != WORKER_RUN)
            break;
        evalres_item *it = &h->ctx->items[idx];
        const humaneval_problem *p = &h->p[idx / (size_t)h->samples];
        bench_err e;
        bench_status st = BENCH_OK;
        char *completion = NULL;
        int full = 0;
        const char *verdict;
        if (!req_class_is_success(it->status)) {
            verdict = "failed"; /* no completion: the request failed */
        } else {
            const char *resp = it->response ? it->response : "";
            if (h->ctx->api == OAI_COMPLETIONS) {
                completion = strndup(resp, humaneval_truncate(resp, strlen(resp)));
                if (!completion)
                    st = bench_fail(&e, BENCH_ENOMEM, "out of memory");
            } else {
                st = humaneval_extract(p, resp, strlen(resp), &completion, &full, &e);
            }
            dynbuf_reset(&prog);
            if (!st)
                st = humaneval_program(p, completion, full, &prog, &e);
            sandbox_result res;
            if (!st)
                st = sandbox_run_python(&h->lim, prog.p, prog.len, &res, &e);
            if (st) {
                pthread_mutex_lock(&h->lock);
                if (!h->exec_st) {
                    h->exec_st = st;
                    h->exec_err = e;
                }
                pthread_mutex_unlock(&h->lock);
                free(completion);
                break;
            }
            h->passed[idx] = res.outcome == SANDBOX_PASSED;
            h->timed_out[idx] = res.outcome == SANDBOX_TIMEOUT;
            verdict = res.outcome == SANDBOX_PASSED    ? "passed"
                      : res.outcome == SANDBOX_TIMEOUT ? "timed out"
                                                       : "failed";
            if (res.outcome != SANDBOX_PASSED) {
                free(it->detail);
                it->detail = strdup(res.detail);
            }
        }
        free(it->parsed);
        it->parsed = strdup(verdict);
        it->score = h->passed[idx];
        free(completion);
    }
    dynbuf_free(&prog);
    return NULL;
}

bench_status eval_humaneval_run(eval_ctx *ctx, bench_err *err)
{
    bench_status st = BENCH_OK;
    const eval_config *c = ctx->cfg;
    humaneval_problem *probs = NULL;
    size_t np = 0, np_loaded = 0;
    size_t *all = NULL;
    pthread_t th[32];
    int nth = 0;
    he_state h = {.ctx = ctx};
    pthread_mutex_init(&h.lock, NULL);
    if ((st = humaneval_load(ctx->data_dir, &probs, &np_loaded, err)))
        goto out;
    np = np_loaded;
    if (c->limit > 0 && (size_t)c->limit < np)
        np = (size_t)c->limit;
    h.p = probs;
    h.samples = c->samples;
    h.temperature = c->temperature >= 0 ? c->temperature : c->samples > 1 ? 0.8 : 0.0;
    snprintf(ctx->method, sizeof ctx->method, "%s",
             ctx->api == OAI_COMPLETIONS ? "completion" : "chat");
    size_t n = np * (size_t)h.samples;
    h.n = n;
    ctx->items = calloc(n ? n : 1, sizeof *ctx->items);
    h.attempts = calloc(n ? n : 1, sizeof *h.attempts);
    h.passed = calloc(n ? n : 1, 1);
    h.timed_out = calloc(n ? n : 1, 1);
    all = calloc(n ? n : 1, sizeof *all);
    if (!ctx->items || !h.attempts || !h.passed || !h.timed_out || !all) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    ctx->nitems = n;
    for (size_t i = 0; i < n; i++) {
        const humaneval_problem *p = &probs[i / (size_t)h.samples];
        char id[96], sha[65];
        snprintf(id, sizeof id, "%s#%zu", p->task_id, i % (size_t)h.samples);
        datasets_sha256_hex(p->prompt, strlen(p->prompt), sha);
        evalres_item *it = &ctx->items[i];
        it->id = strdup(id);
        it->group = strdup("");
        it->prompt_sha256 = strdup(sha);
        it->status = REQ_CANCELLED;
        it->ttft_ms = it->e2e_ms = NAN;
        it->prompt_tokens = it->output_tokens = -1;
        all[i] = i;
        if (!it->id || !it->group || !it->prompt_sha256) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
    }
    eval_task t = {he_build, he_done, &h};
    if ((st = eval_batch(ctx, 0, "humaneval", all, n, &t, h.attempts, err)))
        goto out;

    /* Execute. */
    sandbox_limits_default(&h.lim);
    h.lim.timeout_s = c->exec_timeout_s;
    h.lim.cpu_s = c->exec_timeout_s + 1;
    h.lim.require_isolation = c->require_isolation;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    nth = c->concurrency > cores ? c->concurrency : (int)cores;
    if (nth > 32)
        nth = 32;
    if ((size_t)nth > n)
        nth = (int)(n ? n : 1);
    atomic_init(&h.next, 0);
    int started = 0;
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, he_exec, &h) != 0)
            break;
    if (started == 0)
        he_exec(&h);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (h.exec_st) {
        st = h.exec_st;
        *err = h.exec_err;
        bench_wrap(err, st, "humaneval: sandbox");
        goto out;
    }

    /* pass@k over problems (human-eval's estimator), k reported only when
     * every problem has n >= k samples. */
    size_t passed = 0, tmo = 0, failed_req = 0;
    for (size_t i = 0; i < n; i++) {
        passed += h.passed[i];
        tmo += h.timed_out[i];
        failed_req += !req_class_is_success(ctx->items[i].status);
    }
    cJSON *o = ctx->summary = cJSON_CreateObject();
    if (!o) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(o, "eval", "humaneval");
    cJSON_AddStringToObject(o, "model", c->model);
    static const int ks[] = {1, 10, 100};
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        int k = ks[ki];
        if (k > h.samples)
            continue;
        /* Over the problems whose samples all ran (all, unless interrupted). */
        double sum = 0;
        size_t nrun = 0;
        for (size_t p = 0; p < np; p++) {
            int cnt = 0, ran = 1;
            for (int s = 0; s < h.samples; s++) {
                size_t i = p * (size_t)h.samples + (size_t)s;
                cnt += h.passed[i];
                ran &= ctx->items[i].parsed != NULL;
            }
            if (!ran)
                continue;
            sum += humaneval_pass_at_k(h.samples, cnt, k);
            nrun++;
        }
        char key[16];
        snprintf(key, sizeof key, "pass@%d", k);
        double v = nrun ? sum / (double)nrun : NAN;
        if (nrun < np && k == 1)
            cJSON_AddNumberToObject(o, "not_run", (double)(np - nrun));
        cJSON_AddNumberToObject(o, key, v);
        if (k == 1)
            ctx->score = v;
    }
    cJSON_AddNumberToObject(o, "n", (double)np);
    cJSON_AddNumberToObject(o, "samples", h.samples);
    cJSON_AddNumberToObject(o, "temperature", h.temperature);
    cJSON_AddNumberToObject(o, "passed", (double)passed);
    cJSON_AddNumberToObject(o, "failed", (double)(n - passed - tmo));
    cJSON_AddNumberToObject(o, "timed_out", (double)tmo);
    cJSON_AddNumberToObject(o, "failed_requests", (double)failed_req);
    cJSON_AddStringToObject(o, "method", ctx->method);
out:
    pthread_mutex_destroy(&h.lock);
    free(all);
    free(h.attempts);
    free(h.passed);
    free(h.timed_out);
    humaneval_free(probs, np_loaded);
    return st;
}
