#include "suite.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "compare.h"
#include "config.h"
#include "endpoint.h"
#include "eval.h"
#include "fileio.h"
#include "history.h"
#include "report.h"
#include "run.h"
#include "summary.h"
#include "version.h"

#define SUITE_MAX_MODELS 64

typedef struct {
    char name[128];
    char endpoint[512];     /* "" = embedded simulator */
    char served_model[256]; /* "" = catalog's */
    /* MT-Bench's judge for this model, from the endpoint map ("" = none) */
    char judge_endpoint[512];
    char judge_model[256];
    char judge_key_env[128];
} suite_model;

typedef struct {
    char name[64];
    run_config run; /* template for every model */
    suite_model models[SUITE_MAX_MODELS];
    size_t n_models;
    metrics_slo slo;
    double steady;
    eval_config evals[8]; /* templates: strings owned, model/endpoint/output unset */
    size_t n_evals;
    char slo_spec[256];      /* report.slo as written, for the comparison */
    char baseline[PATH_MAX]; /* "" = no comparison */
    char thresholds[PATH_MAX];
    char history[PATH_MAX]; /* "" = no history */
} suite;

static bench_status num_field(const cJSON *o, const char *key, double lo, double hi, double *out,
                              const char *where, bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return BENCH_OK;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return bench_fail(err, BENCH_EINPUT, "%s: \"%s\" must be a number in [%g, %g]", where, key,
                          lo, hi);
    *out = v->valuedouble;
    return BENCH_OK;
}

/* Resolve "$VAR" to the variable's value; other strings as given. */
static bench_status resolve(const char *v, char *out, size_t outsz, const char *where,
                            bench_err *err)
{
    if (v[0] == '$') {
        const char *e = getenv(v + 1);
        if (!e || !*e)
            return bench_fail(err, BENCH_EINPUT, "%s: environment variable %s is not set", where,
                              v + 1);
        v = e;
    }
    if (strlen(v) >= outsz)
        return bench_fail(err, BENCH_EINPUT, "%s: value too long", where);
    snprintf(out, outsz, "%s", v);
    return BENCH_OK;
}

/* Apply an endpoint map: {"model": "URL" | "$VAR" | {"endpoint": ..., "served_model": ...}}. */
static bench_status apply_map(suite *s, const char *path, bench_err *err)
{
    char *text = NULL;
    bench_status st = file_read_all(path, 1 << 20, &text, NULL, err);
    if (st) /* a map that cannot be read is a bad flag value (exit status 2) */
        return st == BENCH_EIO ? BENCH_EUSAGE : st;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bench_fail(err, BENCH_EINPUT, "%s: not a JSON object of model -> endpoint", path);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        suite_model *m = NULL;
        for (size_t i = 0; i < s->n_models; i++)
            if (strcmp(s->models[i].name, e->string) == 0)
                m = &s->models[i];
        char where[300];
        snprintf(where, sizeof where, "%s: \"%s\"", path, e->string);
        if (!m) {
            st = bench_fail(err, BENCH_EINPUT, "%s is not a model of suite %s", where, s->name);
            break;
        }
        const cJSON *url = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "endpoint") : e;
        const cJSON *sm =
            cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "served_model") : NULL;
        if (!cJSON_IsString(url)) {
            st = bench_fail(err, BENCH_EINPUT, "%s: want a URL string or {\"endpoint\": ...}",
                            where);
            break;
        }
        if ((st = resolve(url->valuestring, m->endpoint, sizeof m->endpoint, where, err)))
            break;
        if (cJSON_IsString(sm) &&
            (st = resolve(sm->valuestring, m->served_model, sizeof m->served_model, where, err)))
            break;
        /* MT-Bench's judge, kept here so that the suite file needs no
         * variable when it runs on the embedded simulator */
        const cJSON *je =
            cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "judge_endpoint") : NULL;
        const cJSON *jm =
            cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "judge_model") : NULL;
        const cJSON *jk =
            cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "judge_api_key_env") : NULL;
        if ((je && !cJSON_IsString(je)) || (jm && !cJSON_IsString(jm)) ||
            (jk && !cJSON_IsString(jk)) || (!je != !jm)) {
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: \"judge_endpoint\" and \"judge_model\" go together, as "
                            "strings (\"judge_api_key_env\": a variable name)",
                            where);
            break;
        }
        if (je &&
            ((st = resolve(je->valuestring, m->judge_endpoint, sizeof m->judge_endpoint, where,
                           err)) ||
             (st = resolve(jm->valuestring, m->judge_model, sizeof m->judge_model, where, err))))
            break;
        if (jk && snprintf(m->judge_key_env, sizeof m->judge_key_env, "%s", jk->valuestring) >=
                      (int)sizeof m->judge_key_env) {
            st = bench_fail(err, BENCH_EINPUT, "%s: \"judge_api_key_env\" too long", where);
            break;
        }
    }
    cJSON_Delete(root);
    return st;
}

