/* trend.c - `bench report --trend` (trend.h). */
#include "trend.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "history.h"
#include "plot.h"
#include "rdoc.h"
#include "rtable.h"
#include "version.h"

/* The headline figures (history.h "headline" members), in plot order. */
enum { F_TTFT50, F_TTFT99, F_TPS, F_MMLU, F_HUMANEVAL, F_MTBENCH, F_COUNT };

static const struct {
    const char *key;   /* member of a model's headline object */
    const char *title; /* plot title */
    const char *ylabel;
    const char *col;    /* runs table column */
    const char *behind; /* what a regression marker means, for the text */
    int prec;
} figs[F_COUNT] = {
    {"ttft_p50_ms_c1", "TTFT p50 at concurrency 1", "TTFT p50 at c=1 (ms)", "TTFT p50 c=1 (ms)",
     "TTFT p50 at concurrency 1", 1},
    {"ttft_p99_ms_c1", "TTFT p99 at concurrency 1", "TTFT p99 at c=1 (ms)", "TTFT p99 c=1 (ms)",
     "TTFT p99 at concurrency 1", 1},
    {"tps_c8", "Output throughput at concurrency 8 (or the highest level run)",
     "output tokens/s (all requests)", "out tok/s c=8", "output tokens/s at that level", 0},
    {"mmlu", "MMLU macro accuracy", "MMLU macro accuracy (%)", "MMLU %",
     "any metric of the MMLU evaluation", 1},
    {"humaneval", "HumanEval pass@1", "HumanEval pass@1 (%)", "HumanEval %",
     "any metric of the HumanEval evaluation", 1},
    {"mtbench", "MT-Bench rating", "MT-Bench rating (1-10)", "MT-Bench",
     "any metric of the MT-Bench evaluation", 2},
};

typedef struct {
    long long t; /* seconds since the epoch */
    size_t idx;  /* position in the index: ties keep file order */
    const cJSON *e;
} tevent;

typedef struct {
    tevent *runs, *promos;
    size_t n_runs, n_promos;
    char **keys; /* series: "model", or "suite: model" when several suites */
    size_t n_keys;
    int multi_suite;
} tdata;

static int cmp_event(const void *a, const void *b)
{
    const tevent *x = a, *y = b;
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static const char *str_member(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The series key of model in run r, into buf. */
static const char *series_key(const tdata *d, const cJSON *r, const char *model, char *buf,
                              size_t bufsz)
{
    if (d->multi_suite)
        snprintf(buf, bufsz, "%s: %s", str_member(r, "suite", "?"), model);
    else
        snprintf(buf, bufsz, "%s", model);
    return buf;
}

static void tdata_free(tdata *d)
{
    for (size_t i = 0; i < d->n_keys; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->runs);
    free(d->promos);
}

static bench_status tdata_build(tdata *d, const cJSON *entries, bench_err *err)
{
    size_t n = (size_t)cJSON_GetArraySize(entries), idx = 0;
    d->runs = calloc(n + 1, sizeof *d->runs);
    d->promos = calloc(n + 1, sizeof *d->promos);
    d->keys = calloc(1, sizeof *d->keys);
    if (!d->runs || !d->promos || !d->keys)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    const cJSON *e;
    const char *suite0 = NULL;
    cJSON_ArrayForEach(e, entries)
    {
        const char *ev = str_member(e, "event", "");
        tevent te = {history_parse_date(str_member(e, "date", "")), idx++, e};
        if (strcmp(ev, "run") == 0) {
            d->runs[d->n_runs++] = te;
            const char *s = str_member(e, "suite", "");
            if (!suite0)
                suite0 = s;
            else if (strcmp(suite0, s) != 0)
                d->multi_suite = 1;
        } else if (strcmp(ev, "promote") == 0) {
            d->promos[d->n_promos++] = te;
        }
    }
    qsort(d->runs, d->n_runs, sizeof *d->runs, cmp_event);
    qsort(d->promos, d->n_promos, sizeof *d->promos, cmp_event);
    for (size_t i = 0; i < d->n_runs; i++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d->runs[i].e, "headline"))
        {
            char key[512];
            series_key(d, d->runs[i].e, m->string, key, sizeof key);
            size_t k = 0;
            while (k < d->n_keys && strcmp(d->keys[k], key) != 0)
                k++;
            if (k < d->n_keys)
                continue;
            char **nk = realloc(d->keys, (d->n_keys + 1) * sizeof *nk);
            if (!nk)
                return bench_fail(err, BENCH_ENOMEM, "out of memory");
            d->keys = nk;
            if (!(d->keys[d->n_keys] = strdup(key)))
                return bench_fail(err, BENCH_ENOMEM, "out of memory");
            d->n_keys++;
        }
    }
    return BENCH_OK;
}

