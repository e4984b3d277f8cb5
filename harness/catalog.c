#include "catalog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "fileio.h"

struct catalog {
    catalog_model *models;
    size_t n;
};

/* Read a number field that may be null/absent (-> NAN) but, when present,
 * must be a finite non-negative number. */
static bench_status opt_number(const cJSON *obj, const char *key, double *out, const char *where,
                               bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        *out = NAN;
        return BENCH_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return bench_fail(err, BENCH_EINPUT, "%s: \"%s\" must be a non-negative number or null",
                          where, key);
    *out = v->valuedouble;
    return BENCH_OK;
}

static bench_status req_number(const cJSON *obj, const char *key, double *out, const char *where,
                               bench_err *err)
{
    bench_status st = opt_number(obj, key, out, where, err);
    if (st == BENCH_OK && isnan(*out))
        return bench_fail(err, BENCH_EINPUT, "%s: \"%s\" is required", where, key);
    return st;
}

static bench_status req_string(const cJSON *obj, const char *key, char **out, const char *where,
                               bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return bench_fail(err, BENCH_EINPUT, "%s: \"%s\" must be a non-empty string", where, key);
    *out = strdup(v->valuestring);
    return *out ? BENCH_OK : bench_fail(err, BENCH_ENOMEM, "%s: out of memory", where);
}

static bench_status parse_model(const cJSON *m, const cJSON *defaults, catalog_model *cm,
                                const char *origin, size_t idx, bench_err *err)
{
    char where[256];
    bench_status st;
    snprintf(where, sizeof where, "%s: models[%zu]", origin, idx);
    if (!cJSON_IsObject(m))
        return bench_fail(err, BENCH_EINPUT, "%s: must be an object", where);
    if ((st = req_string(m, "name", &cm->name, where, err)))
        return st;
    snprintf(where, sizeof where, "%s: model \"%s\"", origin, cm->name);
    if ((st = req_string(m, "served_id", &cm->served_id, where, err)))
        return st;
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(m, "family");
    cm->family = strdup(cJSON_IsString(fam) ? fam->valuestring : "");
    if (!cm->family)
        return bench_fail(err, BENCH_ENOMEM, "%s: out of memory", where);
    double ctx;
    if ((st = req_number(m, "context", &ctx, where, err)))
        return st;
    if (ctx < 1 || ctx > 1e8 || ctx != floor(ctx))
        return bench_fail(err, BENCH_EINPUT, "%s: \"context\" must be a positive integer", where);
    cm->context = (int)ctx;
    if ((st = req_number(m, "params_b", &cm->params_b, where, err)))
        return st;
    if ((st = opt_number(m, "active_b", &cm->active_b, where, err)))
        return st;
    if (isnan(cm->active_b))
        cm->active_b = cm->params_b;

    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(m, "published");
    catalog_published *p = &cm->published;
    p->ttft_p50_ms = p->ttft_p99_ms = p->tps_c1 = p->tps_c8 = NAN;
    p->mmlu = p->humaneval = p->mtbench = NAN;
    if (pub) {
        char w2[300];
        snprintf(w2, sizeof w2, "%s: published", where);
        if (!cJSON_IsObject(pub))
            return bench_fail(err, BENCH_EINPUT, "%s: must be an object", w2);
        if ((st = opt_number(pub, "ttft_p50_ms", &p->ttft_p50_ms, w2, err)) ||
            (st = opt_number(pub, "ttft_p99_ms", &p->ttft_p99_ms, w2, err)) ||
            (st = opt_number(pub, "tps_c1", &p->tps_c1, w2, err)) ||
            (st = opt_number(pub, "tps_c8", &p->tps_c8, w2, err)) ||
            (st = opt_number(pub, "mmlu", &p->mmlu, w2, err)) ||
            (st = opt_number(pub, "humaneval", &p->humaneval, w2, err)) ||
            (st = opt_number(pub, "mtbench", &p->mtbench, w2, err)))
            return st;
    }

    const cJSON *sim = cJSON_GetObjectItemCaseSensitive(m, "sim");
    char w3[300];
    snprintf(w3, sizeof w3, "%s: sim", where);
    if (!cJSON_IsObject(sim))
        return bench_fail(err, BENCH_EINPUT, "%s: missing or not an object", w3);
    catalog_sim *s = &cm->sim;
    double d;
    if ((st = req_number(sim, "ttft_p50_ms", &s->ttft_p50_ms, w3, err)) ||
        (st = req_number(sim, "ttft_p99_ms", &s->ttft_p99_ms, w3, err)) ||
        (st = req_number(sim, "tps_c1", &s->tps_c1, w3, err)) ||
        (st = req_number(sim, "tps_c8", &s->tps_c8, w3, err)) ||
        (st = opt_number(sim, "mmlu", &s->mmlu, w3, err)) ||
        (st = opt_number(sim, "humaneval", &s->humaneval, w3, err)) ||
        (st = opt_number(sim, "mtbench", &s->mtbench, w3, err)))
        return st;
    if (s->ttft_p50_ms <= 0 || s->ttft_p99_ms < s->ttft_p50_ms)
        return bench_fail(err, BENCH_EINPUT, "%s: need 0 < ttft_p50_ms <= ttft_p99_ms", w3);
    if (s->tps_c1 <= 0 || s->tps_c8 < s->tps_c1)
        return bench_fail(err, BENCH_EINPUT, "%s: need 0 < tps_c1 <= tps_c8", w3);
    const cJSON *srcs[2] = {sim, defaults};
    s->calib_output_tokens = 128;
    s->calib_input_tokens = 256;
    s->prefill_load_factor = 0.05;
    for (int k = 1; k >= 0; k--) {
        if (!srcs[k])
            continue;
        if ((st = opt_number(srcs[k], "calib_output_tokens", &d, w3, err)))
            return st;
        if (!isnan(d))
            s->calib_output_tokens = (int)d;
        if ((st = opt_number(srcs[k], "calib_input_tokens", &d, w3, err)))
            return st;
        if (!isnan(d))
            s->calib_input_tokens = (int)d;
        if ((st = opt_number(srcs[k], "prefill_load_factor", &d, w3, err)))
            return st;
        if (!isnan(d))
            s->prefill_load_factor = d;
    }
    if (s->calib_output_tokens < 2)
        return bench_fail(err, BENCH_EINPUT, "%s: calib_output_tokens must be >= 2", w3);
    return BENCH_OK;
}