/* A string member of an evaluation entry into *dst (owned). */
static bench_status eval_str(const cJSON *o, const char *key, char **dst, const char *where,
                             bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return BENCH_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return bench_fail(err, BENCH_EINPUT, "%s: \"%s\" must be a non-empty string", where, key);
    char buf[1024];
    bench_status st = resolve(v->valuestring, buf, sizeof buf, where, err);
    if (st)
        return st;
    free(*dst);
    *dst = strdup(buf);
    return *dst ? BENCH_OK : bench_fail(err, BENCH_ENOMEM, "out of memory");
}

/* A member of object o that the suite format does not have (a typo such as
 * "concurency" would otherwise be ignored and the run's default used):
 * BENCH_EINPUT naming it, where, and the members allowed. known: NULL-ended. */
static bench_status unknown_keys(const cJSON *o, const char *const *known, const char *where,
                                 bench_err *err)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = m->string && strcmp(m->string, *k) == 0;
        if (ok)
            continue;
        char list[512];
        size_t at = 0;
        list[0] = '\0';
        for (const char *const *k = known; *k && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", at ? ", " : "", *k);
        return bench_fail(err, BENCH_EINPUT, "%s: unknown member \"%s\" (known: %s)", where,
                          m->string ? m->string : "?", list);
    }
    return BENCH_OK;
}

/* "evaluations": [{"eval": "mmlu", "limit": 20, ...}, ...] (docs/SUITES.md). */
static bench_status load_evals(const cJSON *arr, const char *path, suite *s, bench_err *err)
{
    bench_status st = BENCH_OK;
    if (!arr)
        return BENCH_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 8)
        return bench_fail(err, BENCH_EINPUT,
                          "%s: \"evaluations\" must be an array of at most 8 "
                          "entries",
                          path);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        char where[600];
        snprintf(where, sizeof where, "%s: evaluations[%zu]", path, s->n_evals);
        eval_config *c = &s->evals[s->n_evals];
        eval_config_defaults(c);
        s->n_evals++;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "eval");
        if (!cJSON_IsObject(e) || !cJSON_IsString(name) ||
            (strcmp(name->valuestring, "mmlu") && strcmp(name->valuestring, "humaneval") &&
             strcmp(name->valuestring, "mtbench")))
            return bench_fail(err, BENCH_EINPUT,
                              "%s: must be an object with \"eval\": mmlu, humaneval or mtbench",
                              where);
        static const char *const eval_keys[] = {"eval",        "method",  "split", "judge_endpoint",
                                                "judge_model", "api",     "limit", "concurrency",
                                                "shots",       "samples", NULL};
        if ((st = unknown_keys(e, eval_keys, where, err)))
            return st;
        double v;
        if ((st = eval_str(e, "eval", &c->eval, where, err)) ||
            (st = eval_str(e, "method", &c->method, where, err)) ||
            (st = eval_str(e, "split", &c->split, where, err)) ||
            (st = eval_str(e, "judge_endpoint", &c->judge_endpoint, where, err)) ||
            (st = eval_str(e, "judge_model", &c->judge_model, where, err)))
            return st;
        if (c->method && strcmp(c->method, "logprobs") && strcmp(c->method, "generative") &&
            strcmp(c->method, "cot"))
            return bench_fail(err, BENCH_EINPUT,
                              "%s: \"method\" must be logprobs, generative "
                              "or cot",
                              where);
        const cJSON *api = cJSON_GetObjectItemCaseSensitive(e, "api");
        if (api) {
            if (cJSON_IsString(api) && strcmp(api->valuestring, "chat") == 0)
                c->api = OAI_CHAT;
            else if (cJSON_IsString(api) && strcmp(api->valuestring, "completions") == 0)
                c->api = OAI_COMPLETIONS;
            else
                return bench_fail(err, BENCH_EINPUT, "%s: \"api\" must be chat or completions",
                                  where);
        }
        v = 0;
        if ((st = num_field(e, "limit", 0, 1e8, &v, where, err)))
            return st;
        c->limit = (long)v;
        v = c->concurrency;
        if ((st = num_field(e, "concurrency", 1, 4096, &v, where, err)))
            return st;
        c->concurrency = (int)v;
        v = c->shots;
        if ((st = num_field(e, "shots", 0, 5, &v, where, err)))
            return st;
        c->shots = (int)v;
        v = c->samples;
        if ((st = num_field(e, "samples", 1, 1000, &v, where, err)))
            return st;
        c->samples = (int)v;
    }
    return BENCH_OK;
}

