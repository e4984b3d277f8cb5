/* eval_mmlu.c - MMLU k-shot (default 5) or 0-shot chain of thought. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"
#include "eval_impl.h"
#include "mmlu.h"

enum { M_LOGPROBS, M_GENERATIVE, M_COT };

typedef struct {
    eval_ctx *ctx;
    const mmlu_set *set;
    int method;
    int shots;
    size_t *subj; /* item index -> subject */
    size_t *row;  /* item index -> row within the subject */
    unsigned char *correct;
    int *no_logprobs;
    int *attempts;
} mmlu_state;

static bench_status mmlu_text(const mmlu_state *m, size_t idx, dynbuf *out, bench_err *err)
{
    const mmlu_subject *s = &m->set->subjects[m->subj[idx]];
    const mmlu_row *r = &s->items[m->row[idx]];
    return m->method == M_COT ? mmlu_prompt_cot(r, out, err)
                              : mmlu_prompt(s, r, m->shots, out, err);
}

static bench_status mmlu_build(void *ud, size_t idx, cJSON *req, int *max_tokens, bench_err *err)
{
    mmlu_state *m = ud;
    dynbuf p;
    dynbuf_init(&p, 1u << 20);
    bench_status st = mmlu_text(m, idx, &p, err);
    if (!st)
        st = eval_req_prompt(req, m->ctx->api, p.p, err);
    if (!st) {
        cJSON_AddNumberToObject(req, "temperature", 0);
        if (m->method == M_LOGPROBS) {
            *max_tokens = 1;
            if (m->ctx->api == OAI_COMPLETIONS) {
                cJSON_AddNumberToObject(req, "logprobs", 5);
            } else {
                cJSON_AddTrueToObject(req, "logprobs");
                cJSON_AddNumberToObject(req, "top_logprobs", 5);
            }
        } else {
            *max_tokens = m->method == M_COT ? 1024 : 5;
        }
    }
    dynbuf_free(&p);
    return st;
}

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static void mmlu_done(void *ud, size_t idx, const req_record *r, const char *text, size_t len,
                      const oai_top *top, const char *error)
{
    mmlu_state *m = ud;
    evalres_item *it = &m->ctx->items[idx];
    const mmlu_row *row = &m->set->subjects[m->subj[idx]].items[m->row[idx]];
    eval_item_latency(it, r);
    it->attempts = m->attempts[idx];
    free(it->response);
    free(it->parsed);
    free(it->detail);
    it->response = dup_str(text);
    it->detail = NULL;
    char letter = 0;
    m->no_logprobs[idx] = 0;
    if (!error) {
        if (m->method == M_LOGPROBS) {
            if (top) {
                const char *toks[OAI_TOP_MAX];
                for (int i = 0; i < top->n; i++)
                    toks[i] = top->token[i];
                letter = mmlu_pick_logprob(toks, top->logprob, (size_t)top->n);
            } else {
                m->no_logprobs[idx] = 1;
                it->detail = dup_str("the response carried no logprobs");
            }
        } else if (m->method == M_COT) {
            letter = mmlu_extract_cot(text, len);
        } else {
            letter = mmlu_extract_letter(text, len);
        }
    } else {
        it->detail = dup_str(error);
    }
    char l[2] = {letter, 0};
    it->parsed = dup_str(l);
    m->correct[idx] = letter && letter == row->answer;
    it->score = m->correct[idx];
}