/* The figure's value for model in run r (NaN: none). */
static double fig_value(const cJSON *r, const char *model, int f)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "headline");
    return num_member(cJSON_GetObjectItemCaseSensitive(h, model), figs[f].key);
}

/* Which load-test figure a compared metric (compare.h's keys, as the
 * history records them) is behind: F_TTFT50, F_TTFT99, F_TPS, or -1 (TPOT,
 * ITL, E2E, error rate, goodput: no headline figure of their own). */
static int metric_figure(const char *metric)
{
    if (strcmp(metric, "ttft_p50") == 0)
        return F_TTFT50;
    if (strcmp(metric, "ttft_p99") == 0)
        return F_TTFT99;
    if (strcmp(metric, "output_tps") == 0)
        return F_TPS;
    return -1;
}

/* Did run r's comparison flag a regression of model behind figure f? */
static int flagged(const cJSON *r, const char *model, int f)
{
    const cJSON *cmp = cJSON_GetObjectItemCaseSensitive(r, "compare");
    const cJSON *regs = cJSON_GetObjectItemCaseSensitive(cmp, "regressions"), *g;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "headline");
    double tps_level = num_member(cJSON_GetObjectItemCaseSensitive(h, model), "tps_level");
    cJSON_ArrayForEach(g, regs)
    {
        if (strcmp(str_member(g, "model", ""), model) != 0)
            continue;
        const char *ev = str_member(g, "eval", NULL);
        if (f >= F_MMLU) {
            if (ev && strcmp(ev, figs[f].key) == 0)
                return 1;
            continue;
        }
        if (ev || metric_figure(str_member(g, "metric", "")) != f)
            continue;
        double level = num_member(g, "level");
        double want = f == F_TPS ? tps_level : 1;
        if (level == want)
            return 1;
    }
    return 0;
}

/* The regressions of model in run r as one cell, grouped by level or
 * evaluation: "c=1: ttft_p50, ttft_p99; c=8: output_tps; mmlu: mmlu". */
static const char *regressions_cell(const cJSON *r, const char *model)
{
    static char buf[1024];
    size_t len = 0;
    char scope[64], last[64] = "";
    buf[0] = '\0';
    const cJSON *cmp = cJSON_GetObjectItemCaseSensitive(r, "compare");
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(cmp, "regressions"))
    {
        if (strcmp(str_member(g, "model", ""), model) != 0)
            continue;
        const char *ev = str_member(g, "eval", NULL);
        if (ev)
            snprintf(scope, sizeof scope, "%s", ev);
        else
            snprintf(scope, sizeof scope, "c=%.0f", num_member(g, "level"));
        int same = strcmp(scope, last) == 0;
        int w = snprintf(buf + len, sizeof buf - len, "%s%s%s%s",
                         same  ? ", "
                         : len ? "; "
                               : "",
                         same ? "" : scope, same ? "" : ": ", str_member(g, "metric", "?"));
        if (w < 0 || len + (size_t)w >= sizeof buf) {
            snprintf(buf + (len < sizeof buf - 5 ? len : sizeof buf - 5), 5, " ...");
            break;
        }
        len += (size_t)w;
        snprintf(last, sizeof last, "%s", scope);
    }
    return buf;
}

static const char *fmt_val(double v, int prec)
{
    return isnan(v) ? "-" : rtable_fmt("%.*f", prec, v);
}