/* A path member of the suite ("baseline", "thresholds", "history"): "$VAR"
 * is read from the environment, a relative path is taken from the project
 * root. Absent: out = "". */
static bench_status root_path(const cJSON *root, const char *key, char *out, size_t outsz,
                              const char *path, bench_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    char where[PATH_MAX + 64], buf[PATH_MAX];
    out[0] = '\0';
    if (!v)
        return BENCH_OK;
    snprintf(where, sizeof where, "%s: \"%s\"", path, key);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return bench_fail(err, BENCH_EINPUT, "%s must be a non-empty path", where);
    bench_status st = resolve(v->valuestring, buf, sizeof buf, where, err);
    if (st)
        return st;
    if (buf[0] == '/')
        snprintf(out, outsz, "%s", buf);
    else
        file_in_root(buf, out, outsz);
    return BENCH_OK;
}

/* Parse and check a suite file's text (NUL-terminated; path names it in
 * messages) into s. On failure s may hold strings: free them as on success
 * (suite_free_strings). */
static bench_status suite_parse(const char *text, const char *path, suite *s, bench_err *err)
{
    cJSON *root = NULL;
    bench_status st = BENCH_OK;
    memset(s, 0, sizeof *s);
    config_defaults(&s->run);
    s->slo.ttft_ms = s->slo.tpot_ms = s->slo.e2e_ms = NAN;
    root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        st = bench_fail(err, BENCH_EINPUT, "%s: not a JSON object", path);
        goto out;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "bench-suite") != 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: \"format\" must be \"bench-suite\"", path);
        goto out;
    }
    static const char *const root_keys[] = {"format",   "version",    "name",        "description",
                                            "run",      "models",     "evaluations", "report",
                                            "baseline", "thresholds", "history",     NULL};
    if ((st = unknown_keys(root, root_keys, path, err)))
        goto out;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    snprintf(s->name, sizeof s->name, "%s", cJSON_IsString(name) ? name->valuestring : "suite");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    char where[512];
    snprintf(where, sizeof where, "%s: run", path);
    if (run) {
        static const char *const run_keys[] = {
            "concurrency", "rate",   "arrival",      "max_concurrency",
            "requests",    "warmup", "input_tokens", "output_tokens",
            "seed",        "api",    "sim_slowdown", NULL};
        if (!cJSON_IsObject(run)) {
            st = bench_fail(err, BENCH_EINPUT, "%s: must be an object", where);
            goto out;
        }
        if ((st = unknown_keys(run, run_keys, where, err)))
            goto out;
        double v;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(run, "concurrency");
        char levels[32];
        if (cJSON_IsNumber(c) && c->valuedouble >= 1 && c->valuedouble <= CONFIG_MAX_CONCURRENCY &&
            c->valuedouble == floor(c->valuedouble))
            snprintf(levels, sizeof levels, "%d", (int)c->valuedouble); /* "concurrency": 8 */
        else if (c && !cJSON_IsString(c)) {
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: \"concurrency\" must be a level or a string such as \"1-8\" or "
                            "\"1,2,4,8\"",
                            where);
            goto out;
        }
        if (c && (st = config_parse_levels(cJSON_IsString(c) ? c->valuestring : levels,
                                           "concurrency", s->run.levels, &s->run.n_levels, err))) {
            bench_wrap(err, BENCH_EINPUT, "%s", where);
            st = BENCH_EINPUT;
            goto out;
        }
        /* Open loop: "rate" (a number or a string as --rate), "arrival",
         * "max_concurrency", as bench run; not with "concurrency". */
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(run, "rate");
        if (rt && c) {
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: \"rate\" and \"concurrency\" exclude each other (open or "
                            "closed loop): give one",
                            where);
            goto out;
        }
        if (rt) {
            char rates[64];
            if (cJSON_IsNumber(rt))
                snprintf(rates, sizeof rates, "%.17g", rt->valuedouble); /* "rate": 2.5 */
            else if (!cJSON_IsString(rt)) {
                st = bench_fail(err, BENCH_EINPUT,
                                "%s: \"rate\" must be a rate or a string such as \"1,2,4\"", where);
                goto out;
            }
            if ((st = config_parse_rates(cJSON_IsString(rt) ? rt->valuestring : rates, "rate",
                                         s->run.rates, &s->run.n_rates, err))) {
                st = bench_wrap(err, BENCH_EINPUT, "%s", where);
                goto out;
            }
        }
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(run, "arrival");
        if (arr && (!rt || !cJSON_IsString(arr))) {
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: \"arrival\" must be a string (poisson, constant, gamma:SHAPE) "
                            "and goes with \"rate\"",
                            where);
            goto out;
        }
        if (arr && schedule_parse_arrival(arr->valuestring, "arrival", &s->run.arrival, err)) {
            st = bench_wrap(err, BENCH_EINPUT, "%s", where);
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(run, "max_concurrency") && !rt) {
            st = bench_fail(err, BENCH_EINPUT, "%s: \"max_concurrency\" goes with \"rate\"", where);
            goto out;
        }
        v = 0;
        if ((st = num_field(run, "max_concurrency", 1, CONFIG_MAX_CONCURRENCY, &v, where, err)))
            goto out;
        s->run.max_concurrency = (int)v;
        /* "requests": a number, or "N,cL=M" as bench run --requests */
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(run, "requests");
        if (cJSON_IsString(rq)) {
            if ((st = config_parse_requests(rq->valuestring, &s->run, err))) {
                st = bench_wrap(err, BENCH_EINPUT, "%s", where);
                goto out;
            }
        } else {
            v = (double)s->run.requests;
            if ((st = num_field(run, "requests", 1, 1e8, &v, where, err)))
                goto out;
            s->run.requests = (long)v;
        }
        v = (double)s->run.warmup;
        if ((st = num_field(run, "warmup", 0, 1e6, &v, where, err)))
            goto out;
        s->run.warmup = (long)v;
        v = s->run.input_tokens;
        if ((st = num_field(run, "input_tokens", 1, 1e7, &v, where, err)))
            goto out;
        s->run.input_tokens = (int)v;
        v = s->run.output_tokens;
        if ((st = num_field(run, "output_tokens", 1, 1e7, &v, where, err)))
            goto out;
        s->run.output_tokens = (int)v;
        v = (double)s->run.seed;
        if ((st = num_field(run, "seed", 0, 9e15, &v, where, err)))
            goto out;
        s->run.seed = (uint64_t)v;
        v = s->run.sim_slowdown;
        if ((st = num_field(run, "sim_slowdown", 0.01, 1000, &v, where, err)))
            goto out;
        s->run.sim_slowdown = v;
        const cJSON *api = cJSON_GetObjectItemCaseSensitive(run, "api");
        if (api) {
            if (cJSON_IsString(api) && strcmp(api->valuestring, "chat") == 0)
                s->run.api = OAI_CHAT;
            else if (cJSON_IsString(api) && strcmp(api->valuestring, "completions") == 0)
                s->run.api = OAI_COMPLETIONS;
            else {
                st =
                    bench_fail(err, BENCH_EINPUT, "%s: \"api\" must be chat or completions", where);
                goto out;
            }
        }
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!cJSON_IsArray(models) || cJSON_GetArraySize(models) < 1 ||
        cJSON_GetArraySize(models) > SUITE_MAX_MODELS) {
        st = bench_fail(err, BENCH_EINPUT, "%s: \"models\" must be an array of 1 to %d names", path,
                        SUITE_MAX_MODELS);
        goto out;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, models)
    {
        if (!cJSON_IsString(m) || !m->valuestring[0] || strlen(m->valuestring) >= 128 ||
            strchr(m->valuestring, '/')) {
            st = bench_fail(err, BENCH_EINPUT, "%s: models[%zu] must be a model name", path,
                            s->n_models);
            goto out;
        }
        snprintf(s->models[s->n_models++].name, 128, "%s", m->valuestring);
    }
    if ((st = load_evals(cJSON_GetObjectItemCaseSensitive(root, "evaluations"), path, s, err)))
        goto out;
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "report");
    if (rep) {
        static const char *const report_keys[] = {"slo", "steady_state", NULL};
        snprintf(where, sizeof where, "%s: report", path);
        if ((st = unknown_keys(rep, report_keys, where, err)))
            goto out;
        const cJSON *slo = cJSON_GetObjectItemCaseSensitive(rep, "slo");
        if (cJSON_IsString(slo) && slo->valuestring[0] &&
            (st = metrics_parse_slo(slo->valuestring, &s->slo, err))) {
            st = bench_wrap(err, BENCH_EINPUT, "%s: report", path);
            goto out;
        }
        snprintf(where, sizeof where, "%s: report", path);
        if ((st = num_field(rep, "steady_state", 0, 0.45, &s->steady, where, err)))
            goto out;
        if (cJSON_IsString(slo))
            snprintf(s->slo_spec, sizeof s->slo_spec, "%s", slo->valuestring);
    }
    if ((st = root_path(root, "baseline", s->baseline, sizeof s->baseline, path, err)) ||
        (st = root_path(root, "thresholds", s->thresholds, sizeof s->thresholds, path, err)) ||
        (st = root_path(root, "history", s->history, sizeof s->history, path, err)))
        goto out;
    if (s->baseline[0] && !cJSON_GetObjectItemCaseSensitive(root, "history"))
        file_in_root("results/history", s->history, sizeof s->history);
