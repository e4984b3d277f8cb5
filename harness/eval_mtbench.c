/* eval_mtbench.c - MT-Bench: two turns of answers, then single-answer
 * grading by an LLM judge with FastChat's prompts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"
#include "eval_impl.h"
#include "mtbench.h"

typedef struct {
    eval_ctx *ctx;
    const mtbench_set *set;
    size_t nq;
    char **answer;            /* [2 * q + turn - 1], owned */
    int *attempts;            /* per item (generation) */
    int *jattempts;           /* per item (judge) */
    int turn;                 /* phase 1 or 2 */
    const char **prompt_name; /* judge prompt used per item */
} mt_state;

static bench_status add_msg(cJSON *msgs, const char *role, const char *content, bench_err *err)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", role) ||
        !cJSON_AddStringToObject(m, "content", content)) {
        cJSON_Delete(m);
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    }
    cJSON_AddItemToArray(msgs, m);
    return BENCH_OK;
}

static bench_status mt_build(void *ud, size_t q, cJSON *req, int *max_tokens, bench_err *err)
{
    mt_state *m = ud;
    const mtbench_question *qq = &m->set->q[q];
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    bench_status st;
    if (!msgs)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    if ((st = add_msg(msgs, "user", qq->turns[0], err)))
        return st;
    if (m->turn == 2 && ((st = add_msg(msgs, "assistant", m->answer[2 * q], err)) ||
                         (st = add_msg(msgs, "user", qq->turns[1], err))))
        return st;
    cJSON_AddNumberToObject(req, "temperature", mtbench_temperature(qq->category));
    *max_tokens = 1024;
    return BENCH_OK;
}

static void mt_done(void *ud, size_t q, const req_record *r, const char *text, size_t len,
                    const oai_top *top, const char *error)
{
    mt_state *m = ud;
    (void)top;
    size_t i = 2 * q + (size_t)(m->turn - 1);
    evalres_item *it = &m->ctx->items[i];
    eval_item_latency(it, r);
    it->attempts = m->attempts[i];
    free(it->response);
    free(it->detail);
    it->response = strndup(text, len);
    it->detail = error ? strdup(error) : NULL;
    free(m->answer[i]);
    m->answer[i] = error ? NULL : strndup(text, len);
}

static bench_status judge_build(void *ud, size_t i, cJSON *req, int *max_tokens, bench_err *err)
{
    mt_state *m = ud;
    const mtbench_question *qq = &m->set->q[i / 2];
    int turn = (int)(i % 2) + 1;
    const char *answers[2] = {m->answer[i / 2 * 2], m->answer[i / 2 * 2 + 1]};
    const char *system = NULL, *name = NULL;
    dynbuf user;
    dynbuf_init(&user, 4u << 20);
    bench_status st = mtbench_judge_messages(m->set, qq, turn, answers, &system, &user, &name, err);
    cJSON *msgs = st ? NULL : cJSON_AddArrayToObject(req, "messages");
    if (!st && !msgs)
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
    if (!st && system && *system)
        st = add_msg(msgs, "system", system, err);
    if (!st)
        st = add_msg(msgs, "user", user.p, err);
    dynbuf_free(&user);
    if (st)
        return st;
    m->prompt_name[i] = name;
    cJSON_AddNumberToObject(req, "temperature", 0);
    *max_tokens = 2048;
    return BENCH_OK;
}

static void judge_done(void *ud, size_t i, const req_record *r, const char *text, size_t len,
                       const oai_top *top, const char *error)
{
    mt_state *m = ud;
    (void)r;
    (void)top;
    evalres_item *it = &m->ctx->items[i];
    free(it->judge);
    free(it->parsed);
    it->judge = error ? NULL : strndup(text, len);
    it->score = error ? -1 : mtbench_parse_rating(text, len);
    char buf[32];
    if (it->score >= 0)
        snprintf(buf, sizeof buf, "%g", it->score);
    else
        snprintf(buf, sizeof buf, "%s", error ? "judge failed" : "no rating");
    it->parsed = strdup(buf);
    if (error) {
        free(it->detail);
        size_t need = strlen(error) + 8;
        it->detail = malloc(need);
        if (it->detail)
            snprintf(it->detail, need, "judge: %s", error);
    }
}

