#include "summary.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

static void cell(FILE *f, double v, int width, int prec)
{
    if (isnan(v))
        fprintf(f, " %*s", width, "-");
    else
        fprintf(f, " %*.*f", width, prec, v);
}

/* The open-loop levels' own table: offered and achieved rates, schedule
 * lag, and the latencies measured from the intended send time. */
static void print_open_loop(FILE *f, const run_summary *s)
{
    fprintf(f, "\nopen loop: latencies also from each request's intended send time (*); schedule "
               "lag = actual - intended send\n");
    fprintf(f, "%8s %8s %8s %8s %8s %9s %9s %9s %9s %12s %5s\n", "level", "offered", "achieved",
            "lag p50", "lag p99", "TTFT* p50", "TTFT* p99", "E2E* p50", "E2E* p99", "arrival",
            "cap");
    fprintf(f, "%8s %8s %8s %8s %8s %9s %9s %9s %9s %12s %5s\n", "", "req/s", "req/s", "ms", "ms",
            "ms", "ms", "ms", "ms", "", "");
    for (size_t i = 0; i < s->n_levels; i++) {
        const level_metrics *m = &s->levels[i];
        char name[LEVEL_NAME_MAX];
        if (m->key.kind != LEVEL_RATE)
            continue;
        fprintf(f, "%8s", level_format(m->key, name, sizeof name));
        cell(f, m->offered_rate, 8, 2);
        cell(f, m->achieved_rate, 8, 2);
        cell(f, m->queue_ms.p50, 8, 2);
        cell(f, m->queue_ms.p99, 8, 2);
        cell(f, m->ttft_sched_ms.p50, 9, 1);
        cell(f, m->ttft_sched_ms.p99, 9, 1);
        cell(f, m->e2e_sched_ms.p50, 9, 1);
        cell(f, m->e2e_sched_ms.p99, 9, 1);
        fprintf(f, " %12s %5d\n", m->arrival, m->max_concurrency);
    }
}

void summary_print_table(FILE *f, const run_summary *s)
{
    int simulated = strcmp(s->endpoint_kind, "simulated") == 0;
    fprintf(f, "\nbench %s  model %s (served as %s), api %s\n", BENCH_VERSION, s->model,
            s->served_model, s->api);
    fprintf(f, "endpoint %s (%s)\n", s->endpoint,
            simulated ? "SIMULATED: embedded simulator, not a real model" : "remote");
    fprintf(f, "results  %s\n", s->results_path);
    if (strcmp(s->tls_verify, "insecure") == 0)
        fprintf(f, "WARNING: --insecure: the server's TLS certificate was not verified\n");
    fputc('\n', f);
    int any_rate = 0;
    for (size_t i = 0; i < s->n_levels; i++)
        any_rate |= s->levels[i].key.kind == LEVEL_RATE;
    fprintf(f, "%5s %6s %5s %9s %9s %9s %8s %8s %9s %9s %10s %7s\n", any_rate ? "level" : "conc",
            "ok", "fail", "TTFT p50", "TTFT p99", "TPOT p50", "ITL p50", "ITL p99", "E2E p50",
            "E2E p99", "out tok/s", "req/s");
    fprintf(f, "%5s %6s %5s %9s %9s %9s %8s %8s %9s %9s %10s %7s\n", "", "", "", "ms", "ms", "ms",
            "ms", "ms", "ms", "ms", "", "");
    for (size_t i = 0; i < s->n_levels; i++) {
        const level_metrics *m = &s->levels[i];
        char name[LEVEL_NAME_MAX];
        if (m->key.kind == LEVEL_RATE)
            fprintf(f, "%5s", level_format(m->key, name, sizeof name));
        else
            fprintf(f, "%5d", m->concurrency);
        fprintf(f, " %6llu %5llu", (unsigned long long)m->n_ok, (unsigned long long)m->n_failed);
        cell(f, m->ttft_ms.p50, 9, 1);
        cell(f, m->ttft_ms.p99, 9, 1);
        cell(f, m->tpot_ms.p50, 9, 2);
        cell(f, m->itl_ms.p50, 8, 2);
        cell(f, m->itl_ms.p99, 8, 2);
        cell(f, m->e2e_ms.p50, 9, 1);
        cell(f, m->e2e_ms.p99, 9, 1);
        cell(f, m->output_tps, 10, 0);
        cell(f, m->req_per_s, 7, 2);
        fputc('\n', f);
    }
    if (any_rate)
        print_open_loop(f, s);
    int any = 0;
    for (size_t i = 0; i < s->n_levels; i++) {
        const level_metrics *m = &s->levels[i];
        char label[LEVEL_NAME_MAX + 16];
        level_label(m->key, label, sizeof label);
        for (int c = 1; c < REQ_CLASS_COUNT; c++) {
            if (!m->by_class[c])
                continue;
            if (!any)
                fprintf(f, "\nnot ok (recorded with their reasons in the results file):\n");
            any = 1;
            fprintf(f, "  %s: %llu %s%s\n", label, (unsigned long long)m->by_class[c],
                    req_class_name(c),
                    c == REQ_EARLY_STOP ? " (completed, fewer tokens than asked; counted ok)" : "");
        }
    }
    for (size_t i = 0; i < s->n_levels; i++) {
        const level_metrics *m = &s->levels[i];
        char text[512];
        if (m->client.present && m->client.warning[0])
            fprintf(f, "\nWARNING: %s\n",
                    level_client_sentence(m->key, &m->client, text, sizeof text));
    }
    if (s->n_levels && s->levels[0].n_warmup)
        fprintf(f, "\n%llu warm-up request(s) per level sent first and excluded.\n",
                (unsigned long long)s->levels[0].n_warmup);
    if (s->interrupted)
        fprintf(f, "\nINTERRUPTED: the table shows the levels measured before the signal.\n");
    if (strcmp(s->tls_verify, "insecure") == 0)
        fprintf(f, "\nWARNING: run with --insecure: the endpoint's TLS certificate was not "
                   "verified, so nothing shows these figures came from the server named.\n");
    if (simulated)
        fprintf(f, "\nNOTE: these figures were measured on the embedded simulated endpoint; they "
                   "describe its calibrated latency model, not a real deployment.\n");
}