out:
    cJSON_Delete(root);
    return st;
}

static bench_status suite_load(const char *path, suite *s, bench_err *err)
{
    char *text = NULL;
    bench_status st = file_read_all(path, 4 << 20, &text, NULL, err);
    if (st) /* a suite file that cannot be read is a bad argument (exit status 2) */
        return st == BENCH_EIO ? BENCH_EUSAGE : st;
    st = suite_parse(text, path, s, err);
    free(text);
    return st;
}

/* What the runs would refuse one by one, refused before the first starts:
 * a model with no endpoint must be in the catalog, and every endpoint (the
 * map's, the evaluations' judges) must be a URL endpoint_open accepts. path
 * and map (NULL when none) name the files in messages. */
static bench_status suite_check_models(const suite *s, const char *path, const char *map,
                                       bench_err *err)
{
    char cpath[PATH_MAX], where[PATH_MAX + 300], url[512];
    catalog *cat = NULL;
    bench_status st = BENCH_OK;
    const char *catalog_path = s->run.catalog_path
                                   ? s->run.catalog_path
                                   : file_in_root("suites/models.json", cpath, sizeof cpath);
    for (size_t i = 0; !st && i < s->n_models; i++) {
        const suite_model *m = &s->models[i];
        snprintf(where, sizeof where, "%s: \"%s\": endpoint", map ? map : path, m->name);
        if (m->endpoint[0]) {
            st = endpoint_check_url(m->endpoint, where, url, sizeof url, err);
        } else if (!cat && (st = catalog_load(catalog_path, &cat, err)) != BENCH_OK) {
            break;
        } else if (!catalog_find(cat, m->name)) {
            char *names = catalog_names(cat);
            st = bench_fail(err, BENCH_EINPUT,
                            "%s: models[%zu]: '%s' is not in the catalog %s (known: %s); map it to "
                            "an endpoint with --endpoint-map",
                            path, i, m->name, catalog_path, names ? names : "?");
            free(names);
        }
        snprintf(where, sizeof where, "%s: \"%s\": judge_endpoint", map ? map : path, m->name);
        if (!st && m->judge_endpoint[0])
            st = endpoint_check_url(m->judge_endpoint, where, url, sizeof url, err);
    }
    for (size_t k = 0; !st && k < s->n_evals; k++) {
        snprintf(where, sizeof where, "%s: evaluations[%zu]: judge_endpoint", path, k);
        if (s->evals[k].judge_endpoint)
            st = endpoint_check_url(s->evals[k].judge_endpoint, where, url, sizeof url, err);
    }
    catalog_destroy(cat);
    /* a bad value in a file the user gave: exit status 2 */
    return st == BENCH_EUSAGE ? BENCH_EINPUT : st;
}