static const char *base_name(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    const char *s = p + n;
    while (s > p && s[-1] != '/')
        s--;
    return rtable_fmt("%.*s", (int)(p + n - s), s);
}

/* Draw figure f as trend_<key>.png/.svg/.dat and add it to doc. Returns
 * the plot's failure (noted in doc) or BENCH_OK; *drawn = 0 when no run
 * recorded the figure. */
static bench_status draw_figure(rdoc *doc, const tdata *d, int f, const char *plots_dir,
                                const char *outdir, int *drawn, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t ns = d->n_keys + 2, cap = d->n_runs * (d->n_keys + 1) + d->n_promos + 1;
    double *x = calloc(cap, sizeof *x), *y = calloc(cap, sizeof *y);
    const char **lab = calloc(cap, sizeof *lab);
    plot_series *ser = calloc(ns, sizeof *ser);
    *drawn = 0;
    if (!x || !y || !lab || !ser) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0, npts = 0;
    double ymax = NAN;
    char key[512];
    for (size_t s = 0; s < d->n_keys; s++) {
        size_t start = k;
        for (size_t i = 0; i < d->n_runs; i++) {
            const cJSON *m;
            cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d->runs[i].e, "headline"))
            {
                if (strcmp(series_key(d, d->runs[i].e, m->string, key, sizeof key), d->keys[s]))
                    continue;
                double v = fig_value(d->runs[i].e, m->string, f);
                if (isnan(v))
                    continue;
                x[k] = (double)d->runs[i].t;
                y[k++] = v;
                ymax = isnan(ymax) || v > ymax ? v : ymax;
            }
        }
        npts += k - start;
        ser[s] = (plot_series){d->keys[s], x + start, y + start, NULL, NULL, NULL, k - start};
    }
    if (npts == 0)
        goto out; /* no run recorded this figure */
    size_t start = k;
    for (size_t i = 0; i < d->n_runs; i++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d->runs[i].e, "headline"))
        {
            double v = fig_value(d->runs[i].e, m->string, f);
            if (isnan(v) || !flagged(d->runs[i].e, m->string, f))
                continue;
            x[k] = (double)d->runs[i].t;
            y[k] = v;
            lab[k++] = m->string;
        }
    }
    ser[d->n_keys] = (plot_series){"regression flagged by bench compare",
                                   x + start,
                                   y + start,
                                   NULL,
                                   NULL,
                                   lab + start,
                                   k - start};
    start = k;
    for (size_t i = 0; i < d->n_promos; i++) {
        x[k] = (double)d->promos[i].t;
        y[k] = ymax;
        lab[k++] = str_member(d->promos[i].e, "run_dir", "");
    }
    ser[d->n_keys + 1] = (plot_series){"baseline promoted", x + start, y + start, NULL, NULL,
                                       lab + start,         k - start};
    *drawn = 1;

    char title[256];
    snprintf(title, sizeof title, "%s, by night", figs[f].title);
    plot_spec spec = {"trend", title, "date of the run (UTC)", figs[f].ylabel, ser, ns, 0, 0};
    rdoc_heading(doc, 2, figs[f].title);
    char png[128];
    snprintf(png, sizeof png, "trend_%s.png", figs[f].key);
    st = plot_render(&spec, plots_dir, outdir, err);
    /* plot_render names its outputs after the template: give each figure its own */
    static const char *const ext[] = {"dat", "png", "svg"};
    for (size_t e = 0; e < 3 && !st; e++) {
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof from, "%s/trend.%s", outdir, ext[e]);
        snprintf(to, sizeof to, "%s/trend_%s.%s", outdir, figs[f].key, ext[e]);
        if (rename(from, to) != 0)
            st = bench_fail(err, BENCH_EIO, "plot trend_%s: cannot rename %s to %s: %s",
                            figs[f].key, from, to, strerror(errno));
    }
    if (!st)
        st = rdoc_image(doc, png, title, err);
    if (st) {
        rdoc_note(doc, "plot trend_%s could not be drawn: %s", figs[f].key, err->msg);
        goto out;
    }
    rdoc_para(doc,
              "One line per model. Red rings: runs whose comparison with the baseline flagged "
              "a regression of that model in %s. Dashed vertical lines: baseline promotions. "
              "Data: `trend_%s.dat`.",
              figs[f].behind, figs[f].key);
