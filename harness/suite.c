#include "suite.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "eval.h"
#include "fileio.h"
#include "report.h"
#include "run.h"
#include "summary.h"

#define SUITE_MAX_MODELS 64

typedef struct {
    char name[128];
    char endpoint[512];     /* "" = embedded simulator */
    char served_model[256]; /* "" = catalog's */
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
    if (st)
        return st;
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

static bench_status suite_load(const char *path, suite *s, bench_err *err)
{
    char *text = NULL;
    cJSON *root = NULL;
    bench_status st = file_read_all(path, 4 << 20, &text, NULL, err);
    if (st)
        return st;
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
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    snprintf(s->name, sizeof s->name, "%s", cJSON_IsString(name) ? name->valuestring : "suite");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    char where[512];
    snprintf(where, sizeof where, "%s: run", path);
    if (run) {
        double v;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(run, "concurrency");
        if (cJSON_IsString(c) && (st = config_parse_levels(c->valuestring, "concurrency",
                                                           s->run.levels, &s->run.n_levels, err))) {
            bench_wrap(err, BENCH_EINPUT, "%s", where);
            st = BENCH_EINPUT;
            goto out;
        }
        v = (double)s->run.requests;
        if ((st = num_field(run, "requests", 1, 1e8, &v, where, err)))
            goto out;
        s->run.requests = (long)v;
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
        const cJSON *slo = cJSON_GetObjectItemCaseSensitive(rep, "slo");
        if (cJSON_IsString(slo) && slo->valuestring[0] &&
            (st = metrics_parse_slo(slo->valuestring, &s->slo, err))) {
            st = bench_wrap(err, BENCH_EINPUT, "%s: report", path);
            goto out;
        }
        snprintf(where, sizeof where, "%s: report", path);
        if ((st = num_field(rep, "steady_state", 0, 0.45, &s->steady, where, err)))
            goto out;
    }
out:
    cJSON_Delete(root);
    free(text);
    return st;
}

static const char suite_usage[] =
    "usage: bench suite FILE.json [--endpoint-map FILE] [--out DIR] [--json]\n"
    "\n"
    "Run every model of a suite (docs/SUITES.md) through its sweep into one\n"
    "directory, then write the report over all of them (DIR/report/).\n"
    "Models without an endpoint in the map run on the embedded simulator.\n"
    "\n"
    "  --endpoint-map FILE   JSON object: model -> \"URL\", \"$ENV_VAR\" or\n"
    "                        {\"endpoint\": ..., \"served_model\": ...}\n"
    "  --out DIR             output directory (default results/suite-<name>-<UTC time>)\n"
    "  --json                print the report's JSON summary on stdout\n"
    "\n"
    "Exit status: 0 all runs and the report succeeded; 1 some run failed (the\n"
    "others and the report are still written); 2 bad suite file or flags.\n";

int suite_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint-map", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *map = NULL, *outdir = NULL;
    int json = 0, opt, code = 0;
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
            if (st == BENCH_EINTR)
                break;
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
        if (st == BENCH_EINTR)
            break;
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
        code = 1;
    }
    if (failed) {
        fprintf(stderr,
                "bench suite: %zu of %zu run(s) and evaluation(s) failed; the report covers the "
                "rest\n",
                failed, s->n_models * (1 + s->n_evals));
        code = st == BENCH_EINTR ? 130 : 1;
    }
out:
    config_free(&s->run);
    if (s)
        for (size_t k = 0; k < s->n_evals; k++)
            eval_config_free(&s->evals[k]);
    free(s);
    free(sum);
    return code;
}