/* The strings s owns (its run template's and its evaluations'). */
static void suite_free_strings(suite *s)
{
    config_free(&s->run);
    for (size_t k = 0; k < s->n_evals; k++)
        eval_config_free(&s->evals[k]);
}

bench_status suite_check_text(const char *json, const char *origin, const char *map_path,
                              bench_err *err)
{
    suite *s = calloc(1, sizeof *s);
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    bench_status st = suite_parse(json, origin, s, err);
    if (!st && map_path)
        st = apply_map(s, map_path, err);
    if (!st)
        st = suite_check_models(s, origin, map_path, err);
    suite_free_strings(s);
    free(s);
    return st;
}

/* Does dir hold a *.h5 file (a baseline to compare with)? */
static int has_results(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        found = n > 3 && strcmp(de->d_name + n - 3, ".h5") == 0;
    }
    closedir(d);
    return found;
}

static bench_status write_compare_file(const compare_result *res, compare_format fmt,
                                       const char *path, bench_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return bench_fail(err, BENCH_EIO, "%s: cannot create: %s", path, strerror(errno));
    bench_status st = compare_write(res, fmt, f, err);
    if (fclose(f) != 0 && !st)
        st = bench_fail(err, BENCH_EIO, "%s: cannot write: %s", path, strerror(errno));
    return st;
}

