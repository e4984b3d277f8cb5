/* searchcmd.c - `bench search` around a run (see searchcmd.h). */
#include "searchcmd.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"

const char search_usage[] =
    "usage: bench search --model NAME --slo LIMITS [--by concurrency|rate] [search options]\n"
    "                    [bench run options]\n"
    "\n"
    "Find the highest load that meets a latency SLO: probe one level at a time (as bench\n"
    "run measures a level), doubling while the SLO holds, then bisecting between the\n"
    "highest load that met it and the lowest that did not (docs/SEARCH.md).\n"
    "\n"
    "  --slo LIMITS       METRIC_PCT=LIMIT,... with metrics ttft, tpot, itl, e2e and\n"
    "                     percentiles p50, p90, p95, p99, p999, limits in us, ms or s;\n"
    "                     optional errors=P% (default 1%), e.g. ttft_p99=100ms,tpot_p99=50ms\n"
    "  --by AXIS          concurrency (default: closed loop, whole levels; the answer is\n"
    "                     exact) or rate (open loop, requests/s; with --arrival and\n"
    "                     --max-concurrency as for bench run --rate)\n"
    "  --start X          first load probed (default 1)\n"
    "  --max X            highest load probed (default 1024 by concurrency, 10000 by rate)\n"
    "  --precision P%     by rate: stop when the bracket is within P% of its low end\n"
    "                     (default 5%)\n"
    "  --probes N         at most N probes (default 16)\n"
    "\n"
    "Every bench run option applies (--model, --endpoint, --requests per probe, --warmup,\n"
    "prompts, timeouts, --output, --json) but --concurrency and --rate: the search picks\n"
    "the levels. Each probe is a level of the results file; the search's table and\n"
    "answer follow the run's summary, and the file's root attribute `search` holds them.\n"
    "Exit status 0 when the search ended by its rule (even when no load met the SLO),\n"
    "1 run failed, 2 bad flags, 130/143 interrupted (the probes made are kept).\n";

typedef struct {
    level_key key;
    int pass;
    char why[128];
    double value[SEARCH_MAX_LIMITS]; /* each limit's measured percentile */
    double error_rate;
    uint64_t n_ok, n_failed;
} probe;

struct search_plan {
    search_opts o;
    search_slo slo;
    search *s;
    run_planner pl;
    probe probes[CONFIG_MAX_LEVELS];
    int n;
    int have_start, have_max;
};

static int plan_next(void *ud, const level_metrics *prev, level_key *next)
{
    search_plan *sp = ud;
    if (prev && sp->n < CONFIG_MAX_LEVELS) {
        probe *p = &sp->probes[sp->n++];
        p->key = prev->key;
        p->pass = search_meets(&sp->slo, prev, p->why, sizeof p->why);
        for (int i = 0; i < sp->slo.n; i++)
            p->value[i] = search_limit_value(&sp->slo.lim[i], prev);
        p->error_rate = prev->error_rate;
        p->n_ok = prev->n_ok;
        p->n_failed = prev->n_failed;
        search_observe(sp->s, prev->key.value, p->pass);
    }
    double load;
    if (!search_next(sp->s, &load))
        return 0;
    *next = sp->o.by == SEARCH_BY_CONCURRENCY ? level_conc((int)load) : level_rate(load);
    return 1;
}

static char *plan_summary(void *ud)
{
    return search_plan_json(ud);
}