bench_status eval_mtbench_run(eval_ctx *ctx, bench_err *err)
{
    bench_status st = BENCH_OK;
    const eval_config *c = ctx->cfg;
    mtbench_set *set = NULL;
    mt_state m = {.ctx = ctx};
    size_t *idx = NULL;
    if ((st = mtbench_load(ctx->data_dir, &set, err)))
        goto out;
    m.set = set;
    m.nq = set->nq;
    if (c->limit > 0 && (size_t)c->limit < m.nq)
        m.nq = (size_t)c->limit;
    size_t n = 2 * m.nq;
    snprintf(ctx->method, sizeof ctx->method, "single");
    ctx->items = calloc(n ? n : 1, sizeof *ctx->items);
    m.answer = calloc(n ? n : 1, sizeof *m.answer);
    m.attempts = calloc(n ? n : 1, sizeof *m.attempts);
    m.jattempts = calloc(n ? n : 1, sizeof *m.jattempts);
    m.prompt_name = calloc(n ? n : 1, sizeof *m.prompt_name);
    idx = calloc(n ? n : 1, sizeof *idx);
    if (!ctx->items || !m.answer || !m.attempts || !m.jattempts || !m.prompt_name || !idx) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    ctx->nitems = n;
    for (size_t i = 0; i < n; i++) {
        const mtbench_question *q = &set->q[i / 2];
        char id[32], sha[65];
        snprintf(id, sizeof id, "%d/%zu", q->id, i % 2 + 1);
        const char *t = q->turns[i % 2];
        datasets_sha256_hex(t, strlen(t), sha);
        evalres_item *it = &ctx->items[i];
        it->id = strdup(id);
        it->group = strdup(q->category);
        it->prompt_sha256 = strdup(sha);
        it->status = REQ_CANCELLED;
        it->score = -1;
        it->ttft_ms = it->e2e_ms = NAN;
        it->prompt_tokens = it->output_tokens = -1;
        if (!it->id || !it->group || !it->prompt_sha256) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
    }

    /* Turn 1, then turn 2 with the model's own first answer. */
    eval_task gen = {mt_build, mt_done, &m};
    for (size_t q = 0; q < m.nq; q++)
        idx[q] = q;
    m.turn = 1;
    if ((st = eval_batch(ctx, 0, "mtbench turn 1", idx, m.nq, &gen, NULL, err)))
        goto out;
    size_t k = 0;
    for (size_t q = 0; q < m.nq; q++)
        if (m.answer[2 * q])
            idx[k++] = q;
    m.turn = 2;
    if (k && (st = eval_batch(ctx, 0, "mtbench turn 2", idx, k, &gen, NULL, err)))
        goto out;

    /* Judge every answered turn. */
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (m.answer[i])
            idx[k++] = i;
    eval_task jt = {judge_build, judge_done, &m};
    if (k && (st = eval_batch(ctx, 1, "mtbench judge", idx, k, &jt, m.jattempts, err)))
        goto out;

    double sum[3] = {0}, cnt[3] = {0};
    size_t unrated = 0, failed = 0;
    cJSON *o = ctx->summary = cJSON_CreateObject();
    cJSON *cats = cJSON_CreateObject();
    if (!o || !cats) {
        cJSON_Delete(cats);
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    /* Per category in question order (FastChat's categories, first seen). */
    for (size_t i = 0; i < n; i++) {
        evalres_item *it = &ctx->items[i];
        it->attempts = m.attempts[i] + m.jattempts[i];
        if (!m.answer[i]) {
            failed++;
            continue;
        }
        if (it->score < 0) {
            unrated++;
            continue;
        }
        int t = (int)(i % 2) + 1;
        sum[t] += it->score;
        cnt[t]++;
        sum[0] += it->score;
        cnt[0]++;
    }
    for (size_t i = 0; i < n; i++) {
        const char *cat = ctx->items[i].group;
        if (cJSON_GetObjectItemCaseSensitive(cats, cat))
            continue;
        double s = 0, c2 = 0;
        for (size_t j = 0; j < n; j++)
            if (strcmp(ctx->items[j].group, cat) == 0 && m.answer[j] && ctx->items[j].score >= 0) {
                s += ctx->items[j].score;
                c2++;
            }
        if (c2 > 0)
            cJSON_AddNumberToObject(cats, cat, s / c2);
    }
    cJSON_AddStringToObject(o, "eval", "mtbench");
    cJSON_AddStringToObject(o, "model", c->model);
    if (cnt[0] > 0)
        cJSON_AddNumberToObject(o, "score", sum[0] / cnt[0]);
    if (cnt[1] > 0)
        cJSON_AddNumberToObject(o, "turn1", sum[1] / cnt[1]);
    if (cnt[2] > 0)
        cJSON_AddNumberToObject(o, "turn2", sum[2] / cnt[2]);
    cJSON_AddNumberToObject(o, "n", (double)m.nq);
    cJSON_AddNumberToObject(o, "rated", cnt[0]);
    cJSON_AddNumberToObject(o, "unrated", (double)unrated);
    cJSON_AddNumberToObject(o, "failed_requests", (double)failed);
    cJSON_AddStringToObject(o, "judge_model", ctx->judge_served);
    cJSON_AddStringToObject(o, "judge_endpoint_kind",
                            ctx->judge_shares_ep ? ctx->ep.kind : ctx->judge_ep.kind);
    cJSON_AddItemToObject(o, "categories", cats);
    ctx->score = cnt[0] > 0 ? sum[0] / cnt[0] : NAN;
out:
    if (m.answer)
        for (size_t i = 0; i < 2 * m.nq; i++)
            free(m.answer[i]);
    free(m.answer);
    free(m.attempts);
    free(m.jattempts);
    free(m.prompt_name);
    free(idx);
    mtbench_free(set);
    return st;
}