/* Compare the run in dir with baseline: DIR/compare.md, compare.json and
 * compare.xml (JUnit), the text table on stderr. *regs (the caller's)
 * receives the regressions as [{"model", "level" | "eval", "metric",
 * "change"}]. */
static bench_status suite_compare(const suite *s, const char *baseline, const char *dir,
                                  cJSON **regs, compare_counts *counts, bench_err *err)
{
    compare_opts co;
    compare_result res;
    char path[PATH_MAX];
    static const struct {
        compare_format fmt;
        const char *name;
    } outs[] = {{CMP_MD, "compare.md"}, {CMP_JSON, "compare.json"}, {CMP_JUNIT, "compare.xml"}};
    compare_opts_default(&co);
    co.thresholds_path = s->thresholds[0] ? s->thresholds : NULL;
    co.slo = s->slo_spec[0] ? s->slo_spec : NULL;
    *regs = NULL;
    bench_status st = compare_run(baseline, dir, &co, &res, err);
    if (st)
        return st;
    for (size_t i = 0; i < sizeof outs / sizeof outs[0] && !st; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, outs[i].name);
        st = write_compare_file(&res, outs[i].fmt, path, err);
    }
    if (!st)
        st = compare_write(&res, CMP_TEXT, stderr, err);
    cJSON *arr = st ? NULL : cJSON_CreateArray();
    if (!st && !arr)
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
    for (size_t i = 0; i < res.n_rows && !st; i++) {
        const compare_row *r = &res.rows[i];
        if (r->verdict != CMP_REGRESSION)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            break;
        }
        cJSON_AddStringToObject(o, "model", r->model);
        char *end;
        long level = r->scope[0] == 'c' ? strtol(r->scope + 1, &end, 10) : 0;
        if (level > 0 && *end == '\0')
            cJSON_AddNumberToObject(o, "level", (double)level);
        else
            cJSON_AddStringToObject(o, "eval", r->scope);
        cJSON_AddStringToObject(o, "metric", compare_metric_key(r->metric));
        if (isfinite(r->change))
            cJSON_AddNumberToObject(o, "change", r->change);
    }
    if (!st) {
        *counts = res.counts;
        *regs = arr;
        arr = NULL;
    }
    cJSON_Delete(arr);
    compare_result_free(&res);
    return st;
}

/* The history entry of this run (history.h). Takes headline and regs. */
static cJSON *run_entry(const suite *s, const char *dir, cJSON *headline, const char *baseline,
                        cJSON *regs, const char *status)
{
    char now[32], commit[72], abs_dir[PATH_MAX], url[600];
    int dirty;
    cJSON *e = cJSON_CreateObject();
    if (!e) {
        cJSON_Delete(headline);
        cJSON_Delete(regs);
        return NULL;
    }
    history_now(now);
    history_git(file_project_root(), commit, &dirty);
    if (!realpath(dir, abs_dir))
        snprintf(abs_dir, sizeof abs_dir, "%s", dir);
    cJSON_AddStringToObject(e, "event", "run");
    cJSON_AddStringToObject(e, "date", now);
    cJSON_AddStringToObject(e, "suite", s->name);
    cJSON_AddStringToObject(e, "run_dir", abs_dir);
    cJSON_AddStringToObject(e, "git_commit", commit);
    cJSON_AddItemToObject(e, "git_dirty", dirty < 0 ? cJSON_CreateNull() : cJSON_CreateBool(dirty));
    cJSON_AddStringToObject(e, "harness_version", BENCH_VERSION);
    cJSON *eps = cJSON_AddObjectToObject(e, "endpoints");
    for (size_t i = 0; i < s->n_models; i++) {
        history_clean_url(s->models[i].endpoint, url, sizeof url);
        cJSON_AddStringToObject(eps, s->models[i].name,
                                s->models[i].endpoint[0] ? url : "simulated");
    }
    cJSON_AddItemToObject(e, "headline", headline ? headline : cJSON_CreateObject());
    cJSON_AddItemToObject(e, "baseline",
                          baseline ? cJSON_CreateString(baseline) : cJSON_CreateNull());
    if (regs) {
        char cj[PATH_MAX + 16];
        snprintf(cj, sizeof cj, "%s/compare.json", abs_dir);
        cJSON *c = cJSON_AddObjectToObject(e, "compare");
        cJSON_AddStringToObject(c, "path", cj);
        cJSON_AddItemToObject(c, "regressions", regs);
    } else {
        cJSON_AddNullToObject(e, "compare");
    }
    cJSON_AddStringToObject(e, "status", status);
    return e;
}

