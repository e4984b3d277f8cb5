#include "report.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "config.h"
#include "fileio.h"
#include "plot.h"
#include "rdoc.h"
#include "results_read.h"
#include "rtable.h"
#include "summary.h"
#include "trend.h"
#include "version.h"

/* Chunk rows read per slice: bounds the reader's memory (24 bytes a row). */
#define CHUNK_SLICE (1u << 20)
/* ITL histogram: log-spaced bins from 10^-3 ms to 10^5 ms, 20 per decade. */
#define ITL_BINS_PER_DECADE 20
#define ITL_LOG_MIN (-3.0)
#define ITL_NBINS (8 * ITL_BINS_PER_DECADE)

typedef struct {
    int64_t send, first, end; /* ns since the level's start; first -1 if none */
    int ok;
} tl_row;

typedef struct {
    level_metrics m;
    results_level_info info;
    const char *created; /* of the run it came from (borrowed) */
    size_t run;          /* index of that run */
} rlevel;

typedef struct {
    char *path;
    char *model, *served_model, *endpoint, *endpoint_kind, *api, *harness_version, *created,
        *config, *run_status;
    char *eval, *method, *judge_model; /* evaluation files only; "" for load tests */
} rrun;

/* Quality columns, in table order. */
enum { Q_MMLU, Q_HUMANEVAL, Q_MTBENCH, Q_COUNT };
static const char *const q_eval_name[Q_COUNT] = {"mmlu", "humaneval", "mtbench"};
/* The summary member each column shows (docs/EVALS.md says why macro). */
static const char *const q_summary_key[Q_COUNT] = {"macro", "pass@1", "score"};

typedef struct {
    char *name;
    const catalog_model *cat; /* NULL when not in the catalog */
    rlevel *levels;           /* ascending: level_cmp (concurrencies, then rates) */
    size_t n_levels;
    double *ttft; /* sorted TTFT samples (ms) of the lowest level, for the CDF */
    size_t n_ttft;
    level_key ttft_level;
    double itl_hist[ITL_NBINS]; /* fraction of per-chunk gaps per bin at itl_level */
    level_key itl_level;
    tl_row *tl; /* request spans of tl_level */
    size_t n_tl;
    level_key tl_level;
    double quality[Q_COUNT];              /* on the published scale (%, 1-10); NaN: none */
    const char *quality_created[Q_COUNT]; /* of the evaluation it came from (borrowed) */
    int quality_simulated[Q_COUNT];
} rmodel;

typedef struct {
    rrun *runs;
    size_t n_runs;
    rmodel *models;
    size_t n_models;
    catalog *cat;
} rdata;

void report_opts_default(report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->outdir = "results/report";
    o->slo.ttft_ms = o->slo.tpot_ms = o->slo.e2e_ms = NAN;
    o->plots = 1;
}

static void rdata_free(rdata *d)
{
    for (size_t i = 0; i < d->n_runs; i++) {
        rrun *r = &d->runs[i];
        char **s[] = {
            &r->path, &r->model,           &r->served_model, &r->endpoint, &r->endpoint_kind,
            &r->api,  &r->harness_version, &r->created,      &r->config,   &r->run_status,
            &r->eval, &r->method,          &r->judge_model};
        for (size_t k = 0; k < sizeof s / sizeof s[0]; k++)
            free(*s[k]);
    }
    for (size_t i = 0; i < d->n_models; i++) {
        free(d->models[i].name);
        free(d->models[i].levels);
        free(d->models[i].ttft);
        free(d->models[i].tl);
    }
    free(d->runs);
    free(d->models);
    catalog_destroy(d->cat);
}

static char *dup_attr(const results_file *f, const char *name)
{
    const char *v = results_file_attr(f, name);
    return strdup(v ? v : "");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_row_offset(const void *a, const void *b)
{
    const req_record *x = a, *y = b;
    return (x->chunk_offset > y->chunk_offset) - (x->chunk_offset < y->chunk_offset);
}

/* Promised in report.h. The one copy of this loop: bench compare reads its
 * levels through it too, so both compute a level's figures from the same
 * reads. */
bench_status report_feed_level(results_file *f, level_key c, req_record *rows, size_t n,
                               metrics_acc *acc, bench_err *err)
{
    bench_status st = BENCH_OK;
    qsort(rows, n, sizeof *rows, cmp_row_offset);
    chunk_record *buf = NULL;
    size_t cap = 0;
    req_record *batch = malloc((n + 1) * sizeof *batch);
    if (!batch)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    size_t i = 0;
    while (i < n) {
        uint64_t lo = rows[i].chunk_offset, hi = lo;
        size_t j = i;
        while (j < n &&
               (rows[j].chunk_offset + rows[j].chunk_count - lo <= CHUNK_SLICE || j == i)) {
            if (rows[j].chunk_offset + rows[j].chunk_count > hi)
                hi = rows[j].chunk_offset + rows[j].chunk_count;
            j++;
        }
        size_t len = (size_t)(hi - lo);
        if (len > cap) {
            chunk_record *nb = realloc(buf, len * sizeof *nb);
            if (!nb) {
                st = bench_fail(err, BENCH_ENOMEM, "out of memory reading chunks");
                goto out;
            }
            buf = nb;
            cap = len;
        }
        if (len && (st = results_read_chunks_key(f, c, lo, len, buf, err)))
            goto out;
        for (size_t k = i; k < j; k++) {
            batch[k - i] = rows[k];
            batch[k - i].chunk_offset -= lo;
        }
        if ((st = metrics_acc_add(acc, batch, j - i, buf, len, err)))
            goto out;
        i = j;
    }
out:
    free(buf);
    free(batch);
    return st;
}

static rmodel *model_get(rdata *d, const char *name)
{
    for (size_t i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].name, name) == 0)
            return &d->models[i];
    rmodel *nm = realloc(d->models, (d->n_models + 1) * sizeof *nm);
    if (!nm)
        return NULL;
    d->models = nm;
    rmodel *m = &d->models[d->n_models];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name)
        return NULL;
    m->cat = d->cat ? catalog_find(d->cat, name) : NULL;
    for (int q = 0; q < Q_COUNT; q++)
        m->quality[q] = NAN;
    d->n_models++;
    return m;
}

/* The level whose details a plot shows: concurrency 8 when present (the
 * report's headline level), else the highest concurrency, else (a rate
 * sweep) the highest rate. */
static level_key preferred_level(const results_file *f)
{
    level_key best = {0, 0};
    for (size_t i = 0; i < results_file_level_count(f); i++) {
        level_key c = results_file_level(f, i)->level;
        if (level_eq(c, level_conc(8)))
            return c;
        if (!best.kind || (best.kind == LEVEL_RATE && c.kind == LEVEL_CONCURRENCY) ||
            (best.kind == c.kind && c.value > best.value))
            best = c;
    }
    return best;
}

/* Take an evaluation file's headline score for its model (the newest file
 * wins when several evaluated the same thing). */