/* The value of a search flag at argv[*i] ("--flag V" or "--flag=V"), or
 * NULL when argv[*i] is not that flag; *i moves past what was taken. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing)
{
    size_t n = strlen(flag);
    const char *a = argv[*i];
    if (strncmp(a, flag, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static bench_status parse_number(const char *v, const char *flag, double *out, bench_err *err)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d) || !(d > 0))
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a positive number", flag, v);
    *out = d;
    return BENCH_OK;
}

bench_status search_plan_from_args(int *argc, char **argv, search_plan **out, int *help,
                                   bench_err *err)
{
    bench_status st = BENCH_OK;
    *out = NULL;
    *help = 0;
    search_plan *sp = calloc(1, sizeof *sp);
    if (!sp)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    sp->o = (search_opts){.by = SEARCH_BY_CONCURRENCY, .precision = 0.05, .max_probes = 16};
    int have_slo = 0, kept = 1;
    for (int i = 1; i < *argc; i++) {
        int missing = 0;
        const char *v;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            goto out;
        }
        if (strcmp(a, "--concurrency") == 0 || strncmp(a, "--concurrency=", 14) == 0 ||
            strcmp(a, "--rate") == 0 || strncmp(a, "--rate=", 7) == 0) {
            st = bench_fail(err, BENCH_EUSAGE,
                            "bench search picks the levels itself: drop %.*s (use --by, --start "
                            "and --max)",
                            (int)strcspn(a, "="), a);
            goto out;
        }
        if ((v = flag_value(*argc, argv, &i, "--slo", &missing))) {
            if ((st = search_parse_slo(v, &sp->slo, err)))
                goto out;
            have_slo = 1;
        } else if (!missing && (v = flag_value(*argc, argv, &i, "--by", &missing))) {
            if (strcmp(v, "concurrency") == 0)
                sp->o.by = SEARCH_BY_CONCURRENCY;
            else if (strcmp(v, "rate") == 0)
                sp->o.by = SEARCH_BY_RATE;
            else {
                st = bench_fail(err, BENCH_EUSAGE, "--by: '%s' is not concurrency or rate", v);
                goto out;
            }
        } else if (!missing && (v = flag_value(*argc, argv, &i, "--start", &missing))) {
            if ((st = parse_number(v, "--start", &sp->o.start, err)))
                goto out;
            sp->have_start = 1;
        } else if (!missing && (v = flag_value(*argc, argv, &i, "--max", &missing))) {
            if ((st = parse_number(v, "--max", &sp->o.max, err)))
                goto out;
            sp->have_max = 1;
        } else if (!missing && (v = flag_value(*argc, argv, &i, "--precision", &missing))) {
            char *end;
            double p = strtod(v, &end);
            if (end == v || strcmp(end, "%") != 0 || !(p > 0) || p >= 100) {
                st = bench_fail(err, BENCH_EUSAGE,
                                "--precision: '%s' should be a percentage above 0, e.g. 5%%", v);
                goto out;
            }
            sp->o.precision = p / 100;
        } else if (!missing && (v = flag_value(*argc, argv, &i, "--probes", &missing))) {
            double p = 0;
            if ((st = parse_number(v, "--probes", &p, err)))
                goto out;
            if (p != floor(p) || p > CONFIG_MAX_LEVELS) {
                st = bench_fail(err, BENCH_EUSAGE, "--probes: '%s' is not a whole number 1-%d", v,
                                CONFIG_MAX_LEVELS);
                goto out;
            }
            sp->o.max_probes = (int)p;
        } else if (missing) {
            st = bench_fail(err, BENCH_EUSAGE, "%s needs a value", a);
            goto out;
        } else {
            argv[kept++] = argv[i]; /* the run's */
        }
    }
    if (!have_slo) {
        st = bench_fail(err, BENCH_EUSAGE,
                        "bench search needs --slo, e.g. --slo ttft_p99=100ms,tpot_p99=50ms");
        goto out;
    }
    *argc = kept;
    argv[kept] = NULL;
    *out = sp;
    sp = NULL;
out:
    search_plan_destroy(sp);
    return st;
}

bench_status search_plan_apply(search_plan *sp, run_config *cfg, bench_err *err)
{
    int conc = sp->o.by == SEARCH_BY_CONCURRENCY;
    if (!sp->have_start)
        sp->o.start = 1;
    if (!sp->have_max)
        sp->o.max = conc ? 1024 : 10000;
    if (conc &&
        (sp->o.start != floor(sp->o.start) || sp->o.max != floor(sp->o.max) || sp->o.max > 100000))
        return bench_fail(err, BENCH_EUSAGE,
                          "--start and --max by concurrency are whole numbers (at most 100000)");
    if (!conc && (sp->o.start < LEVEL_RATE_MIN || sp->o.max > LEVEL_RATE_MAX))
        return bench_fail(err, BENCH_EUSAGE, "--start and --max by rate lie in %g-%g requests/s",
                          LEVEL_RATE_MIN, LEVEL_RATE_MAX);
    if (sp->o.max < sp->o.start)
        return bench_fail(err, BENCH_EUSAGE, "--max %g is below --start %g", sp->o.max,
                          sp->o.start);
    sp->o.min = fmax(sp->o.start / 1024, LEVEL_RATE_MIN);
    bench_status st = search_create(&sp->o, &sp->s, err);
    if (st)
        return st;
    /* The run is of the search's kind from the start: a rate run gets its
     * schedule, in-flight cap and file attributes as bench run --rate. */
    if (conc) {
        cfg->n_rates = 0;
        cfg->levels[0] = (int)sp->o.start;
        cfg->n_levels = 1;
    } else {
        cfg->rates[0] = level_rate(sp->o.start).value;
        cfg->n_rates = 1;
    }
    sp->pl = (run_planner){plan_next, plan_summary, "search", sp};
    return BENCH_OK;
}