static const char suite_usage[] =
    "usage: bench suite FILE.json [--endpoint-map FILE] [--out DIR] [--json]\n"
    "                             [--no-compare] [--history DIR]\n"
    "\n"
    "Run every model of a suite (docs/SUITES.md) through its sweep into one\n"
    "directory, then write the report over all of them (DIR/report/). When the\n"
    "suite names a baseline, compare the run with it (DIR/compare.md, .json, .xml\n"
    "and the table on stderr); when it names a history, append the run to it.\n"
    "Models without an endpoint in the map run on the embedded simulator.\n"
    "\n"
    "  --endpoint-map FILE   JSON object: model -> \"URL\", \"$ENV_VAR\" or\n"
    "                        {\"endpoint\": ..., \"served_model\": ...,\n"
    "                         \"judge_endpoint\": ..., \"judge_model\": ...}\n"
    "  --out DIR             output directory (default results/suite-<name>-<UTC time>)\n"
    "  --json                print the report's JSON summary on stdout\n"
    "  --no-compare          do not compare with the suite's baseline\n"
    "  --history DIR         append the run to DIR/index.jsonl (default: the suite's\n"
    "                        \"history\", results/history when it has a \"baseline\")\n"
    "\n"
    "Exit status: 0 all runs and the report succeeded and no regression (or no\n"
    "baseline yet); 1 some run failed (the others and the report are still\n"
    "written) or the comparison found a regression; 2 bad suite file or flags, or\n"
    "the comparison failed; 130 interrupted.\n";