out:
    free(x);
    free(y);
    free(lab);
    free(ser);
    return st;
}

static bench_status table_runs(rdoc *doc, const tdata *d, bench_err *err)
{
    const char *hdr[14] = {"Date (UTC)", "Suite", "Status",      "Commit", "Model",
                           "Endpoint",   NULL,    NULL,          NULL,     NULL,
                           NULL,         NULL,    "Regressions", "Run"};
    for (int f = 0; f < F_COUNT; f++)
        hdr[6 + f] = figs[f].col;
    rtable *t;
    bench_status st = rtable_create(14, hdr, "llllllrrrrrrll", &t, err);
    if (st)
        return st;
    for (size_t i = d->n_runs; i-- > 0 && !st;) { /* newest first */
        const cJSON *r = d->runs[i].e;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "headline");
        const cJSON *eps = cJSON_GetObjectItemCaseSensitive(r, "endpoints");
        const char *commit = str_member(r, "git_commit", "unknown");
        const cJSON *dirty = cJSON_GetObjectItemCaseSensitive(r, "git_dirty");
        int nm = cJSON_GetArraySize(h);
        for (int k = 0; k < (nm ? nm : 1) && !st; k++) {
            const cJSON *m = nm ? cJSON_GetArrayItem(h, k) : NULL;
            const char *model = m ? m->string : "-";
            const char *regs = m ? regressions_cell(r, model) : "";
            const char *cells[14] = {
                str_member(r, "date", ""),
                str_member(r, "suite", ""),
                str_member(r, "status", ""),
                rtable_fmt("%.10s%s", commit, cJSON_IsTrue(dirty) ? "+dirty" : ""),
                model,
                m ? str_member(eps, model, "") : ""};
            for (int f = 0; f < F_COUNT; f++)
                cells[6 + f] = fmt_val(m ? num_member(m, figs[f].key) : NAN, figs[f].prec);
            double lvl = m ? num_member(m, "tps_level") : NAN;
            if (!isnan(lvl) && lvl != 8 && strcmp(cells[6 + F_TPS], "-") != 0)
                cells[6 + F_TPS] = rtable_fmt("%s (c=%.0f)", cells[6 + F_TPS], lvl);
            cells[12] = regs;
            cells[13] = base_name(str_member(r, "run_dir", ""));
            st = rtable_add_row(t, cells, regs[0] != '\0', err);
        }
    }
    if (!st)
        rdoc_table(doc, t);
    rtable_destroy(t);
    return st;
}

static bench_status table_promos(rdoc *doc, const tdata *d, bench_err *err)
{
    const char *hdr[] = {"Date (UTC)", "Run promoted", "Baseline", "By", "Reason", "Commit"};
    rtable *t;
    bench_status st = rtable_create(6, hdr, "llllll", &t, err);
    if (st)
        return st;
    for (size_t i = d->n_promos; i-- > 0 && !st;) {
        const cJSON *p = d->promos[i].e;
        const char *cells[6] = {str_member(p, "date", ""),
                                str_member(p, "run_dir", ""),
                                str_member(p, "baseline_dir", ""),
                                str_member(p, "by", ""),
                                str_member(p, "reason", ""),
                                rtable_fmt("%.10s", str_member(p, "git_commit", "unknown"))};
        st = rtable_add_row(t, cells, 0, err);
    }
    if (!st)
        rdoc_table(doc, t);
    rtable_destroy(t);
    return st;
}