const run_planner *search_plan_planner(search_plan *sp)
{
    return &sp->pl;
}

void search_plan_print(const search_plan *sp, FILE *out)
{
    char slo[256], name[32], lab[LEVEL_NAME_MAX + 16];
    search_slo_format(&sp->slo, slo, sizeof slo);
    fprintf(out, "\nSLO search by %s: %s\n",
            sp->o.by == SEARCH_BY_CONCURRENCY ? "concurrency" : "rate", slo);
    fprintf(out, " probe  %-14s", "load");
    for (int i = 0; i < sp->slo.n; i++)
        fprintf(out, " %12s", search_limit_name(&sp->slo.lim[i], name, sizeof name));
    fprintf(out, " %8s  verdict\n", "errors");
    for (int k = 0; k < sp->n; k++) {
        const probe *p = &sp->probes[k];
        fprintf(out, " %5d  %-14s", k + 1, level_label(p->key, lab, sizeof lab));
        for (int i = 0; i < sp->slo.n; i++)
            fprintf(out, " %9.2f ms", p->value[i]);
        fprintf(out, " %7.2f%%  %s\n", p->error_rate * 100, p->pass ? "pass" : p->why);
    }
    search_result r;
    search_get_result(sp->s, &r);
    const char *unit = sp->o.by == SEARCH_BY_CONCURRENCY ? "" : " req/s";
    if (isnan(r.best))
        fprintf(out, "no load met the SLO (lowest probed fails); %s\n", r.stopped);
    else if (isnan(r.first_fail))
        fprintf(out, "highest %s meeting the SLO: %g%s (no probe failed); %s\n",
                sp->o.by == SEARCH_BY_CONCURRENCY ? "concurrency" : "rate", r.best, unit,
                r.stopped);
    else
        fprintf(out, "highest %s meeting the SLO: %g%s (%g%s fails); %s\n",
                sp->o.by == SEARCH_BY_CONCURRENCY ? "concurrency" : "rate", r.best, unit,
                r.first_fail, unit, r.stopped);
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

char *search_plan_json(const search_plan *sp)
{
    char slo[256], name[LEVEL_NAME_MAX], lim[32];
    search_result r;
    search_get_result(sp->s, &r);
    search_slo_format(&sp->slo, slo, sizeof slo);
    cJSON *o = cJSON_CreateObject();
    cJSON *levels = cJSON_CreateArray();
    if (!o || !levels) {
        cJSON_Delete(o);
        cJSON_Delete(levels);
        return NULL;
    }
    cJSON_AddStringToObject(o, "by", sp->o.by == SEARCH_BY_CONCURRENCY ? "concurrency" : "rate");
    cJSON_AddStringToObject(o, "slo", slo);
    cJSON_AddItemToObject(o, "best", num_or_null(r.best));
    cJSON_AddItemToObject(o, "first_fail", num_or_null(r.first_fail));
    cJSON_AddNumberToObject(o, "probes", r.probes);
    cJSON_AddStringToObject(o, "stopped", r.stopped);
    for (int k = 0; k < sp->n; k++) {
        const probe *p = &sp->probes[k];
        cJSON *l = cJSON_CreateObject();
        if (!l)
            break;
        cJSON_AddStringToObject(l, "level", level_format(p->key, name, sizeof name));
        cJSON_AddBoolToObject(l, "pass", p->pass);
        cJSON_AddStringToObject(l, "why", p->why);
        for (int i = 0; i < sp->slo.n; i++)
            cJSON_AddItemToObject(l, search_limit_name(&sp->slo.lim[i], lim, sizeof lim),
                                  num_or_null(p->value[i]));
        cJSON_AddNumberToObject(l, "error_rate", p->error_rate);
        cJSON_AddItemToArray(levels, l);
    }
    cJSON_AddItemToObject(o, "levels", levels);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void search_plan_destroy(search_plan *sp)
{
    if (!sp)
        return;
    search_destroy(sp->s);
    free(sp);
}