static void model_free(catalog_model *m)
{
    free(m->name);
    free(m->served_id);
    free(m->family);
}

void catalog_destroy(catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        model_free(&c->models[i]);
    free(c->models);
    free(c);
}

bench_status catalog_parse(const char *json, const char *origin, catalog **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    catalog *c = NULL;
    *out = NULL;
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        st = bench_fail(err, BENCH_EINPUT, "%s: not valid JSON (near byte %td)", origin,
                        cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : (ptrdiff_t)0);
        goto out;
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!cJSON_IsArray(models) || cJSON_GetArraySize(models) == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: \"models\" must be a non-empty array", origin);
        goto out;
    }
    const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(root, "sim_defaults");
    c = calloc(1, sizeof *c);
    size_t n = (size_t)cJSON_GetArraySize(models);
    if (!c || !(c->models = calloc(n, sizeof *c->models))) {
        st = bench_fail(err, BENCH_ENOMEM, "%s: out of memory", origin);
        goto out;
    }
    const cJSON *m;
    size_t i = 0;
    cJSON_ArrayForEach(m, models)
    {
        c->n = i + 1; /* so destroy frees the partially filled entry */
        if ((st = parse_model(m, defaults, &c->models[i], origin, i, err)))
            goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->models[j].name, c->models[i].name) == 0) {
                st = bench_fail(err, BENCH_EINPUT, "%s: model \"%s\" listed twice", origin,
                                c->models[i].name);
                goto out;
            }
        i++;
    }
    *out = c;
    c = NULL;
out:
    catalog_destroy(c);
    cJSON_Delete(root);
    return st;
}

bench_status catalog_load(const char *path, catalog **out, bench_err *err)
{
    char *text = NULL;
    *out = NULL;
    bench_status st = file_read_all(path, 16u << 20, &text, NULL, err);
    if (st)
        return st;
    st = catalog_parse(text, path, out, err);
    free(text);
    return st;
}

const catalog_model *catalog_find(const catalog *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->models[i].name, name) == 0)
            return &c->models[i];
    return NULL;
}

size_t catalog_count(const catalog *c)
{
    return c->n;
}

const catalog_model *catalog_at(const catalog *c, size_t i)
{
    return i < c->n ? &c->models[i] : NULL;
}

char *catalog_names(const catalog *c)
{
    dynbuf b;
    dynbuf_init(&b, 1u << 16);
    for (size_t i = 0; i < c->n; i++)
        if (dynbuf_addf(&b, "%s%s", i ? ", " : "", c->models[i].name) != BENCH_OK)
            break;
    return dynbuf_steal(&b);
}