static bench_status read_eval(rmodel *m, const rrun *r, const char *summary, bench_err *err)
{
    int q = -1;
    for (int i = 0; i < Q_COUNT; i++)
        if (strcmp(r->eval, q_eval_name[i]) == 0)
            q = i;
    if (q < 0)
        return bench_fail(err, BENCH_EINPUT, "results file %s: unknown evaluation '%s'", r->path,
                          r->eval);
    cJSON *o = summary ? cJSON_Parse(summary) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, q_summary_key[q]);
    if (!cJSON_IsNumber(v)) {
        cJSON_Delete(o);
        return bench_fail(err, BENCH_EINPUT,
                          "results file %s: the summary attribute has no numeric \"%s\"", r->path,
                          q_summary_key[q]);
    }
    double x = q == Q_MTBENCH ? v->valuedouble : 100.0 * v->valuedouble;
    cJSON_Delete(o);
    if (m->quality_created[q] && strcmp(r->created, m->quality_created[q]) < 0)
        return BENCH_OK;
    m->quality[q] = x;
    m->quality_created[q] = r->created;
    m->quality_simulated[q] = strcmp(r->endpoint_kind, "simulated") == 0;
    return BENCH_OK;
}

/* Read one results file into d. */
static bench_status read_run(rdata *d, const char *path, const report_opts *o, bench_err *err)
{
    bench_status st;
    results_file *f = NULL;
    metrics_acc *acc = NULL;
    req_record *rows = NULL;
    if ((st = results_open(path, &f, err)))
        return st;
    rrun *nr = realloc(d->runs, (d->n_runs + 1) * sizeof *nr);
    if (!nr) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    d->runs = nr;
    rrun *r = &d->runs[d->n_runs++];
    memset(r, 0, sizeof *r);
    r->path = strdup(path);
    r->model = dup_attr(f, "model");
    r->served_model = dup_attr(f, "served_model");
    r->endpoint = dup_attr(f, "endpoint");
    r->endpoint_kind = dup_attr(f, "endpoint_kind");
    r->api = dup_attr(f, "api");
    r->harness_version = dup_attr(f, "harness_version");
    r->created = dup_attr(f, "created_utc");
    r->config = dup_attr(f, "config");
    r->run_status = dup_attr(f, "run_status");
    r->eval = dup_attr(f, "eval");
    r->method = dup_attr(f, "method");
    r->judge_model = dup_attr(f, "judge_model");
    if (!r->path || !r->model || !r->run_status || !r->eval || !r->method || !r->judge_model) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    if (!r->model[0]) {
        st = bench_fail(err, BENCH_EINPUT, "results file %s: no model attribute", path);
        goto out;
    }
    rmodel *m = model_get(d, r->model);
    if (!m) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    const char *kind = results_file_attr(f, "kind");
    if (kind && strcmp(kind, "eval") == 0) {
        st = read_eval(m, r, results_file_attr(f, "summary"), err);
        goto out;
    }
    size_t run_idx = d->n_runs - 1;
    level_key pref = preferred_level(f);
    level_key cur_level = {0, 0};
    for (size_t li = 0; li < results_file_level_count(f); li++) {
        const results_level_info *info = results_file_level(f, li);
        level_key c = info->level;
        cur_level = c;
        size_t n;
        if ((st = results_read_requests_key(f, c, &rows, &n, err)))
            goto out;
        metrics_opts mo;
        metrics_opts_default(&mo);
        mo.slo = o->slo;
        if (o->steady_margin > 0) {
            int64_t span = info->t_end_ns - info->t_start_ns;
            mo.window_lo_ns = info->t_start_ns + (int64_t)(o->steady_margin * (double)span);
            mo.window_hi_ns = info->t_end_ns - (int64_t)(o->steady_margin * (double)span);
        }
        if ((st = metrics_acc_create_key(c, &mo, &acc, err)))
            goto out;
        /* timeline rows before report_feed_level reorders them */
        if (level_eq(c, pref) && !m->tl) {
            m->tl = malloc((n + 1) * sizeof *m->tl);
            if (!m->tl) {
                st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                goto out;
            }
            m->n_tl = 0;
            m->tl_level = c;
            for (size_t k = 0; k < n; k++) {
                if (rows[k].warmup || rows[k].t_send_ns < 0)
                    continue;
                m->tl[m->n_tl++] = (tl_row){
                    rows[k].t_send_ns - info->t_start_ns,
                    rows[k].t_first_token_ns < 0 ? -1 : rows[k].t_first_token_ns - info->t_start_ns,
                    rows[k].t_end_ns - info->t_start_ns, req_class_is_success(rows[k].status)};
            }
        }
        if ((st = report_feed_level(f, c, rows, n, acc, err)))
            goto wrap;
        level_metrics lm;
        if ((st = metrics_acc_finish(acc, &lm, err)))
            goto wrap;
        snprintf(lm.arrival, sizeof lm.arrival, "%s", info->arrival);
        lm.max_concurrency = info->max_concurrency;
        lm.client = info->client;
        /* CDF of the lowest level's TTFT */
        if (li == 0 && (!m->ttft || level_cmp(c, m->ttft_level) <= 0)) {
            size_t nt;
            const double *t = metrics_acc_ttft(acc, &nt);
            free(m->ttft);
            m->ttft = malloc((nt + 1) * sizeof *m->ttft);
            if (!m->ttft) {
                st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(m->ttft, t ? t : m->ttft, nt * sizeof *t);
            qsort(m->ttft, nt, sizeof *m->ttft, cmp_double);
            m->n_ttft = nt;
            m->ttft_level = c;
        }
        if (level_eq(c, pref)) {
            size_t ng;
            const float *g = metrics_acc_itl(acc, &ng);
            memset(m->itl_hist, 0, sizeof m->itl_hist);
            for (size_t k = 0; k < ng; k++) {
                double x = g[k] > 0 ? log10(g[k]) : ITL_LOG_MIN;
                int b = (int)floor((x - ITL_LOG_MIN) * ITL_BINS_PER_DECADE);
                b = b < 0 ? 0 : b >= ITL_NBINS ? ITL_NBINS - 1 : b;
                m->itl_hist[b] += 1.0 / (double)ng;
            }
            m->itl_level = c;
        }
        metrics_acc_destroy(acc);
        acc = NULL;
        free(rows);
        rows = NULL;

        /* The newer run wins a level both measured. */
        size_t k = 0;
        while (k < m->n_levels && level_cmp(m->levels[k].m.key, c) < 0)
            k++;
        if (k < m->n_levels && level_eq(m->levels[k].m.key, c)) {
            if (strcmp(r->created, m->levels[k].created) < 0)
                continue;
        } else {
            rlevel *nl = realloc(m->levels, (m->n_levels + 1) * sizeof *nl);
            if (!nl) {
                st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                goto out;
            }
            m->levels = nl;
            memmove(&m->levels[k + 1], &m->levels[k], (m->n_levels - k) * sizeof *nl);
            m->n_levels++;
        }
        m->levels[k] = (rlevel){lm, *info, r->created, run_idx};
    }
    goto out;
wrap:
    bench_wrap(err, st, "results file %s, level %s", path,
               level_format(cur_level, (char[LEVEL_NAME_MAX]){0}, LEVEL_NAME_MAX));
out:
    metrics_acc_destroy(acc);
    free(rows);
    results_file_close(f);
    return st;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append s (owned; NULL means allocation failed) to the growable array. */
static bench_status push_path(char ***v, size_t *k, size_t *cap, char *s, bench_err *err)
{
    if (s && *k == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, ncap * sizeof *nv);
        if (!nv) {
            free(s);
            s = NULL;
        } else {
            *v = nv;
            *cap = ncap;
        }
    }
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory listing the inputs");
    (*v)[(*k)++] = s;
    return BENCH_OK;
}

/* Expand inputs: files as given, directories to their *.h5 files (sorted).
 * *out is a malloc'ed array of malloc'ed strings, owned by the caller even
 * on failure (*nout tells how many). */
static bench_status expand_inputs(const char *const *in, size_t n, char ***out, size_t *nout,
                                  bench_err *err)
{
    char **v = NULL;
    size_t k = 0, cap = 0;
    bench_status st = BENCH_OK;
    for (size_t i = 0; i < n && !st; i++) {
        struct stat sb;
        DIR *dir = NULL;
        if (stat(in[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            dir = opendir(in[i]);
        if (!dir) {
            st = push_path(&v, &k, &cap, strdup(in[i]), err);
            continue;
        }
        size_t first = k;
        struct dirent *de;
        while (!st && (de = readdir(dir)) != NULL) {
            if (!ends_with(de->d_name, ".h5"))
                continue;
            size_t len = strlen(in[i]) + strlen(de->d_name) + 2;
            char *p = malloc(len);
            if (p)
                snprintf(p, len, "%s/%s", in[i], de->d_name);
            st = push_path(&v, &k, &cap, p, err);
        }
        closedir(dir);
        qsort(v + first, k - first, sizeof *v, cmp_str);
        if (k == first && !st && n > 1) /* one input: the caller's error says it */
            fprintf(stderr, "bench report: %s: no .h5 results files in this directory\n", in[i]);
    }
    *out = v;
    *nout = k;
    return st;
}

/* The error when no input could be read, in one line: the one file's own
 * message, the one directory's emptiness, or a summary of several (whose
 * own lines were printed as they were read). */
static bench_status no_results(const char *const *inputs, size_t n_inputs, size_t nfiles,
                               const bench_err *first_bad, bench_err *err)
{
    if (nfiles == 1 && first_bad->msg[0]) {
        *err = *first_bad;
        return BENCH_EINPUT;
    }
    if (first_bad->msg[0])
        return bench_fail(err, BENCH_EINPUT, "no readable results files (first: %s)",
                          first_bad->msg);
    if (n_inputs == 1)
        return bench_fail(err, BENCH_EINPUT, "%s: no .h5 results files in this directory",
                          inputs[0]);
    return bench_fail(err, BENCH_EINPUT, "no results files given or found");
}

static const char *fmt_num(double v, int prec)
{
    if (isnan(v))
        return "-";
    return rtable_fmt("%.*f", prec, v);
}

static const char *fmt_delta(double measured, double published)
{
    if (isnan(measured) || isnan(published) || published == 0)
        return "-";
    return rtable_fmt("%+.1f%%", 100.0 * (measured - published) / published);
}

static const char *fmt_ctx(int ctx)
{
    if (ctx <= 0)
        return "-";
    if (ctx % 1024 == 0)
        return rtable_fmt("%dK", ctx / 1024);
    return rtable_fmt("%d", ctx);
}

/* The model's concurrency level c, or NULL. */
static const rlevel *level_at(const rmodel *m, int c)
{
    for (size_t i = 0; i < m->n_levels; i++)
        if (level_eq(m->levels[i].m.key, level_conc(c)))
            return &m->levels[i];
    return NULL;
}

static bench_status table_ttft(rdoc *doc, const rdata *d, bench_err *err)
{
    const char *hdr[] = {"Model",         "p50 (ms)", "p99 (ms)", "Context", "published p50",
                         "published p99", "Δ p50",    "Δ p99",    "n"};
    rtable *t;
    bench_status st = rtable_create(9, hdr, "lrrrrrrrr", &t, err);
    if (st)
        return st;
    for (size_t i = 0; i < d->n_models && !st; i++) {
        const rmodel *m = &d->models[i];
        const rlevel *l = level_at(m, 1);
        double p50 = l ? l->m.ttft_ms.p50 : NAN, p99 = l ? l->m.ttft_ms.p99 : NAN;
        double pp50 = m->cat ? m->cat->published.ttft_p50_ms : NAN;
        double pp99 = m->cat ? m->cat->published.ttft_p99_ms : NAN;
        const char *cells[9] = {m->name,
                                fmt_num(p50, 1),
                                fmt_num(p99, 1),
                                fmt_ctx(m->cat ? m->cat->context : 0),
                                fmt_num(pp50, 0),
                                fmt_num(pp99, 0),
                                fmt_delta(p50, pp50),
                                fmt_delta(p99, pp99),
                                l ? rtable_fmt("%zu", (size_t)l->m.ttft_ms.n) : "-"};
        st = rtable_add_row(t, cells, 0, err);
    }
    if (!st)
        rdoc_table(doc, t);
    rtable_destroy(t);
    return st;
}

static bench_status table_throughput(rdoc *doc, const rdata *d, bench_err *err)
{
    /* Columns: every concurrency seen in any model, ascending. */
    int levels[256];
    size_t nl = 0;
    for (size_t i = 0; i < d->n_models; i++)
        for (size_t k = 0; k < d->models[i].n_levels; k++) {
            int c = d->models[i].levels[k].m.concurrency;
            if (d->models[i].levels[k].m.key.kind != LEVEL_CONCURRENCY)
                continue; /* rate levels have their own table */
            size_t j = 0;
            while (j < nl && levels[j] < c)
                j++;
            if ((j < nl && levels[j] == c) || nl == 256)
                continue;
            memmove(&levels[j + 1], &levels[j], (nl - j) * sizeof *levels);
            levels[j] = c;
            nl++;
        }
    size_t ncols = 1 + nl + 3;
    const char **hdr = calloc(ncols, sizeof *hdr);
    char **owned = calloc(nl + 1, sizeof *owned);
    char *align = calloc(ncols + 1, 1);
    rtable *t = NULL;
    bench_status st = BENCH_OK;
    if (!hdr || !owned || !align) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    hdr[0] = "Model";
    align[0] = 'l';
    for (size_t j = 0; j < nl; j++) {
        owned[j] = malloc(32);
        if (!owned[j]) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(owned[j], 32, levels[j] == 8 ? "**c=%d**" : "c=%d", levels[j]);
        hdr[1 + j] = owned[j];
        align[1 + j] = 'r';
    }
    hdr[1 + nl] = "published c=1";
    hdr[2 + nl] = "published c=8";
    hdr[3 + nl] = "Δ c=8";
    align[1 + nl] = align[2 + nl] = align[3 + nl] = 'r';
    if ((st = rtable_create(ncols, hdr, align, &t, err)))
        goto out;
    for (size_t i = 0; i < d->n_models && !st; i++) {
        const rmodel *m = &d->models[i];
        const char *cells[260];
        cells[0] = m->name;
        for (size_t j = 0; j < nl; j++) {
            const rlevel *l = level_at(m, levels[j]);
            double v = l ? l->m.output_tps : NAN;
            cells[1 + j] = isnan(v)         ? "-"
                           : levels[j] == 8 ? rtable_fmt("**%.0f**", v)
                                            : rtable_fmt("%.0f", v);
        }
        const rlevel *l8 = level_at(m, 8);
        double p1 = m->cat ? m->cat->published.tps_c1 : NAN;
        double p8 = m->cat ? m->cat->published.tps_c8 : NAN;
        cells[1 + nl] = fmt_num(p1, 0);
        cells[2 + nl] = fmt_num(p8, 0);
        cells[3 + nl] = fmt_delta(l8 ? l8->m.output_tps : NAN, p8);
        st = rtable_add_row(t, cells, 0, err);
    }
    if (!st)
        rdoc_table(doc, t);
out:
    rtable_destroy(t);
    if (owned)
        for (size_t j = 0; j < nl; j++)
            free(owned[j]);
    free(owned);
    free(hdr);
    free(align);
    return st;
}

/* The open-loop levels: one row per model and offered rate, with what
 * was achieved and the latencies from the intended send time. 0 rows: no
 * table (*any = 0). */
static bench_status table_rates(rdoc *doc, const rdata *d, int *any, bench_err *err)
{
    const char *hdr[] = {"Model",     "offered req/s", "achieved req/s", "ok",        "failed",
                         "out tok/s", "TTFT p50",      "TTFT p99",       "TTFT* p50", "TTFT* p99",
                         "E2E* p50",  "E2E* p99",      "lag p50",        "lag p99",   "arrival",
                         "cap",       "client"};
    rtable *t;
    *any = 0;
    bench_status st = rtable_create(17, hdr, "lrrrrrrrrrrrrrlrl", &t, err);
    if (st)
        return st;
    for (size_t i = 0; i < d->n_models && !st; i++) {
        const rmodel *m = &d->models[i];
        for (size_t k = 0; k < m->n_levels && !st; k++) {
            const level_metrics *l = &m->levels[k].m;
            char name[LEVEL_NAME_MAX];
            if (l->key.kind != LEVEL_RATE)
                continue;
            *any = 1;
            const char *cells[17] = {m->name,
                                     rtable_fmt("%s", level_format(l->key, name, sizeof name) + 1),
                                     fmt_num(l->achieved_rate, 2),
                                     rtable_fmt("%llu", (unsigned long long)l->n_ok),
                                     rtable_fmt("%llu", (unsigned long long)l->n_failed),
                                     fmt_num(l->output_tps, 0),
                                     fmt_num(l->ttft_ms.p50, 1),
                                     fmt_num(l->ttft_ms.p99, 1),
                                     fmt_num(l->ttft_sched_ms.p50, 1),
                                     fmt_num(l->ttft_sched_ms.p99, 1),
                                     fmt_num(l->e2e_sched_ms.p50, 1),
                                     fmt_num(l->e2e_sched_ms.p99, 1),
                                     fmt_num(l->queue_ms.p50, 2),
                                     fmt_num(l->queue_ms.p99, 2),
                                     l->arrival[0] ? l->arrival : "-",
                                     l->max_concurrency > 0 ? rtable_fmt("%d", l->max_concurrency)
                                                            : "-",
                                     !l->client.present     ? "-"
                                     : l->client.warning[0] ? "**limited**"
                                                            : "ok"};
            st = rtable_add_row(t, cells, 0, err);
        }
    }
    if (!st && *any)
        rdoc_table(doc, t);
    rtable_destroy(t);
    return st;
}

static const char *fmt_quality(const rmodel *m, int q)
{
    if (isnan(m->quality[q]))
        return "";
    return rtable_fmt("%.*f%s", q == Q_MTBENCH ? 2 : 1, m->quality[q],
                      m->quality_simulated[q] ? " (sim)" : "");
}

static const char *fmt_points(double measured, double published, int prec)
{
    if (isnan(measured) || isnan(published))
        return "-";
    return rtable_fmt("%+.*f", prec, measured - published);
}

static bench_status table_quality(rdoc *doc, const rdata *d, bench_err *err)
{
    const char *hdr[] = {"Model",
                         "MMLU",
                         "HumanEval",
                         "MT-Bench",
                         "published MMLU",
                         "published HumanEval",
                         "published MT-Bench",
                         "Δ MMLU",
                         "Δ HumanEval",
                         "Δ MT-Bench"};
    rtable *t;
    bench_status st = rtable_create(10, hdr, "lrrrrrrrrr", &t, err);
    if (st)
        return st;
    for (size_t i = 0; i < d->n_models && !st; i++) {
        const rmodel *m = &d->models[i];
        const catalog_published *p = m->cat ? &m->cat->published : NULL;
        double pub[Q_COUNT] = {p ? p->mmlu : NAN, p ? p->humaneval : NAN, p ? p->mtbench : NAN};
        const char *cells[10] = {m->name,
                                 fmt_quality(m, Q_MMLU),
                                 fmt_quality(m, Q_HUMANEVAL),
                                 fmt_quality(m, Q_MTBENCH),
                                 fmt_num(pub[Q_MMLU], 1),
                                 fmt_num(pub[Q_HUMANEVAL], 1),
                                 fmt_num(pub[Q_MTBENCH], 2),
                                 fmt_points(m->quality[Q_MMLU], pub[Q_MMLU], 1),
                                 fmt_points(m->quality[Q_HUMANEVAL], pub[Q_HUMANEVAL], 1),
                                 fmt_points(m->quality[Q_MTBENCH], pub[Q_MTBENCH], 2)};
        st = rtable_add_row(t, cells, 0, err);
    }
    if (!st)
        rdoc_table(doc, t);
    rtable_destroy(t);
    return st;
}

static bench_status table_detail(rdoc *doc, const rmodel *m, int has_slo, bench_err *err)
{
    int any_rate = 0;
    for (size_t i = 0; i < m->n_levels; i++)
        any_rate |= m->levels[i].m.key.kind == LEVEL_RATE;
    const char *hdr[] = {any_rate ? "level" : "c",
                         "ok",
                         "failed",
                         "excluded",
                         "TTFT p50",
                         "TTFT p90",
                         "TTFT p99",
                         "TTFT p99.9",
                         "TPOT p50",
                         "TPOT p99",
                         "ITL/chunk p50",
                         "ITL/chunk p99",
                         "ITL/token p50",
                         "ITL/token p99",
                         "E2E p50",
                         "E2E p99",
                         "lag p99",
                         "out tok/s",
                         "total tok/s",
                         "req/s",
                         "good req/s",
                         "good %"};
    size_t nc = has_slo ? 22 : 20;
    rtable *t;
    bench_status st = rtable_create(nc, hdr, NULL, &t, err);
    if (st)
        return st;
    for (size_t i = 0; i < m->n_levels && !st; i++) {
        const level_metrics *l = &m->levels[i].m;
        char name[LEVEL_NAME_MAX];
        /* more cells than rtable_fmt's ring holds: each is copied at once */
        char keep[22][64];
        const char *cells[22] = {NULL};
        const struct {
            double v;
            int prec;
        } nums[] = {
            {l->ttft_ms.p50, 1},      {l->ttft_ms.p90, 1},    {l->ttft_ms.p99, 1},
            {l->ttft_ms.p999, 1},     {l->tpot_ms.p50, 2},    {l->tpot_ms.p99, 2},
            {l->itl_ms.p50, 2},       {l->itl_ms.p99, 2},     {l->itl_token_ms.p50, 2},
            {l->itl_token_ms.p99, 2}, {l->e2e_ms.p50, 1},     {l->e2e_ms.p99, 1},
            {l->queue_ms.p99, 2},     {l->output_tps, 0},     {l->total_tps, 0},
            {l->req_per_s, 2},        {l->good_req_per_s, 2}, {100.0 * l->good_fraction, 1}};
        if (l->key.kind == LEVEL_RATE)
            snprintf(keep[0], sizeof keep[0], "%s%s", level_format(l->key, name, sizeof name),
                     l->chunks_ne_tokens ? "†" : "");
        else
            snprintf(keep[0], sizeof keep[0], "%d%s", l->concurrency,
                     l->chunks_ne_tokens ? "†" : "");
        snprintf(keep[1], sizeof keep[1], "%llu", (unsigned long long)l->n_ok);
        snprintf(keep[2], sizeof keep[2], "%llu", (unsigned long long)l->n_failed);
        snprintf(keep[3], sizeof keep[3], "%llu",
                 (unsigned long long)(l->n_warmup + l->n_excluded_window));
        for (size_t c = 0; c < nc; c++) {
            if (c >= 4)
                snprintf(keep[c], sizeof keep[c], "%s", fmt_num(nums[c - 4].v, nums[c - 4].prec));
            cells[c] = keep[c];
        }
        st = rtable_add_row(t, cells, level_eq(l->key, level_conc(8)), err);
    }
    if (!st)
        rdoc_table(doc, t);
    rtable_destroy(t);
    if (st)
        return st;
    int any = 0;
    for (size_t i = 0; i < m->n_levels; i++) {
        const level_metrics *l = &m->levels[i].m;
        for (int c = 1; c < REQ_CLASS_COUNT; c++)
            if (l->by_class[c]) {
                if (!any)
                    rdoc_para(doc, "Requests not ok, by class (docs/FORMAT.md):");
                any = 1;
                rdoc_item(doc, "%s: %llu %s",
                          level_label(l->key, (char[LEVEL_NAME_MAX + 16]){0}, LEVEL_NAME_MAX + 16),
                          (unsigned long long)l->by_class[c], req_class_name(c));
            }
    }
    for (size_t i = 0; i < m->n_levels; i++) {
        const level_metrics *l = &m->levels[i].m;
        char text[512];
        if (l->client.present && l->client.warning[0])
            rdoc_note(doc, "WARNING: %s",
                      level_client_sentence(l->key, &l->client, text, sizeof text));
    }
    for (size_t i = 0; i < m->n_levels; i++)
        if (m->levels[i].m.chunks_ne_tokens) {
            rdoc_para(doc, "† at this level the server's token counts differ from its content "
                           "chunks (it merges tokens into chunks): ITL per chunk and per token "
                           "differ; TPOT uses the token count.");
            break;
        }
    return BENCH_OK;
}

static int max_level(const rdata *d)
{
    int mx = 0;
    for (size_t i = 0; i < d->n_models; i++)
        for (size_t l = 0; l < d->models[i].n_levels; l++)
            if (d->models[i].levels[l].m.concurrency > mx)
                mx = d->models[i].levels[l].m.concurrency;
    return mx;
}

/* Render the plots into outdir and add them to the document. A plot that
 * fails is noted in the report and its error returned after the rest. */
static bench_status write_plots(rdoc *doc, const rdata *d, const report_opts *o,
                                const char *plots_dir, bench_err *err)
{
    bench_status first = BENCH_OK;
    size_t nm = d->n_models;
    size_t cap_pts = 0;
    for (size_t i = 0; i < nm; i++)
        cap_pts += d->models[i].n_levels + d->models[i].n_ttft + d->models[i].n_tl + ITL_NBINS;
    double *x = calloc(cap_pts * 2 + 8, sizeof *x), *y = calloc(cap_pts * 2 + 8, sizeof *y);
    double *x2 = calloc(cap_pts + 8, sizeof *x2), *y2 = calloc(cap_pts + 8, sizeof *y2);
    const char **lab = calloc(cap_pts + 8, sizeof *lab);
    char(*labbuf)[16] = calloc(cap_pts + 8, sizeof *labbuf);
    plot_series *ser = calloc(2 * nm + 2, sizeof *ser);
    char(*titles)[160] = calloc(2 * nm + 2, sizeof *titles);
    if (!x || !y || !x2 || !y2 || !lab || !labbuf || !ser || !titles) {
        first = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    struct {
        const char *name, *title, *xl, *yl;
        int logx;
    } plots[] = {
        {"ttft_vs_concurrency", "Time to first token vs concurrency",
         "concurrency (requests in flight)", "TTFT (ms)", 0},
        {"throughput_vs_concurrency", "Output throughput vs concurrency",
         "concurrency (requests in flight)", "output tokens/s", 0},
        {"tradeoff", "Latency-throughput trade-off (points labelled by concurrency)",
         "aggregate output tokens/s", "per-user output tokens/s", 0},
        {"ttft_cdf", "TTFT distribution at the lowest concurrency (CDF)", "TTFT (ms)",
         "fraction of requests", 0},
        {"itl_distribution", "Inter-token latency distribution (per chunk)",
         "inter-token latency (ms, log scale)", "fraction of gaps", 1},
        {"timeline", "Request timeline (send to end; point = first token)",
         "time since level start (s)", "request", 0},
        /* rate sweeps only (open loop) */
        {"ttft_vs_rate", "Time to first token vs offered rate (from the intended send time)",
         "offered rate (requests/s)", "TTFT from intended send (ms)", 0},
        {"throughput_vs_rate", "Output throughput vs offered rate", "offered rate (requests/s)",
         "output tokens/s", 0},
    };
    int any_conc = 0, any_rate = 0;
    double rate_lo = INFINITY, rate_hi = 0;
    for (size_t i = 0; i < nm; i++)
        for (size_t l = 0; l < d->models[i].n_levels; l++) {
            level_key key = d->models[i].levels[l].m.key;
            any_conc |= key.kind == LEVEL_CONCURRENCY;
            if (key.kind == LEVEL_RATE) {
                any_rate = 1;
                rate_lo = fmin(rate_lo, key.value);
                rate_hi = fmax(rate_hi, key.value);
            }
        }
    for (size_t p = 0; p < sizeof plots / sizeof plots[0]; p++) {
        size_t ns = 0, k = 0;
        char title[256], lab1[LEVEL_NAME_MAX + 16];
        /* the concurrency plots for a concurrency sweep, the rate plots for
         * a rate sweep; a report of neither kind (no levels) keeps the
         * concurrency plots, empty */
        if ((p <= 2 && !any_conc && any_rate) || (p >= 6 && !any_rate))
            continue;
        snprintf(title, sizeof title, "%s", plots[p].title);
        for (size_t i = 0; i < nm; i++) {
            const rmodel *m = &d->models[i];
            size_t start = k;
            if (p == 0 || p == 6) {
                for (int pct = 0; pct < 2; pct++) {
                    start = k;
                    for (size_t l = 0; l < m->n_levels; l++) {
                        const level_metrics *lm = &m->levels[l].m;
                        if (lm->key.kind != (p == 0 ? LEVEL_CONCURRENCY : LEVEL_RATE))
                            continue;
                        const stats_dist *t = p == 0 ? &lm->ttft_ms : &lm->ttft_sched_ms;
                        x[k] = lm->key.value;
                        y[k++] = pct ? t->p99 : t->p50;
                    }
                    snprintf(titles[ns], sizeof titles[ns], "%s %s", m->name, pct ? "p99" : "p50");
                    ser[ns] = (plot_series){titles[ns], x + start, y + start, NULL,
                                            NULL,       NULL,      k - start};
                    ns++;
                }
                continue;
            }
            if (p == 1 || p == 2 || p == 7) {
                for (size_t l = 0; l < m->n_levels; l++) {
                    const level_metrics *lm = &m->levels[l].m;
                    if (lm->key.kind != (p == 7 ? LEVEL_RATE : LEVEL_CONCURRENCY))
                        continue;
                    if (p == 1 || p == 7) {
                        x[k] = lm->key.value;
                        y[k] = lm->output_tps;
                    } else {
                        x[k] = lm->output_tps;
                        y[k] = lm->concurrency > 0 ? lm->output_tps / lm->concurrency : NAN;
                        snprintf(labbuf[k], sizeof labbuf[k], "c=%d", lm->concurrency);
                        lab[k] = labbuf[k];
                    }
                    k++;
                }
            } else if (p == 3) {
                for (size_t t = 0; t < m->n_ttft; t++) {
                    x[k] = m->ttft[t];
                    y[k++] = (double)(t + 1) / (double)m->n_ttft;
                }
                if (m->n_ttft)
                    snprintf(title, sizeof title, "TTFT distribution at %s (CDF)",
                             level_label(m->ttft_level, lab1, sizeof lab1));
            } else if (p == 4) {
                for (int b = 0; b < ITL_NBINS; b++) {
                    if (m->itl_hist[b] <= 0)
                        continue;
                    x[k] = pow(10.0, ITL_LOG_MIN + (b + 0.5) / ITL_BINS_PER_DECADE);
                    y[k++] = m->itl_hist[b];
                }
                snprintf(title, sizeof title, "Inter-token latency distribution (per chunk, %s)",
                         level_label(m->itl_level, lab1, sizeof lab1));
            } else if (p == 5) {
                if (i > 0)
                    break; /* one level of the first model */
                for (size_t t = 0; t < m->n_tl; t++) {
                    x[k] = (double)m->tl[t].send / 1e9;
                    x2[k] = (double)m->tl[t].end / 1e9;
                    y[k] = y2[k] = (double)t;
                    y2[k] = m->tl[t].first >= 0 ? (double)m->tl[t].first / 1e9 : NAN;
                    k++;
                }
                snprintf(title, sizeof title,
                         "Request timeline of %s at %s (send to end; point = first token)", m->name,
                         level_label(m->tl_level, lab1, sizeof lab1));
            }
            snprintf(titles[ns], sizeof titles[ns], "%s", m->name);
            ser[ns] = (plot_series){titles[ns],
                                    x + start,
                                    y + start,
                                    p == 5 ? x2 + start : NULL,
                                    p == 5 ? y2 + start : NULL,
                                    p == 2 ? lab + start : NULL,
                                    k - start};
            ns++;
        }
        /* A sweep far past 8 squashes the low levels on a linear axis. */
        int logx = plots[p].logx;
        if ((p == 0 || p == 1) && max_level(d) > 16)
            logx = 1;
        if ((p == 6 || p == 7) && rate_hi > 16 * rate_lo)
            logx = 1;
        plot_spec spec = {plots[p].name, title, plots[p].xl, plots[p].yl, ser, ns, logx, 0};
        bench_err perr;
        bench_status st = plot_render(&spec, plots_dir, o->outdir, &perr);
        char file[128];
        snprintf(file, sizeof file, "%s.png", plots[p].name);
        if (!st)
            st = rdoc_image(doc, file, title, &perr);
        if (st) {
            rdoc_note(doc, "plot %s could not be drawn: %s", plots[p].name, perr.msg);
            if (!first) {
                first = st;
                *err = perr;
            }
        }
    }
out:
    free(x);
    free(y);
    free(x2);
    free(y2);
    free(lab);
    free(labbuf);
    free(ser);
    free(titles);
    return first;
}

static void print_json(const rdata *d, const report_opts *o, size_t n_ok, size_t n_bad)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return;
    cJSON_AddStringToObject(j, "report_dir", o->outdir);
    cJSON_AddNumberToObject(j, "inputs_read", (double)n_ok);
    cJSON_AddNumberToObject(j, "inputs_failed", (double)n_bad);
    cJSON *ms = cJSON_AddArrayToObject(j, "models");
    for (size_t i = 0; i < d->n_models; i++) {
        const rmodel *m = &d->models[i];
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddItemToArray(ms, mo);
        cJSON_AddStringToObject(mo, "model", m->name);
        const char *kind = "";
        if (m->n_levels)
            kind = d->runs[m->levels[0].run].endpoint_kind;
        cJSON_AddStringToObject(mo, "endpoint_kind", kind);
        if (m->cat)
            cJSON_AddNumberToObject(mo, "context", m->cat->context);
        cJSON *q = cJSON_AddObjectToObject(mo, "quality");
        for (int k = 0; k < Q_COUNT; k++)
            if (!isnan(m->quality[k])) {
                cJSON *e = cJSON_AddObjectToObject(q, q_eval_name[k]);
                cJSON_AddNumberToObject(e, "measured", m->quality[k]);
                cJSON_AddBoolToObject(e, "simulated", m->quality_simulated[k]);
            }
        cJSON *lv = cJSON_AddArrayToObject(mo, "levels");
        for (size_t l = 0; l < m->n_levels; l++)
            cJSON_AddItemToArray(lv, summary_level_json(&m->levels[l].m));
    }
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        puts(s);
        free(s);
    }
    cJSON_Delete(j);
}

bench_status report_write(const char *const *inputs, size_t n_inputs, const report_opts *o,
                          size_t *n_ok_out, bench_err *err)
{
    bench_status st = BENCH_OK;
    rdata d = {0};
    char **files = NULL;
    size_t nfiles = 0, n_ok = 0, n_bad = 0;
    rdoc *doc = NULL;
    char catbuf[4096], plotsbuf[4096];
    bench_err first_bad = {{0}};

    const char *catalog_path = o->catalog_path
                                   ? o->catalog_path
                                   : file_in_root("suites/models.json", catbuf, sizeof catbuf);
    const char *plots_dir =
        o->plots_dir ? o->plots_dir : file_in_root("plots", plotsbuf, sizeof plotsbuf);
    if ((st = catalog_load(catalog_path, &d.cat, err))) {
        if (st == BENCH_EIO && o->catalog_path) /* --catalog: a bad flag, exit status 2 */
            st = BENCH_EUSAGE;
        goto out;
    }
    if ((st = expand_inputs(inputs, n_inputs, &files, &nfiles, err)))
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        bench_err e;
        bench_status rs = read_run(&d, files[i], o, &e);
        if (rs == BENCH_ENOMEM) {
            st = rs;
            *err = e;
            goto out;
        }
        if (rs) {
            if (nfiles > 1) /* one file: its message is the error */
                fprintf(stderr, "bench report: %s\n", e.msg);
            if (!n_bad)
                first_bad = e;
            n_bad++;
        } else {
            n_ok++;
        }
    }
    if (n_ok == 0) {
        st = no_results(inputs, n_inputs, nfiles, &first_bad, err);
        goto out;
    }
    if (file_mkdirs(o->outdir)) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create the report directory: %s", o->outdir,
                        strerror(errno));
        goto out;
    }
    if ((st = rdoc_create(o->outdir, "LLM serving report", &doc, err)))
        goto out;

    /* Header: what was measured, where, with what. */
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    rdoc_heading(doc, 1, "LLM serving report");
    rdoc_para(doc, "Generated %s by bench %s from %zu results file(s).", now, BENCH_VERSION, n_ok);
    int simulated = 0, remote = 0;
    for (size_t i = 0; i < d.n_runs; i++) {
        if (strcmp(d.runs[i].endpoint_kind, "simulated") == 0)
            simulated = 1;
        else
            remote = 1;
    }
    if (simulated)
        rdoc_note(doc,
                  "%s figures below were measured on bench's embedded SIMULATED endpoint: "
                  "they describe its calibrated latency model, not a real deployment of any "
                  "model.",
                  remote ? "Some" : "All");
    size_t insecure = 0;
    for (size_t i = 0; i < d.n_runs; i++)
        insecure += config_json_insecure(d.runs[i].config) != 0;
    if (insecure)
        rdoc_note(doc,
                  "WARNING: %zu of these runs used --insecure: the server's TLS certificate was "
                  "not verified, so nothing shows their figures came from the server named.",
                  insecure);
    for (size_t i = 0; i < d.n_runs; i++) {
        const rrun *r = &d.runs[i];
        const char *tls_note =
            config_json_insecure(r->config) ? ", TLS NOT VERIFIED (--insecure)" : "";
        if (r->eval[0])
            rdoc_item(doc,
                      "%s: %s evaluation of %s (served as %s), %s endpoint %s, api %s, method "
                      "%s%s%s, bench %s, created %s%s",
                      r->path, r->eval, r->model, r->served_model, r->endpoint_kind, r->endpoint,
                      r->api, r->method, r->judge_model[0] ? ", judge " : "", r->judge_model,
                      r->harness_version, r->created, tls_note);
        else
            rdoc_item(doc,
                      "%s: model %s (served as %s), %s endpoint %s, api %s, bench %s, created "
                      "%s%s%s",
                      r->path, r->model, r->served_model, r->endpoint_kind, r->endpoint, r->api,
                      r->harness_version, r->created,
                      strcmp(r->run_status, "interrupted") == 0 ? ", INTERRUPTED run" : "",
                      tls_note);
    }
    size_t limited = 0;
    for (size_t i = 0; i < d.n_models; i++)
        for (size_t k = 0; k < d.models[i].n_levels; k++)
            limited += d.models[i].levels[k].m.client.warning[0] != '\0';
    if (limited)
        rdoc_note(doc,
                  "WARNING: at %zu level(s) the client itself may have been the bottleneck "
                  "(its self-measurement warned: see the per-model detail), so those figures "
                  "may show bench's limits rather than the server's.",
                  limited);
    if (o->steady_margin > 0)
        rdoc_para(doc,
                  "Steady state: %.0f%% of each level's span is excluded at each end; the "
                  "detail tables count those requests as excluded.",
                  100 * o->steady_margin);
    if (!isnan(o->slo.ttft_ms) || !isnan(o->slo.tpot_ms) || !isnan(o->slo.e2e_ms))
        rdoc_para(doc, "Goodput SLO: TTFT <= %s ms, TPOT <= %s ms, E2E <= %s ms (- = no limit).",
                  fmt_num(o->slo.ttft_ms, 1), fmt_num(o->slo.tpot_ms, 1),
                  fmt_num(o->slo.e2e_ms, 1));
    rdoc_para(doc, "Definitions: docs/METRICS.md. Percentiles interpolate linearly between closest "
                   "ranks (numpy's default). Warm-up requests are excluded everywhere.");

    rdoc_heading(doc, 2, "1. Time to first token at concurrency 1");
    if ((st = table_ttft(doc, &d, err)))
        goto out;
    rdoc_heading(doc, 2, "2. Output throughput (tok/s) by concurrency");
    if ((st = table_throughput(doc, &d, err)))
        goto out;
    int any_rate = 0;
    for (size_t i = 0; i < d.n_models; i++)
        for (size_t k = 0; k < d.models[i].n_levels; k++)
            any_rate |= d.models[i].levels[k].m.key.kind == LEVEL_RATE;
    if (any_rate) {
        int shown;
        rdoc_heading(doc, 2, "2b. Throughput and latency by offered rate (open loop)");
        if ((st = table_rates(doc, &d, &shown, err)))
            goto out;
        rdoc_para(doc, "Open-loop levels send on a schedule drawn from the seed (arrival process "
                       "and in-flight cap as listed), whatever is in flight. TTFT and E2E marked * "
                       "run from each request's intended send time, so a client that fell behind "
                       "shows in them; lag = schedule lag (actual - intended send). client: ok, or "
                       "limited when the client's self-measurement warned (per-model detail).");
    }
    rdoc_heading(doc, 2, "3. Quality");
    if ((st = table_quality(doc, &d, err)))
        goto out;
    int any_quality = 0;
    for (size_t i = 0; i < d.n_models; i++)
        for (int q = 0; q < Q_COUNT; q++)
            any_quality |= !isnan(d.models[i].quality[q]);
    if (any_quality)
        rdoc_para(doc,
                  "Measured quality from `bench eval` files: MMLU is the macro average over "
                  "the 57 subjects (%%), HumanEval pass@1 (%%), MT-Bench the mean judge rating "
                  "over both turns (1-10); Δ in points. (sim) marks a score played by the "
                  "simulated endpoint, not measured on the model. docs/EVALS.md.");
    else
        rdoc_para(doc, "Measured quality columns fill in from evaluation results (`bench eval`); "
                       "none were found in these inputs.");

    bench_status plot_st = BENCH_OK;
    bench_err plot_err;
    if (o->plots) {
        rdoc_heading(doc, 2, "Plots");
        plot_st = write_plots(doc, &d, o, plots_dir, &plot_err);
    }

    rdoc_heading(doc, 2, "Per-model detail");
    for (size_t i = 0; i < d.n_models; i++) {
        const rmodel *m = &d.models[i];
        if (!m->n_levels)
            continue; /* evaluated only: nothing load-tested to detail */
        rdoc_heading(doc, 3, m->name);
        int has_slo = m->n_levels && m->levels[0].m.has_slo;
        if ((st = table_detail(doc, m, has_slo, err)))
            goto out;
        rdoc_para(doc, "Latencies in ms. excluded = warm-up plus steady-state exclusions. lag = "
                       "schedule lag (send - scheduled). Concurrency 8 highlighted; r<R> is "
                       "an open-loop level at R requests/s.");
    }
    rdoc_heading(doc, 2, "Configurations");
    for (size_t i = 0; i < d.n_runs; i++) {
        rdoc_para(doc, "%s", d.runs[i].path);
        rdoc_code(doc, d.runs[i].config);
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
        fprintf(stderr, "bench report: wrote %s/report.md and %s/report.html\n", o->outdir,
                o->outdir);
    if (o->json)
        print_json(&d, o, n_ok, n_bad);
    if (n_bad) {
        st = BENCH_EINPUT;
        *err = first_bad;
        bench_wrap(err, st, "%zu input(s) skipped, first", n_bad);
    }
out:
    if (doc) {
        bench_err ce;
        rdoc_close(doc, &ce);
    }
    if (n_ok_out)
        *n_ok_out = n_ok;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    rdata_free(&d);
    return st;
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

bench_status report_headlines(const char *const *inputs, size_t n_inputs, const report_opts *o,
                              cJSON **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    rdata d = {0};
    char **files = NULL;
    size_t nfiles = 0, n_ok = 0;
    cJSON *res = NULL;
    bench_err first_bad = {{0}};
    report_opts dflt;
    if (!o) {
        report_opts_default(&dflt);
        o = &dflt;
    }
    *out = NULL;
    if ((st = expand_inputs(inputs, n_inputs, &files, &nfiles, err)))
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        bench_err e;
        bench_status rs = read_run(&d, files[i], o, &e);
        if (rs == BENCH_ENOMEM) {
            st = rs;
            *err = e;
            goto out;
        }
        if (rs) {
            if (nfiles > 1) /* one file: its message is the error */
                fprintf(stderr, "bench report: %s\n", e.msg);
            if (!first_bad.msg[0])
                first_bad = e;
        } else {
            n_ok++;
        }
    }
    if (n_ok == 0) {
        st = no_results(inputs, n_inputs, nfiles, &first_bad, err);
        goto out;
    }
    res = cJSON_CreateObject();
    if (!res) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d.n_models; i++) {
        const rmodel *m = &d.models[i];
        const rlevel *l1 = level_at(m, 1), *lt = level_at(m, 8);
        for (size_t k = m->n_levels; !lt && k-- > 0;)
            if (m->levels[k].m.key.kind == LEVEL_CONCURRENCY)
                lt = &m->levels[k]; /* ascending: the highest concurrency */
        cJSON *h = cJSON_CreateObject();
        if (!h || !cJSON_AddItemToObject(res, m->name, h)) {
            cJSON_Delete(h);
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
        cJSON_AddItemToObject(h, "ttft_p50_ms_c1", num_or_null(l1 ? l1->m.ttft_ms.p50 : NAN));
        cJSON_AddItemToObject(h, "ttft_p99_ms_c1", num_or_null(l1 ? l1->m.ttft_ms.p99 : NAN));
        cJSON_AddItemToObject(h, "tps_c8", num_or_null(lt ? lt->m.output_tps : NAN));
        cJSON_AddItemToObject(h, "tps_level", num_or_null(lt ? lt->m.concurrency : NAN));
        for (int q = 0; q < Q_COUNT; q++)
            cJSON_AddItemToObject(h, q_eval_name[q], num_or_null(m->quality[q]));
        if (cJSON_GetArraySize(h) != 4 + Q_COUNT) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
    }
    *out = res;
    res = NULL;
out:
    cJSON_Delete(res);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    rdata_free(&d);
    return st;
}

static const char report_usage[] =
    "usage: bench report [FILES.h5 | DIR ...] [options]\n"
    "       bench report --trend HISTORY_DIR [--out DIR] [--no-plots]\n"
    "\n"
    "Regenerate the report's tables and plots from results files (never re-runs).\n"
    "Directories contribute every *.h5 inside; with no input, results/ is read.\n"
    "Writes DIR/report.md, DIR/report.html (self-contained) and the plots (PNG, SVG,\n"
    "with the .dat data each was drawn from).\n"
    "\n"
    "  --out DIR             output directory (default results/report)\n"
    "  --slo SPEC            goodput limits, e.g. ttft=100ms,tpot=50ms,e2e=5s\n"
    "  --steady-state F      exclude requests in the first and last fraction F of each\n"
    "                        level's span (0 <= F < 0.5; default 0)\n"
    "  --no-plots            tables only (no gnuplot)\n"
    "  --json                print a JSON summary on stdout\n"
    "  --catalog FILE        model catalog (default suites/models.json)\n"
    "  --trend HISTORY_DIR   instead: each headline figure of the runs recorded in\n"
    "                        HISTORY_DIR/index.jsonl over time, per model, with the\n"
    "                        regressions and baseline promotions marked: DIR/trend.md,\n"
    "                        DIR/trend.html, trend_<figure>.png/.svg (default DIR\n"
    "                        results/trend)\n"
    "  --help\n"
    "\n"
    "Exit status: 0 report written from every input; 2 some input could not be read\n"
    "(named on stderr; the report covers the others) or bad flags; 1 other failure.\n";

int report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"slo", required_argument, NULL, 's'},
        {"steady-state", required_argument, NULL, 'w'},
        {"no-plots", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"catalog", required_argument, NULL, 'c'},
        {"trend", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    report_opts o;
    report_opts_default(&o);
    bench_err err;
    const char *trend = NULL;
    int opt, out_given = 0;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            o.outdir = optarg;
            out_given = 1;
            break;
        case 't':
            trend = optarg;
            break;
        case 's':
            if (metrics_parse_slo(optarg, &o.slo, &err)) {
                fprintf(stderr, "bench report: %s\n", err.msg);
                return 2;
            }
            break;
        case 'w': {
            char *end;
            o.steady_margin = strtod(optarg, &end);
            if (end == optarg || *end || !(o.steady_margin >= 0 && o.steady_margin < 0.5)) {
                fprintf(stderr,
                        "bench report: --steady-state: '%s' is not a fraction in [0, 0.5)\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'n':
            o.plots = 0;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'c':
            o.catalog_path = optarg;
            break;
        case 'h':
            fputs(report_usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "bench report: %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "bench report: unknown option '%s' (see bench report --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (trend) {
        if (optind < argc) {
            fprintf(stderr,
                    "bench report: --trend reads only the history, not results files ('%s')\n",
                    argv[optind]);
            return 2;
        }
        trend_opts to = {trend, out_given ? o.outdir : "results/trend", NULL, o.plots, 0};
        bench_status st = trend_write(&to, &err);
        if (st) {
            fprintf(stderr, "bench report: %s\n", err.msg);
            return bench_exit_code(st);
        }
        return 0;
    }
    const char *dflt[] = {"results"};
    const char *const *in = optind < argc ? (const char *const *)argv + optind : dflt;
    size_t n = optind < argc ? (size_t)(argc - optind) : 1;
    bench_status st = report_write(in, n, &o, NULL, &err);
    if (st) {
        fprintf(stderr, "bench report: %s\n", err.msg);
        return bench_exit_code(st);
    }
    return 0;
}