static void add_num(cJSON *o, const char *k, double v)
{
    if (isnan(v) || isinf(v))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

static void add_dist(cJSON *o, const char *k, const stats_dist *d)
{
    cJSON *x = cJSON_AddObjectToObject(o, k);
    cJSON_AddNumberToObject(x, "count", (double)d->n);
    add_num(x, "mean", d->mean);
    add_num(x, "min", d->min);
    add_num(x, "p50", d->p50);
    add_num(x, "p90", d->p90);
    add_num(x, "p95", d->p95);
    add_num(x, "p99", d->p99);
    add_num(x, "p99_9", d->p999);
    add_num(x, "max", d->max);
}

cJSON *summary_level_json(const level_metrics *m)
{
    cJSON *l = cJSON_CreateObject();
    if (!l)
        return NULL;
    char name[LEVEL_NAME_MAX];
    cJSON_AddStringToObject(l, "level", level_format(m->key, name, sizeof name));
    cJSON_AddStringToObject(l, "mode", m->key.kind == LEVEL_RATE ? "rate" : "concurrency");
    if (m->key.kind == LEVEL_RATE) {
        cJSON_AddNullToObject(l, "concurrency");
        add_num(l, "rate_s", m->offered_rate);
        cJSON_AddStringToObject(l, "arrival", m->arrival);
        cJSON_AddNumberToObject(l, "max_concurrency", m->max_concurrency);
    } else {
        cJSON_AddNumberToObject(l, "concurrency", m->concurrency);
    }
    add_num(l, "achieved_rate_s", m->achieved_rate);
    cJSON_AddNumberToObject(l, "requests_ok", (double)m->n_ok);
    cJSON_AddNumberToObject(l, "requests_failed", (double)m->n_failed);
    cJSON_AddNumberToObject(l, "requests_warmup", (double)m->n_warmup);
    cJSON_AddNumberToObject(l, "requests_early_stop", (double)m->n_early_stop);
    cJSON_AddNumberToObject(l, "requests_excluded_window", (double)m->n_excluded_window);
    cJSON *bc = cJSON_AddObjectToObject(l, "by_class");
    for (int c = 0; c < REQ_CLASS_COUNT; c++)
        if (m->by_class[c])
            cJSON_AddNumberToObject(bc, req_class_name(c), (double)m->by_class[c]);
    add_dist(l, "ttft_ms", &m->ttft_ms);
    add_dist(l, "tpot_ms", &m->tpot_ms);
    add_dist(l, "itl_ms", &m->itl_ms);
    add_dist(l, "itl_token_ms", &m->itl_token_ms);
    add_dist(l, "e2e_ms", &m->e2e_ms);
    add_dist(l, "queue_ms", &m->queue_ms);
    add_dist(l, "schedule_lag_ms", &m->queue_ms);
    add_dist(l, "ttft_sched_ms", &m->ttft_sched_ms);
    add_dist(l, "e2e_sched_ms", &m->e2e_sched_ms);
    add_num(l, "output_tokens", m->output_tokens);
    add_num(l, "output_tok_s", m->output_tps);
    add_num(l, "total_tok_s", m->total_tps);
    add_num(l, "requests_s", m->req_per_s);
    add_num(l, "error_rate", m->error_rate);
    add_num(l, "duration_s", m->duration_s);
    cJSON_AddNumberToObject(l, "chunks", (double)m->chunks);
    cJSON_AddBoolToObject(l, "tokens_from_usage", m->n_usage == m->n_ok);
    cJSON_AddBoolToObject(l, "chunks_ne_tokens", m->chunks_ne_tokens);
    const level_client *c = &m->client;
    if (c->present) {
        cJSON *o = cJSON_AddObjectToObject(l, "client");
        cJSON_AddNumberToObject(o, "threads", c->threads);
        cJSON_AddNumberToObject(o, "cores", c->cores);
        add_num(o, "wall_s", c->wall_s);
        add_num(o, "cpu_s", c->cpu_s);
        add_num(o, "cpu_busiest", c->cpu_busiest);
        add_num(o, "process_cpu_s", c->process_cpu_s);
        add_num(o, "loop_lag_p50_ms", c->loop_lag_p50_ms);
        add_num(o, "loop_lag_p99_ms", c->loop_lag_p99_ms);
        add_num(o, "loop_wakeups", c->wakeups);
        add_num(o, "loop_lag_max_ms", c->loop_lag_max_ms);
        if (c->transport[0]) {
            cJSON_AddStringToObject(o, "transport", c->transport);
            add_num(o, "kernel_stamped", c->kernel_stamped);
            add_num(o, "read_pauses", c->pauses);
            add_num(o, "io_uring_reads", c->ring_reads);
        }
        cJSON_AddNumberToObject(o, "peak_inflight", c->peak_inflight);
        cJSON_AddStringToObject(o, "warning", c->warning);
    } else {
        cJSON_AddNullToObject(l, "client");
    }
    if (m->has_slo) {
        cJSON_AddNumberToObject(l, "good_requests", (double)m->n_good);
        add_num(l, "good_requests_s", m->good_req_per_s);
        add_num(l, "good_fraction", m->good_fraction);
    }
    return l;
}

char *summary_json(const run_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "harness_version", BENCH_VERSION);
    cJSON_AddStringToObject(o, "model", s->model);
    cJSON_AddStringToObject(o, "served_model", s->served_model);
    cJSON_AddStringToObject(o, "endpoint", s->endpoint);
    cJSON_AddStringToObject(o, "endpoint_kind", s->endpoint_kind);
    cJSON_AddStringToObject(o, "api", s->api);
    cJSON_AddStringToObject(o, "tls_verify", s->tls_verify[0] ? s->tls_verify : "system");
    cJSON_AddStringToObject(o, "created_utc", s->created_utc);
    cJSON_AddStringToObject(o, "results_file", s->results_path);
    cJSON_AddBoolToObject(o, "interrupted", s->interrupted);
    cJSON *levels = cJSON_AddArrayToObject(o, "levels");
    for (size_t i = 0; i < s->n_levels; i++)
        cJSON_AddItemToArray(levels, summary_level_json(&s->levels[i]));
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