int suite_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint-map", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"no-compare", no_argument, NULL, 'C'},
        {"history", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *map = NULL, *outdir = NULL, *history_flag = NULL;
    int json = 0, opt, code = 0, no_compare = 0;
    bench_err err;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            map = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'C':
            no_compare = 1;
            break;
        case 'H':
            history_flag = optarg;
            break;
        case 'h':
            fputs(suite_usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "bench suite: %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "bench suite: unknown option '%s' (see bench suite --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "bench suite: give exactly one suite file (see bench suite --help)\n");
        return 2;
    }
    suite *s = calloc(1, sizeof *s);
    run_summary *sum = calloc(1, sizeof *sum);
    if (!s || !sum) {
        fprintf(stderr, "bench suite: out of memory\n");
        free(s);
        free(sum);
        return 1;
    }
    bench_status st = suite_load(argv[optind], s, &err);
    if (!st && map)
        st = apply_map(s, map, &err);
    if (!st)
        st = suite_check_models(s, argv[optind], map, &err);
    if (st) {
        fprintf(stderr, "bench suite: %s\n", err.msg);
        code = bench_exit_code(st);
        goto out;
    }
    char dir[1024], path[1300], rdir[1100];
    if (outdir) {
        snprintf(dir, sizeof dir, "%s", outdir);
    } else {
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(dir, sizeof dir, "results/suite-%s-%s", s->name, stamp);
    }
    if (file_mkdirs(dir)) {
        fprintf(stderr, "bench suite: %s: cannot create: %s\n", dir, strerror(errno));
        code = 1;
        goto out;
    }
    size_t failed = 0;
    int interrupted = 0, report_failed = 0;
    for (size_t i = 0; i < s->n_models; i++) {
        const suite_model *m = &s->models[i];
        run_config cfg = s->run; /* the template's strings are all NULL */
        snprintf(path, sizeof path, "%s/%s.h5", dir, m->name);
        cfg.model = strdup(m->name);
        cfg.output = strdup(path);
        cfg.endpoint = m->endpoint[0] ? strdup(m->endpoint) : NULL;
        cfg.served_model = m->served_model[0] ? strdup(m->served_model) : NULL;
        cfg.no_report = 1;
        /* A seed per model: with one shared seed every model's simulated
         * latencies would follow the same draws and err the same way. */
        cfg.seed = s->run.seed + i;
        fprintf(stderr, "bench suite %s: [%zu/%zu] %s on %s\n", s->name, i + 1, s->n_models,
                m->name, m->endpoint[0] ? m->endpoint : "the embedded simulator");
        st = run_execute(&cfg, sum, &err);
        if (sum->n_levels)
            summary_print_table(stderr, sum);
        config_free(&cfg);
        if (st) {
            fprintf(stderr, "bench suite: %s: %s\n", m->name, err.msg);
            failed++;
            if (st == BENCH_EINTR) {
                interrupted = 1;
                break;
            }
        }
        /* The model's quality evaluations, on the same endpoint. */
        for (size_t k = 0; k < s->n_evals && st != BENCH_EINTR; k++) {
            eval_config ec = s->evals[k]; /* borrowed strings: not freed here */
            eval_outcome eo;
            char epath[1400];
            snprintf(epath, sizeof epath, "%s/%s-%s.h5", dir, m->name, ec.eval);
            ec.model = (char *)m->name;
            ec.endpoint = m->endpoint[0] ? (char *)m->endpoint : NULL;
            ec.served_model = m->served_model[0] ? (char *)m->served_model : NULL;
            ec.output = epath;
            ec.seed = s->run.seed + i;
            ec.progress = s->run.progress;
            if (strcmp(ec.eval, "mtbench") == 0 && m->judge_endpoint[0]) {
                ec.judge_endpoint = (char *)m->judge_endpoint;
                ec.judge_model = (char *)m->judge_model;
                if (m->judge_key_env[0])
                    ec.judge_api_key_env = (char *)m->judge_key_env;
            }
            fprintf(stderr, "bench suite %s: [%zu/%zu] %s: %s evaluation\n", s->name, i + 1,
                    s->n_models, m->name, ec.eval);
            st = eval_execute(&ec, &eo, &err);
            free(eo.summary_json);
            if (st) {
                fprintf(stderr, "bench suite: %s: %s: %s\n", m->name, ec.eval, err.msg);
                failed++;
            } else {
                fprintf(stderr, "  %s score %.4f (%s)\n", ec.eval, eo.score, eo.path);
            }
        }
        if (st == BENCH_EINTR) {
            interrupted = 1;
            break;
        }
    }
    report_opts ro;
    report_opts_default(&ro);
    snprintf(rdir, sizeof rdir, "%s/report", dir);
    ro.outdir = rdir;
    ro.slo = s->slo;
    ro.steady_margin = s->steady;
    ro.json = json;
    const char *in[] = {dir};
    st = report_write(in, 1, &ro, NULL, &err);
    if (st) {
        fprintf(stderr, "bench suite: report: %s\n", err.msg);
        report_failed = 1;
        code = 1;
    }
    if (failed) {
        fprintf(stderr,
                "bench suite: %zu of %zu run(s) and evaluation(s) failed; the report covers the "
                "rest\n",
                failed, s->n_models * (1 + s->n_evals));
        code = interrupted ? 130 : 1;
    }

    /* The comparison with the baseline, then the history. */
    const char *baseline = NULL;
    cJSON *regs = NULL;
    int compare_failed = 0;
    compare_counts counts = {0, 0, 0, 0};
    if (s->baseline[0] && !no_compare && !interrupted) {
        if (!has_results(s->baseline)) {
            fprintf(stderr,
                    "bench suite %s: no baseline yet at %s: promote this run with bench baseline "
                    "promote %s --reason '...'\n",
                    s->name, s->baseline, dir);
        } else if ((st = suite_compare(s, s->baseline, dir, &regs, &counts, &err))) {
            fprintf(stderr, "bench suite: comparison with the baseline %s: %s\n", s->baseline,
                    err.msg);
            compare_failed = 1;
            code = 2;
        } else {
            baseline = s->baseline;
            fprintf(stderr,
                    "bench suite %s: %d regression(s) against the baseline %s (%s/compare.md, "
                    ".json, .xml)\n",
                    s->name, counts.regressions, s->baseline, dir);
            if (counts.regressions && code == 0)
                code = 1;
        }
    }
    const char *hist = history_flag ? history_flag : s->history[0] ? s->history : NULL;
    if (hist) {
        cJSON *headline = NULL;
        bench_err herr;
        if (report_headlines(in, 1, &ro, &headline, &herr)) {
            fprintf(stderr, "bench suite: headline figures for the history: %s\n", herr.msg);
            headline = NULL;
        }
        const char *status = "ok";
        if (failed || interrupted || report_failed || compare_failed)
            status = "failed";
        else if (counts.regressions)
            status = "regression";
        cJSON *entry = run_entry(s, dir, headline, baseline, regs, status);
        regs = NULL;
        if (!entry || (st = history_append(hist, entry, &herr))) {
            fprintf(stderr, "bench suite: history: %s\n", entry ? herr.msg : "out of memory");
            if (code == 0)
                code = 1;
        } else {
            fprintf(stderr, "bench suite %s: run recorded in %s/%s (status %s)\n", s->name, hist,
                    HISTORY_INDEX, status);
        }
        cJSON_Delete(entry);
    }
    cJSON_Delete(regs);
out:
    config_free(&s->run);
    if (s)
        for (size_t k = 0; k < s->n_evals; k++)
            eval_config_free(&s->evals[k]);
    free(s);
    free(sum);
    return code;
}