bench_status trend_write(const trend_opts *o, bench_err *err)
{
    bench_status st = BENCH_OK, plot_st = BENCH_OK;
    cJSON *entries = NULL;
    tdata d;
    rdoc *doc = NULL;
    size_t skipped = 0;
    char index[PATH_MAX], plotsbuf[PATH_MAX];
    bench_err plot_err = {{0}};
    memset(&d, 0, sizeof d);
    const char *plots_dir =
        o->plots_dir ? o->plots_dir : file_in_root("plots", plotsbuf, sizeof plotsbuf);
    if ((st = history_index_path(o->history_dir, index, sizeof index, err)))
        goto out;
    if (access(index, F_OK) != 0) {
        st = bench_fail(err, BENCH_EINPUT,
                        "%s: no history index here (bench suite appends to it when the suite "
                        "has \"history\" or \"baseline\", or with --history DIR)",
                        index);
        goto out;
    }
    if ((st = history_read(o->history_dir, stderr, &entries, &skipped, err)))
        goto out;
    if ((st = tdata_build(&d, entries, err)))
        goto out;
    if (d.n_runs == 0) {
        st = bench_fail(err, BENCH_EINPUT, "%s: the history records no run", index);
        goto out;
    }
    if (file_mkdirs(o->outdir)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create the output directory: %s", o->outdir,
                        strerror(errno));
        goto out;
    }
    if ((st = rdoc_create_named(o->outdir, "trend", "Nightly trend", &doc, err)))
        goto out;
    char now[32];
    history_now(now);
    rdoc_heading(doc, 1, "Nightly trend");
    rdoc_para(doc,
              "Generated %s by bench %s from %s: %zu run(s) from %s to %s, %zu baseline "
              "promotion(s).",
              now, BENCH_VERSION, index, d.n_runs, str_member(d.runs[0].e, "date", "?"),
              str_member(d.runs[d.n_runs - 1].e, "date", "?"), d.n_promos);
    if (skipped)
        rdoc_note(doc, "%zu malformed line(s) of the index were skipped (named on stderr).",
                  skipped);
    int simulated = 0;
    for (size_t i = 0; i < d.n_runs; i++) {
        const cJSON *ep;
        cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(d.runs[i].e, "endpoints"))
            simulated |= cJSON_IsString(ep) && strcmp(ep->valuestring, "simulated") == 0;
    }
    if (simulated)
        rdoc_note(doc, "Some or all runs measured bench's embedded SIMULATED endpoint (Endpoint "
                       "column): their figures describe its latency model, not a deployment.");
    char missing[256] = "";
    for (int f = 0; f < F_COUNT; f++) {
        int drawn = 0;
        bench_err e;
        bench_status fs = BENCH_OK;
        if (o->plots) {
            fs = draw_figure(doc, &d, f, plots_dir, o->outdir, &drawn, &e);
        } else {
            for (size_t i = 0; i < d.n_runs && !drawn; i++) {
                const cJSON *m;
                cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d.runs[i].e, "headline"))
                    drawn |= !isnan(num_member(m, figs[f].key));
            }
        }
        if (fs == BENCH_ENOMEM) {
            st = fs;
            *err = e;
            goto out;
        }
        if (fs && !plot_st) {
            plot_st = fs;
            plot_err = e;
        }
        if (!drawn) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", figs[f].title);
        }
    }
    if (missing[0])
        rdoc_para(doc, "No run recorded: %s.", missing);
    rdoc_heading(doc, 2, "Runs");
    rdoc_para(doc, "Newest first, one row per model; rows with a regression are highlighted. "
                   "Status: ok, regression (the comparison with the baseline flagged one) or "
                   "failed (a run, an evaluation, the report or the comparison failed).");
    if ((st = table_runs(doc, &d, err)))
        goto out;
    rdoc_heading(doc, 2, "Baseline promotions");
    if (d.n_promos) {
        if ((st = table_promos(doc, &d, err)))
            goto out;
    } else {
        rdoc_para(doc, "None recorded.");
    }
    st = rdoc_close(doc, err);
    doc = NULL;
    if (st)
        goto out;
    if (plot_st) {
        st = plot_st;
        *err = plot_err;
        goto out;
    }
    if (!o->quiet)
        fprintf(stderr, "bench report: wrote %s/trend.md and %s/trend.html\n", o->outdir,
                o->outdir);
out:
    if (doc) {
        bench_err ce;
        rdoc_close(doc, &ce);
    }
    tdata_free(&d);
    cJSON_Delete(entries);
    return st;
}