bench_status eval_mmlu_run(eval_ctx *ctx, bench_err *err)
{
    bench_status st = BENCH_OK;
    const eval_config *c = ctx->cfg;
    mmlu_set *set = NULL;
    mmlu_state m = {.ctx = ctx};
    size_t *all = NULL, *n_eval = NULL;
    double *per_subject = NULL;
    unsigned char *full = NULL;
    const char *method = c->method ? c->method : "logprobs";
    m.method = strcmp(method, "cot") == 0          ? M_COT
               : strcmp(method, "generative") == 0 ? M_GENERATIVE
                                                   : M_LOGPROBS;
    m.shots = m.method == M_COT ? 0 : c->shots;
    snprintf(ctx->method, sizeof ctx->method, "%s", method);
    const char *split = c->split ? c->split : "test";
    if ((st = mmlu_load(ctx->data_dir, split, &set, err)))
        goto out;
    m.set = set;
    size_t n = 0;
    for (size_t s = 0; s < set->nsubjects; s++) {
        size_t k = set->subjects[s].nitems;
        if (c->limit > 0 && (size_t)c->limit < k)
            k = (size_t)c->limit;
        n += k;
        if ((size_t)m.shots > set->subjects[s].ndev) {
            st = bench_fail(err, BENCH_EINPUT,
                            "mmlu: subject %s has %zu dev rows, fewer than "
                            "--shots %d",
                            set->subjects[s].name, set->subjects[s].ndev, m.shots);
            goto out;
        }
    }
    ctx->items = calloc(n ? n : 1, sizeof *ctx->items);
    m.subj = calloc(n ? n : 1, sizeof *m.subj);
    m.row = calloc(n ? n : 1, sizeof *m.row);
    m.correct = calloc(n ? n : 1, 1);
    m.no_logprobs = calloc(n ? n : 1, sizeof *m.no_logprobs);
    m.attempts = calloc(n ? n : 1, sizeof *m.attempts);
    all = calloc(n ? n : 1, sizeof *all);
    n_eval = calloc(set->nsubjects, sizeof *n_eval);
    per_subject = calloc(set->nsubjects, sizeof *per_subject);
    if (!ctx->items || !m.subj || !m.row || !m.correct || !m.no_logprobs || !m.attempts || !all ||
        !n_eval || !per_subject) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    ctx->nitems = n;
    dynbuf p;
    dynbuf_init(&p, 1u << 20);
    size_t i = 0;
    for (size_t s = 0; s < set->nsubjects; s++) {
        size_t k = set->subjects[s].nitems;
        if (c->limit > 0 && (size_t)c->limit < k)
            k = (size_t)c->limit;
        n_eval[s] = k;
        for (size_t j = 0; j < k; j++, i++) {
            m.subj[i] = s;
            m.row[i] = j;
            all[i] = i;
            evalres_item *it = &ctx->items[i];
            char id[160], sha[65];
            snprintf(id, sizeof id, "%s/%zu", set->subjects[s].name, j);
            dynbuf_reset(&p);
            if ((st = mmlu_text(&m, i, &p, err))) {
                dynbuf_free(&p);
                goto out;
            }
            datasets_sha256_hex(p.p, p.len, sha);
            it->id = strdup(id);
            it->group = strdup(set->subjects[s].name);
            it->prompt_sha256 = strdup(sha);
            it->score = 0;
            it->status = REQ_CANCELLED;
            it->ttft_ms = it->e2e_ms = NAN;
            it->prompt_tokens = it->output_tokens = -1;
            if (!it->id || !it->group || !it->prompt_sha256) {
                dynbuf_free(&p);
                st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    dynbuf_free(&p);

    eval_task t = {mmlu_build, mmlu_done, &m};
    if ((st = eval_batch(ctx, 0, "mmlu", all, n, &t, m.attempts, err)))
        goto out;

    /* mmlu_score indexes every item of the set and counts each subject's
     * first n_eval[s]: pack each subject's answered items there. An item
     * the run never got to (interrupted: cancelled) is left out, not
     * counted wrong; a failed request counts wrong. */
    full = calloc(set->nitems ? set->nitems : 1, 1);
    if (!full) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    size_t answered = 0;
    for (size_t s = 0, base = 0, k = 0; s < set->nsubjects; base += set->subjects[s].nitems, s++) {
        size_t a = 0;
        for (size_t j = 0; j < n_eval[s]; j++, k++)
            if (ctx->items[k].status != REQ_CANCELLED)
                full[base + a++] = m.correct[k];
        n_eval[s] = a;
        answered += a;
    }
    mmlu_scores sc;
    mmlu_score(set, full, n_eval, &sc, per_subject);
    size_t failed = 0, nolp = 0;
    for (size_t k = 0; k < n; k++) {
        failed += !req_class_is_success(ctx->items[k].status);
        nolp += (size_t)m.no_logprobs[k];
    }
    if (m.method == M_LOGPROBS && nolp == n && n > 0) {
        st = bench_fail(err, BENCH_EPROTO,
                        "mmlu: the server returned no logprobs for any item; use --method "
                        "generative (or an endpoint that supports logprobs)");
        goto out;
    }
    cJSON *o = ctx->summary = cJSON_CreateObject();
    cJSON *cats = cJSON_CreateObject(), *subs = cJSON_CreateObject();
    if (!o || !cats || !subs) {
        cJSON_Delete(cats);
        cJSON_Delete(subs);
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(o, "eval", "mmlu");
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddNumberToObject(o, "micro", sc.micro);
    cJSON_AddNumberToObject(o, "macro", sc.macro);
    cJSON_AddNumberToObject(o, "n", (double)sc.n);
    if (answered < n)
        cJSON_AddNumberToObject(o, "not_run", (double)(n - answered));
    cJSON_AddNumberToObject(o, "correct", (double)sc.n_correct);
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddNumberToObject(o, "shots", m.shots);
    cJSON_AddStringToObject(o, "split", split);
    cJSON_AddNumberToObject(o, "failed_requests", (double)failed);
    if (m.method == M_LOGPROBS)
        cJSON_AddNumberToObject(o, "no_logprobs", (double)nolp);
    for (int k = 0; k < MMLU_CATEGORY_COUNT; k++)
        if (!isnan(sc.category[k]))
            cJSON_AddNumberToObject(cats, mmlu_category_name(k), sc.category[k]);
    for (size_t s = 0; s < set->nsubjects; s++)
        if (n_eval[s])
            cJSON_AddNumberToObject(subs, set->subjects[s].name, per_subject[s]);
    cJSON_AddItemToObject(o, "categories", cats);
    cJSON_AddItemToObject(o, "subjects", subs);
    ctx->score = sc.macro;
out:
    free(full);
    free(all);
    free(n_eval);
    free(per_subject);
    free(m.subj);
    free(m.row);
    free(m.correct);
    free(m.no_logprobs);
    free(m.attempts);
    mmlu_free(set);
    return st;
}
