/* compare.c - `bench compare`: baseline against candidate, metric by metric,
 * with confidence intervals and verdicts. docs/COMPARE.md states the rules
 * this file implements. */
#include "compare.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evalres.h"
#include "fileio.h"
#include "metrics.h"
#include "report.h"
#include "results_read.h"
#include "rng.h"

/* Fewer successful requests than this on either side: no interval (and so
 * never a regression) for the bootstrapped metrics. */
#define MIN_REQUESTS 10
/* Degrees of freedom below which a bootstrap standard error is not trusted
 * (fewer than 6 blocks or pairs): no interval. */
#define MIN_DF 5
/* A thresholds file larger than this is not a thresholds file. */
#define THRESHOLDS_MAX (1u << 20)

/* ------------------------------------------------------------------------ */
/* Metrics                                                                   */

typedef struct {
    const char *key;   /* thresholds file, JSON, JUnit */
    const char *label; /* tables */
    const char *unit;  /* "ms", "tok/s", "%" (a fraction shown in percent), "" */
    int rel;           /* change relative (cand / base - 1), else cand - base */
    int dir;           /* +1: higher is worse; -1: lower is worse */
    double dflt;       /* default threshold */
} metric_def;

/* The defaults are what suites/thresholds.json ships with; docs/COMPARE.md
 * says why each is what it is. */
static const metric_def metric_defs[CMP_METRIC_COUNT] = {
    [CMP_TTFT_P50] = {"ttft_p50", "TTFT p50", "ms", 1, 1, 0.10},
    [CMP_TTFT_P99] = {"ttft_p99", "TTFT p99", "ms", 1, 1, 0.15},
    [CMP_TPOT_P50] = {"tpot_p50", "TPOT p50", "ms", 1, 1, 0.10},
    [CMP_TPOT_P99] = {"tpot_p99", "TPOT p99", "ms", 1, 1, 0.20},
    [CMP_ITL_P50] = {"itl_p50", "ITL p50", "ms", 1, 1, 0.10},
    [CMP_ITL_P99] = {"itl_p99", "ITL p99", "ms", 1, 1, 1.00},
    [CMP_E2E_P50] = {"e2e_p50", "E2E p50", "ms", 1, 1, 0.10},
    [CMP_E2E_P99] = {"e2e_p99", "E2E p99", "ms", 1, 1, 0.15},
    [CMP_OUTPUT_TPS] = {"output_tps", "output throughput", "tok/s", 1, -1, 0.08},
    [CMP_ERROR_RATE] = {"error_rate", "error rate", "%", 0, 1, 0.01},
    [CMP_GOODPUT] = {"goodput", "goodput (good fraction)", "%", 0, -1, 0.05},
    [CMP_MMLU] = {"mmlu", "MMLU accuracy", "%", 0, -1, 0.02},
    [CMP_HUMANEVAL] = {"humaneval", "HumanEval pass@1", "%", 0, -1, 0.03},
    [CMP_MTBENCH] = {"mtbench", "MT-Bench score", "", 0, -1, 0.30},
};

const char *compare_metric_key(compare_metric m)
{
    return (int)m >= 0 && m < CMP_METRIC_COUNT ? metric_defs[m].key : NULL;
}

int compare_metric_is_relative(compare_metric m)
{
    return (int)m >= 0 && m < CMP_METRIC_COUNT && metric_defs[m].rel;
}

const char *compare_verdict_name(compare_verdict v)
{
    switch (v) {
    case CMP_REGRESSION:
        return "regression";
    case CMP_IMPROVEMENT:
        return "improvement";
    case CMP_UNCHANGED:
        return "unchanged";
    default:
        return "n/a";
    }
}

void compare_opts_default(compare_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = CMP_TEXT;
    o->seed = 1;
    o->resamples = 2000;
}

/* ------------------------------------------------------------------------ */
/* Thresholds                                                                */

void compare_thresholds_default(compare_thresholds *t)
{
    memset(t, 0, sizeof *t);
    t->alpha = 0.05;
    for (int m = 0; m < CMP_METRIC_COUNT; m++)
        t->threshold[m] = metric_defs[m].dflt;
}

static bench_status thresholds_parse(const char *path, const cJSON *root, compare_thresholds *t,
                                     bench_err *err)
{
    if (!cJSON_IsObject(root))
        return bench_fail(err, BENCH_EINPUT, "%s: not a JSON object", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "bench-thresholds") != 0)
        return bench_fail(err, BENCH_EINPUT, "%s: format: expected \"bench-thresholds\"", path);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
        return bench_fail(err, BENCH_EINPUT, "%s: version: expected 1", path);
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *k = e->string;
        if (strcmp(k, "format") == 0 || strcmp(k, "version") == 0)
            continue;
        if (strcmp(k, "description") == 0) {
            if (!cJSON_IsString(e))
                return bench_fail(err, BENCH_EINPUT, "%s: description: expected a string", path);
        } else if (strcmp(k, "alpha") == 0) {
            if (!cJSON_IsNumber(e) || !(e->valuedouble > 0 && e->valuedouble < 1))
                return bench_fail(err, BENCH_EINPUT, "%s: alpha: expected a number in (0, 1)",
                                  path);
            t->alpha = e->valuedouble;
        } else if (strcmp(k, "slo") == 0) {
            metrics_slo slo;
            bench_err e2;
            if (!cJSON_IsString(e))
                return bench_fail(err, BENCH_EINPUT,
                                  "%s: slo: expected a string such as \"ttft=200ms,tpot=50ms\"",
                                  path);
            if (metrics_parse_slo(e->valuestring, &slo, &e2))
                return bench_fail(err, BENCH_EINPUT, "%s: slo: %s", path, e2.msg);
            if (strlen(e->valuestring) >= sizeof t->slo)
                return bench_fail(err, BENCH_EINPUT, "%s: slo: too long", path);
            strcpy(t->slo, e->valuestring);
        } else if (strcmp(k, "metrics") == 0) {
            if (!cJSON_IsObject(e))
                return bench_fail(err, BENCH_EINPUT, "%s: metrics: expected an object", path);
            for (const cJSON *me = e->child; me; me = me->next) {
                int m = -1;
                for (int i = 0; i < CMP_METRIC_COUNT; i++)
                    if (strcmp(me->string, metric_defs[i].key) == 0)
                        m = i;
                if (m < 0)
                    return bench_fail(err, BENCH_EINPUT,
                                      "%s: metrics.%s: unknown metric (known: ttft_p50, "
                                      "ttft_p99, tpot_p50, tpot_p99, itl_p50, itl_p99, e2e_p50, "
                                      "e2e_p99, output_tps, error_rate, goodput, mmlu, "
                                      "humaneval, mtbench)",
                                      path, me->string);
                const char *want = metric_defs[m].rel ? "rel" : "abs";
                const cJSON *v = cJSON_IsObject(me) ? me->child : NULL;
                if (!v || v->next || strcmp(v->string, want) != 0)
                    return bench_fail(err, BENCH_EINPUT,
                                      "%s: metrics.%s: expected {\"%s\": X} (this metric's "
                                      "threshold is %s)",
                                      path, me->string, want,
                                      metric_defs[m].rel ? "relative to the baseline"
                                                         : "an absolute difference");
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
                    return bench_fail(err, BENCH_EINPUT,
                                      "%s: metrics.%s.%s: expected a number >= 0", path, me->string,
                                      want);
                t->threshold[m] = v->valuedouble;
            }
        } else {
            return bench_fail(err, BENCH_EINPUT,
                              "%s: %s: unknown key (known: format, version, description, alpha, "
                              "slo, metrics)",
                              path, k);
        }
    }
    return BENCH_OK;
}

bench_status compare_thresholds_load(const char *path, compare_thresholds *t, bench_err *err)
{
    char *text = NULL;
    cJSON *root = NULL;
    bench_status st = file_read_all(path, THRESHOLDS_MAX, &text, NULL, err);
    if (st)
        return st == BENCH_ENOMEM ? st : bench_wrap(err, BENCH_EIO, "thresholds");
    compare_thresholds_default(t);
    root = cJSON_Parse(text);
    if (!root) {
        st = bench_fail(err, BENCH_EINPUT, "%s: not valid JSON", path);
        goto out;
    }
    st = thresholds_parse(path, root, t, err);
out:
    cJSON_Delete(root);
    free(text);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

/* Standard normal quantile (Acklam's rational approximation, refined by one
 * Halley step on erfc: about 1e-15 relative). 0 < p < 1. */
static double norm_quantile(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double plow = 0.02425;
    double x;
    if (p < plow) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - plow) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2)) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

/* Student t quantile with df degrees of freedom (Hill's 1970 expansion
 * around the normal quantile: within 1e-3 of the exact value for df >= 5
 * at the levels used here). df <= 0 or infinite: the normal quantile. */
static double t_quantile(double p, double df)
{
    double z = norm_quantile(p);
    if (!(df > 0) || !isfinite(df))
        return z;
    double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
    double g1 = (z3 + z) / 4;
    double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
    double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
    double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
    return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

/* Two-sided p-value of a t statistic: the inverse of t_quantile (found by
 * bisection), so that an interval built with t_quantile excludes zero
 * exactly when this p-value is below its 1 - level. */
static double t_pvalue(double t, double df)
{
    t = fabs(t);
    if (!(df > 0) || !isfinite(df))
        return erfc(t / M_SQRT2);
    /* invert t_quantile by bisection on the normal scale */
    double lo = 0, hi = t;
    for (int i = 0; i < 60; i++) {
        double mid = (lo + hi) / 2;
        if (t_quantile(0.5 * erfc(-mid / M_SQRT2), df) < t)
            lo = mid;
        else
            hi = mid;
    }
    return erfc(lo / M_SQRT2);
}

double compare_mcnemar_p(unsigned long b, unsigned long c)
{
    unsigned long n = b + c, k = b < c ? b : c;
    if (n == 0)
        return 1.0;
    /* P(X <= k), X ~ Binomial(n, 1/2), summed in log space. */
    double lgn = lgamma((double)n + 1), sum = 0;
    for (unsigned long i = 0; i <= k; i++)
        sum += exp(lgn - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * M_LN2);
    double p = 2 * sum;
    return p < 1 ? p : 1.0;
}

/* The k-th smallest of v[0..n-1] (0-based), partially reordering v so that
 * everything after index k is >= it (Hoare's selection). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        /* median of three to v[mid] */
        if (v[mid] < v[lo]) {
            double t = v[mid];
            v[mid] = v[lo];
            v[lo] = t;
        }
        if (v[hi] < v[lo]) {
            double t = v[hi];
            v[hi] = v[lo];
            v[lo] = t;
        }
        if (v[hi] < v[mid]) {
            double t = v[hi];
            v[hi] = v[mid];
            v[mid] = t;
        }
        double pivot = v[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* The q-th percentile of v[0..n-1] (any order; reordered) by numpy's linear
 * method, as stats_percentile_sorted computes it on the sorted values. */
static double pctl_select(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0 || q >= 100 || n == 1) {
        double best = v[0];
        for (size_t i = 1; i < n; i++)
            if (q <= 0 ? v[i] < best : v[i] > best)
                best = v[i];
        return best;
    }
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return select_kth(v, n, n - 1);
    double a = select_kth(v, n, lo);
    double frac = h - (double)lo;
    double b = v[lo + 1];
    for (size_t i = lo + 2; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return a + frac * (b - a);
}

/* A growable double buffer for resampled values. */
typedef struct {
    double *v;
    size_t cap;
} dbuf;

static int dbuf_reserve(dbuf *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 1024;
    while (ncap < n)
        ncap *= 2;
    double *nv = realloc(b->v, ncap * sizeof *nv);
    if (!nv)
        return -1;
    b->v = nv;
    b->cap = ncap;
    return 0;
}

/* The interval of a change from its bootstrap replicates v[0..n-1] (the
 * non-finite ones skipped): the point change +- t sd, sd the replicates'
 * standard deviation (the bootstrap standard error) and t Student's
 * quantile with df degrees of freedom (the blocks or pairs the error rests
 * on; INFINITY for the normal); on the log scale, log(1 + change), for a
 * relative change, so that the interval of a ratio stays positive and
 * skewed as a ratio is. The two-sided p-value of "no change" is the same
 * distribution's. NAN when fewer than half the replicates are usable or
 * df < MIN_DF. docs/COMPARE.md says why not the percentile method. */
static void boot_interval(const double *v, size_t n, double change, int rel, double level,
                          double df, double *lo, double *hi, double *p)
{
    *lo = *hi = *p = NAN;
    double est = rel ? log1p(change) : change;
    if (!isfinite(est))
        return;
    double sum = 0, sum2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double t = rel ? log1p(v[i]) : v[i];
        if (!isfinite(t))
            continue;
        sum += t;
        k++;
    }
    if (k < 2 || k < (n + 1) / 2)
        return;
    double mean = sum / (double)k;
    for (size_t i = 0; i < n; i++) {
        double t = rel ? log1p(v[i]) : v[i];
        if (isfinite(t))
            sum2 += (t - mean) * (t - mean);
    }
    double sd = sqrt(sum2 / (double)(k - 1));
    if (!(df >= MIN_DF))
        return; /* too few blocks to estimate a standard error */
    double z = t_quantile(1 - (1 - level) / 2, df);
    double a = est - z * sd, b = est + z * sd;
    *lo = rel ? expm1(a) : a;
    *hi = rel ? expm1(b) : b;
    *p = sd > 0 ? t_pvalue(est / sd, df) : est == 0 ? 1 : 0;
}

bench_status compare_bootstrap_pctl(const double *x, size_t nx, const double *y, size_t ny,
                                    double q, double level, int resamples, unsigned seed,
                                    double *lo, double *hi, bench_err *err)
{
    *lo = *hi = NAN;
    if (nx == 0 || ny == 0 || resamples <= 0)
        return BENCH_OK;
    double *buf = malloc((nx > ny ? nx : ny) * sizeof *buf);
    double *ch = malloc((size_t)resamples * sizeof *ch);
    if (!buf || !ch) {
        free(buf);
        free(ch);
        return bench_fail(err, BENCH_ENOMEM, "out of memory bootstrapping");
    }
    /* the point change, from the whole samples */
    double px0, py0;
    size_t k0 = 0;
    for (size_t i = 0; i < nx; i++)
        if (!isnan(x[i]))
            buf[k0++] = x[i];
    px0 = pctl_select(buf, k0, q);
    k0 = 0;
    for (size_t i = 0; i < ny; i++)
        if (!isnan(y[i]))
            buf[k0++] = y[i];
    py0 = pctl_select(buf, k0, q);
    rng r;
    rng_seed(&r, seed, 0);
    for (int b = 0; b < resamples; b++) {
        double px, py;
        size_t k = 0;
        for (size_t i = 0; i < nx; i++) {
            double v = x[rng_below(&r, nx)];
            if (!isnan(v))
                buf[k++] = v;
        }
        px = pctl_select(buf, k, q);
        k = 0;
        for (size_t i = 0; i < ny; i++) {
            double v = y[rng_below(&r, ny)];
            if (!isnan(v))
                buf[k++] = v;
        }
        py = pctl_select(buf, k, q);
        ch[b] = py / px - 1;
    }
    double p;
    boot_interval(ch, (size_t)resamples, py0 / px0 - 1, 1, level, INFINITY, lo, hi, &p);
    free(buf);
    free(ch);
    return BENCH_OK;
}

/* Wilson score interval of x successes in n at normal quantile z. */
static void wilson(double x, double n, double z, double *lo, double *hi)
{
    double p = x / n, z2 = z * z;
    double den = 1 + z2 / n;
    double mid = (p + z2 / (2 * n)) / den;
    double half = z / den * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
}

/* Newcombe's hybrid score interval (his method 10) for p2 - p1 of two
 * independent proportions x1/n1 (baseline) and x2/n2 (candidate). */
static void newcombe(double x1, double n1, double x2, double n2, double z, double *lo, double *hi)
{
    double p1 = x1 / n1, p2 = x2 / n2, l1, u1, l2, u2;
    wilson(x1, n1, z, &l1, &u1);
    wilson(x2, n2, z, &l2, &u2);
    double d = p2 - p1;
    *lo = d - sqrt((p2 - l2) * (p2 - l2) + (u1 - p1) * (u1 - p1));
    *hi = d + sqrt((u2 - p2) * (u2 - p2) + (p1 - l1) * (p1 - l1));
}

/* ------------------------------------------------------------------------ */
/* The comparison under construction                                         */

enum { K_NONE, K_BOOT, K_NEWCOMBE, K_MCNEMAR };

/* What a row's interval is computed from once the family size is known. */
typedef struct {
    int kind;
    double *boot; /* K_BOOT: resampled changes (owned) */
    double df;    /* K_BOOT: degrees of freedom of its standard error (INFINITY: normal) */
    size_t n_boot;
    double x1, n1, x2, n2;         /* K_NEWCOMBE: baseline and candidate counts */
    unsigned long a, b, c, d_both; /* K_MCNEMAR: both right, base only, cand only, neither */
} rowx;

typedef struct {
    compare_result *res;
    rowx *x; /* parallel to res->rows */
    size_t cap;
} build;

static bench_status note(compare_result *r, bench_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bench_status note(compare_result *r, bench_err *err, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nv = realloc(r->notes, (r->n_notes + 1) * sizeof *nv);
    if (!nv)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    r->notes = nv;
    if (!(r->notes[r->n_notes] = strdup(buf)))
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    r->n_notes++;
    return BENCH_OK;
}

/* Append a row; x's boot array passes to the build (freed with it, even on
 * failure). */
static bench_status add_row(build *bd, const char *model, const char *scope, compare_metric m,
                            double base, double cand, size_t nb, size_t nc, const char *method,
                            rowx x, const compare_thresholds *th, bench_err *err)
{
    compare_result *r = bd->res;
    if (r->n_rows == bd->cap) {
        size_t ncap = bd->cap ? bd->cap * 2 : 32;
        compare_row *nr = realloc(r->rows, ncap * sizeof *nr);
        if (nr)
            r->rows = nr;
        rowx *nx = nr ? realloc(bd->x, ncap * sizeof *nx) : NULL;
        if (!nr || !nx) {
            free(x.boot);
            return bench_fail(err, BENCH_ENOMEM, "out of memory");
        }
        bd->x = nx;
        bd->cap = ncap;
    }
    compare_row *row = &r->rows[r->n_rows];
    memset(row, 0, sizeof *row);
    row->model = strdup(model);
    row->scope = strdup(scope);
    bd->x[r->n_rows] = x;
    r->n_rows++;
    if (!row->model || !row->scope)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    row->metric = m;
    row->base = base;
    row->cand = cand;
    row->change = metric_defs[m].rel ? cand / base - 1 : cand - base;
    row->lo = row->hi = row->p = NAN;
    row->threshold = th->threshold[m];
    row->method = method;
    row->n_base = nb;
    row->n_cand = nc;
    row->verdict = CMP_NA;
    return BENCH_OK;
}

static void build_free(build *bd)
{
    for (size_t i = 0; bd->x && i < bd->res->n_rows; i++)
        free(bd->x[i].boot);
    free(bd->x);
    bd->x = NULL;
}

void compare_result_free(compare_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_rows; i++) {
        free(res->rows[i].model);
        free(res->rows[i].scope);
    }
    for (size_t i = 0; i < res->n_notes; i++)
        free(res->notes[i]);
    free(res->rows);
    free(res->notes);
    free(res->baseline);
    free(res->candidate);
    free(res->thresholds);
    memset(res, 0, sizeof *res);
}

/* Intervals at 1 - alpha/m and verdicts, once every row is in. */
static void finish_rows(build *bd, double alpha)
{
    compare_result *r = bd->res;
    size_t m = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const compare_row *row = &r->rows[i];
        m += isfinite(row->base) && isfinite(row->cand) && isfinite(row->change);
    }
    double a = m ? alpha / (double)m : alpha;
    double z = norm_quantile(1 - a / 2);
    r->alpha = alpha;
    r->family = m;
    r->level = 1 - a;
    memset(&r->counts, 0, sizeof r->counts);
    for (size_t i = 0; i < r->n_rows; i++) {
        compare_row *row = &r->rows[i];
        rowx *x = &bd->x[i];
        if (!(isfinite(row->base) && isfinite(row->cand) && isfinite(row->change))) {
            row->verdict = CMP_NA;
            continue;
        }
        if (x->kind == K_BOOT) {
            boot_interval(x->boot, x->n_boot, row->change, metric_defs[row->metric].rel, r->level,
                          x->df, &row->lo, &row->hi, &row->p);
        } else if (x->kind == K_NEWCOMBE) {
            newcombe(x->x1, x->n1, x->x2, x->n2, z, &row->lo, &row->hi);
        } else if (x->kind == K_MCNEMAR) {
            /* Agresti-Min: half a pair added to each cell, then Wald. */
            double n = (double)(x->a + x->b + x->c + x->d_both) + 2;
            double p12 = ((double)x->b + 0.5) / n, p21 = ((double)x->c + 0.5) / n;
            double dd = p21 - p12;
            double se = sqrt((p12 + p21 - dd * dd) / n);
            row->lo = dd - z * se;
            row->hi = dd + z * se;
            row->p = compare_mcnemar_p(x->b, x->c);
        }
        int dir = metric_defs[row->metric].dir;
        int sig_worse = dir > 0 ? row->lo > 0 : row->hi < 0;
        int sig_better = dir > 0 ? row->hi < 0 : row->lo > 0;
        if (x->kind == K_MCNEMAR) {
            /* the exact test must agree with the interval */
            sig_worse = sig_worse && row->p < a;
            sig_better = sig_better && row->p < a;
        }
        double worse = (double)dir * row->change;
        if (sig_worse && worse > row->threshold)
            row->verdict = CMP_REGRESSION;
        else if (sig_better && -worse > row->threshold)
            row->verdict = CMP_IMPROVEMENT;
        else
            row->verdict = CMP_UNCHANGED;
        r->counts.compared++;
        r->counts.regressions += row->verdict == CMP_REGRESSION;
        r->counts.improvements += row->verdict == CMP_IMPROVEMENT;
        r->counts.unchanged += row->verdict == CMP_UNCHANGED;
    }
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */

typedef struct {
    char *path;
    char *model, *created, *config, *eval; /* eval: "" for a load-test file */
    level_key *levels;                     /* load tests: its levels, ascending (level_cmp) */
    size_t n_levels;
} cfile;

/* One comparable unit of a side: a level of a load-test file, or an
 * evaluation file. */
typedef struct {
    size_t file;
    level_key lvl;    /* kind 0 for an evaluation */
    const char *eval; /* borrowed from the file; "" for a level */
} centry;

typedef struct {
    const char *arg; /* as given */
    int is_dir;
    cfile *files;
    size_t n_files;
    centry *ent;
    size_t n_ent;
} cside;

static void side_free(cside *s)
{
    for (size_t i = 0; i < s->n_files; i++) {
        cfile *f = &s->files[i];
        free(f->path);
        free(f->model);
        free(f->created);
        free(f->config);
        free(f->eval);
        free(f->levels);
    }
    free(s->files);
    free(s->ent);
    memset(s, 0, sizeof *s);
}

static char *dup_attr(const results_file *f, const char *name)
{
    const char *v = results_file_attr(f, name);
    return strdup(v ? v : "");
}

/* Reading failures are the input's fault as far as the exit status goes
 * (2): the message names the file. */
static bench_status as_input(bench_status st)
{
    return st == BENCH_ENOMEM ? st : BENCH_EINPUT;
}

static bench_status scan_file(cside *s, const char *path, bench_err *err)
{
    results_file *rf = NULL;
    bench_status st = results_open(path, &rf, err);
    if (st)
        return bench_wrap(err, as_input(st), "cannot read %s input", s->is_dir ? "a" : "the");
    cfile *nf = realloc(s->files, (s->n_files + 1) * sizeof *nf);
    if (!nf) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    s->files = nf;
    cfile *f = &s->files[s->n_files++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->model = dup_attr(rf, "model");
    f->created = dup_attr(rf, "created_utc");
    f->config = dup_attr(rf, "config");
    const char *kind = results_file_attr(rf, "kind");
    int is_eval = kind && strcmp(kind, "eval") == 0;
    f->eval = is_eval ? dup_attr(rf, "eval") : strdup("");
    if (!f->path || !f->model || !f->created || !f->config || !f->eval) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    if (!f->model[0]) {
        st = bench_fail(err, BENCH_EINPUT, "%s: no model attribute", path);
        goto out;
    }
    if (is_eval) {
        if (strcmp(f->eval, "mmlu") && strcmp(f->eval, "humaneval") && strcmp(f->eval, "mtbench"))
            st = bench_fail(err, BENCH_EINPUT, "%s: unknown evaluation '%s'", path, f->eval);
        goto out;
    }
    size_t nl = results_file_level_count(rf);
    f->levels = malloc((nl + 1) * sizeof *f->levels);
    if (!f->levels) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nl; i++)
        f->levels[i] = results_file_level(rf, i)->level;
    f->n_levels = nl;
out:
    results_file_close(rf);
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

/* Read a side's metadata: a file, or every *.h5 of a directory (sorted). */
static bench_status scan_side(cside *s, const char *arg, bench_err *err)
{
    struct stat sb;
    bench_status st = BENCH_OK;
    s->arg = arg;
    if (stat(arg, &sb) != 0)
        return bench_fail(err, BENCH_EINPUT, "%s: %s", arg, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return scan_file(s, arg, err);
    s->is_dir = 1;
    DIR *dir = opendir(arg);
    if (!dir)
        return bench_fail(err, BENCH_EINPUT, "%s: %s", arg, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!ends_with(de->d_name, ".h5"))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(names, ncap * sizeof *nv);
            if (!nv) {
                st = bench_fail(err, BENCH_ENOMEM, "out of memory");
                break;
            }
            names = nv;
            cap = ncap;
        }
        size_t len = strlen(arg) + strlen(de->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            break;
        }
        snprintf(names[n++], len, "%s/%s", arg, de->d_name);
    }
    closedir(dir);
    if (!st && n == 0)
        st = bench_fail(err, BENCH_EINPUT, "%s: no .h5 results files in this directory", arg);
    if (!st)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && !st; i++)
        st = scan_file(s, names[i], err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

static const char *scope_name(const centry *e, char *buf, size_t n)
{
    if (!e->lvl.kind)
        return e->eval;
    return level_format(e->lvl, buf, n);
}

/* Same key: same model (unless by_scope) and same level or evaluation. */
static int entry_same(const cside *s, const centry *a, const cside *t, const centry *b,
                      int by_scope)
{
    if (!level_eq(a->lvl, b->lvl) || strcmp(a->eval, b->eval) != 0)
        return 0;
    return by_scope || strcmp(s->files[a->file].model, t->files[b->file].model) == 0;
}

/* Entries of a side: one per level and evaluation file; where two files
 * hold the same (model, level or evaluation), the newer one (created_utc)
 * is used and the other noted. */
static bench_status side_entries(cside *s, const char *which, compare_result *res, bench_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n_files; i++)
        total += s->files[i].eval[0] ? 1 : s->files[i].n_levels;
    s->ent = malloc((total + 1) * sizeof *s->ent);
    if (!s->ent)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_files; i++) {
        const cfile *f = &s->files[i];
        size_t k = f->eval[0] ? 1 : f->n_levels;
        for (size_t j = 0; j < k; j++) {
            centry e = {i, f->eval[0] ? (level_key){0, 0} : f->levels[j], f->eval};
            size_t dup = s->n_ent;
            for (size_t q = 0; q < s->n_ent; q++)
                if (entry_same(s, &s->ent[q], s, &e, 0))
                    dup = q;
            char sc[32];
            if (dup == s->n_ent) {
                s->ent[s->n_ent++] = e;
                continue;
            }
            const cfile *g = &s->files[s->ent[dup].file];
            int newer = strcmp(f->created, g->created) > 0;
            bench_status st = note(res, err, "%s: %s %s of %s ignored: %s is newer", which,
                                   f->model, scope_name(&e, sc, sizeof sc),
                                   newer ? g->path : f->path, newer ? f->path : g->path);
            if (st)
                return st;
            if (newer)
                s->ent[dup] = e;
        }
    }
    return BENCH_OK;
}

/* What a side holds, for a message: "mistral-7b c1, c4; mistral-7b mmlu". */
static const char *side_describe(const cside *s, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n_ent && len + 1 < n; i++) {
        const centry *e = &s->ent[i];
        const char *model = s->files[e->file].model;
        int same = i > 0 && strcmp(model, s->files[s->ent[i - 1].file].model) == 0 &&
                   (e->lvl.kind != 0) == (s->ent[i - 1].lvl.kind != 0);
        char sc[32];
        int w = snprintf(buf + len, n - len, "%s%s%s",
                         i == 0 ? ""
                         : same ? ", "
                                : "; ",
                         same ? "" : model, same ? "" : " ");
        if (w > 0 && (size_t)w < n - len)
            len += (size_t)w;
        w = snprintf(buf + len, n - len, "%s", scope_name(e, sc, sizeof sc));
        if (w > 0 && (size_t)w < n - len)
            len += (size_t)w;
    }
    return buf;
}

/* The configuration fields that must match. */
static const char *const load_fields[] = {"api",           "input_tokens", "output_tokens",
                                          "prompt_source", "dataset",      "ignore_eos",
                                          "temperature"};
static const char *const eval_fields[] = {"api",     "method",      "split",      "shots",
                                          "samples", "temperature", "judge_model"};

/* A field's value as text ("(absent)" when missing); caller frees. */
static char *field_text(const cJSON *cfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return v ? cJSON_PrintUnformatted(v) : strdup("(absent)");
}

/* Compare the configurations of a baseline and a candidate file. Without
 * force, the first difference is the error; with it, each is noted. */
static bench_status check_config(const cfile *b, const cfile *c, int force, compare_result *res,
                                 bench_err *err)
{
    bench_status st = BENCH_OK;
    cJSON *cb = cJSON_Parse(b->config), *cc = cJSON_Parse(c->config);
    if (!cb || !cc) {
        st = bench_fail(err, BENCH_EINPUT, "%s: the config attribute is not JSON",
                        cb ? c->path : b->path);
        goto out;
    }
    const char *const *fields = b->eval[0] ? eval_fields : load_fields;
    size_t nf = b->eval[0] ? sizeof eval_fields / sizeof *eval_fields
                           : sizeof load_fields / sizeof *load_fields;
    for (size_t i = 0; i <= nf && !st; i++) {
        char *vb, *vc;
        const char *name = i == 0 ? "model" : fields[i - 1];
        if (i == 0) {
            vb = strdup(b->model);
            vc = strdup(c->model);
        } else {
            vb = field_text(cb, name);
            vc = field_text(cc, name);
        }
        if (!vb || !vc)
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        else if (strcmp(vb, vc) != 0) {
            if (!force)
                st = bench_fail(err, BENCH_EINPUT,
                                "the runs are not comparable: %s is %s in the baseline (%s) but "
                                "%s in the candidate (%s); --force compares them anyway",
                                name, vb, b->path, vc, c->path);
            else {
                res->forced = 1;
                st = note(res, err, "forced: %s differs: %s in %s, %s in %s", name, vb, b->path, vc,
                          c->path);
            }
        }
        free(vb);
        free(vc);
    }
out:
    cJSON_Delete(cb);
    cJSON_Delete(cc);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Load-test levels                                                          */

typedef struct {
    level_metrics m;
    metrics_req *req; /* owned copy */
    size_t n;
    float *itl; /* owned copy of the per-chunk gaps, unsorted */
    size_t n_itl;
    double tok_sum, span_sum;
    size_t block; /* bootstrap block length (requests) */
} lvl_data;

static void lvl_free(lvl_data *d)
{
    free(d->req);
    free(d->itl);
    memset(d, 0, sizeof *d);
}

/* Send order (ties: the order the accumulator met them). */
static int cmp_req_time(const void *a, const void *b)
{
    const metrics_req *x = a, *y = b;
    if (x->t_begin_ns != y->t_begin_ns)
        return (x->t_begin_ns > y->t_begin_ns) - (x->t_begin_ns < y->t_begin_ns);
    return (x->itl_first > y->itl_first) - (x->itl_first < y->itl_first);
}

/* Read level c of path: its metrics (as bench report computes them, warm-up
 * excluded) and the per-request figures the bootstrap resamples. */
static bench_status load_level(const char *path, level_key c, const metrics_slo *slo, lvl_data *d,
                               bench_err *err)
{
    results_file *f = NULL;
    metrics_acc *acc = NULL;
    req_record *rows = NULL;
    size_t n = 0;
    memset(d, 0, sizeof *d);
    bench_status st = results_open(path, &f, err);
    if (st)
        return as_input(st);
    metrics_opts mo;
    metrics_opts_default(&mo);
    mo.slo = *slo;
    if ((st = results_read_requests_key(f, c, &rows, &n, err)) ||
        (st = metrics_acc_create_key(c, &mo, &acc, err)))
        goto out;
    metrics_acc_keep_requests(acc);
    if ((st = report_feed_level(f, c, rows, n, acc, err)))
        goto out;
    size_t nr, ng;
    const metrics_req *rq = metrics_acc_requests(acc, &nr);
    const float *g = metrics_acc_itl(acc, &ng);
    d->req = malloc((nr + 1) * sizeof *d->req);
    d->itl = malloc((ng + 1) * sizeof *d->itl);
    if (!d->req || !d->itl) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    if (nr)
        memcpy(d->req, rq, nr * sizeof *rq);
    if (ng)
        memcpy(d->itl, g, ng * sizeof *g);
    d->n = nr;
    d->n_itl = ng;
    qsort(d->req, nr, sizeof *d->req, cmp_req_time);
    /* Blocks of consecutive requests: at least the concurrency (requests in
     * flight together share the batch and the client's scheduling; for a
     * rate level the most it had in flight, when recorded), and n^(1/3),
     * the classic block length for variance estimation, so that short
     * episodes stay together too. */
    size_t together = (size_t)level_concurrency(c);
    for (size_t i = 0; c.kind == LEVEL_RATE && i < results_file_level_count(f); i++) {
        const results_level_info *li = results_file_level(f, i);
        if (level_eq(li->level, c) && li->client.present && li->client.peak_inflight > 0)
            together = (size_t)li->client.peak_inflight;
    }
    d->block = (size_t)ceil(cbrt((double)nr));
    if (d->block < together)
        d->block = together;
    if (d->block > nr)
        d->block = nr ? nr : 1;
    for (size_t i = 0; i < nr; i++) {
        d->tok_sum += rq[i].output_tokens;
        d->span_sum += rq[i].span_ms;
    }
    st = metrics_acc_finish(acc, &d->m, err);
out:
    if (st && st != BENCH_ENOMEM)
        bench_wrap(err, st = as_input(st), "%s, level %s", path,
                   level_format(c, (char[LEVEL_NAME_MAX]){0}, LEVEL_NAME_MAX));
    if (st)
        lvl_free(d);
    metrics_acc_destroy(acc);
    free(rows);
    results_file_close(f);
    return st;
}

/* Statistics of one resample, indexed by compare_metric (TTFT p50 ..
 * output tok/s). */
#define N_LOAD_BOOT (CMP_OUTPUT_TPS + 1)

static double req_field(const metrics_req *q, int fam)
{
    return fam == 0 ? q->ttft_ms : fam == 1 ? q->tpot_ms : q->e2e_ms;
}

/* Resample d's requests (idx: n draws) and compute every bootstrapped
 * statistic into out. Percentiles are over the successful requests drawn
 * (ITL: over their gaps), throughput is the ratio estimator of
 * docs/COMPARE.md. -1 when out of memory. */
static int resample_level(const lvl_data *d, rng *r, size_t *idx, dbuf *buf,
                          double out[N_LOAD_BOOT])
{
    size_t n = d->n, total = 0;
    double tok = 0, span = 0;
    for (size_t i = 0; i < n;) {
        size_t start = (size_t)rng_below(r, n);
        for (size_t j = 0; j < d->block && i < n; j++)
            idx[i++] = (start + j) % n;
    }
    for (size_t i = 0; i < n; i++) {
        const metrics_req *q = &d->req[idx[i]];
        total += q->itl_count;
        tok += q->output_tokens;
        span += q->span_ms;
    }
    if (dbuf_reserve(buf, total > n ? total : n))
        return -1;
    static const int slot[3][2] = {
        {CMP_TTFT_P50, CMP_TTFT_P99}, {CMP_TPOT_P50, CMP_TPOT_P99}, {CMP_E2E_P50, CMP_E2E_P99}};
    for (int fam = 0; fam < 3; fam++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            double v = req_field(&d->req[idx[i]], fam);
            if (!isnan(v))
                buf->v[k++] = v;
        }
        out[slot[fam][0]] = pctl_select(buf->v, k, 50);
        out[slot[fam][1]] = pctl_select(buf->v, k, 99);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const metrics_req *q = &d->req[idx[i]];
        for (uint32_t j = 0; j < q->itl_count; j++)
            buf->v[k++] = d->itl[q->itl_first + j];
    }
    out[CMP_ITL_P50] = pctl_select(buf->v, k, 50);
    out[CMP_ITL_P99] = pctl_select(buf->v, k, 99);
    out[CMP_OUTPUT_TPS] = span > 0 && d->tok_sum > 0 && d->span_sum > 0
                              ? d->m.output_tps * (tok / span) / (d->tok_sum / d->span_sum)
                              : NAN;
    return 0;
}

static double level_value(const level_metrics *m, compare_metric k)
{
    switch (k) {
    case CMP_TTFT_P50:
        return m->ttft_ms.p50;
    case CMP_TTFT_P99:
        return m->ttft_ms.p99;
    case CMP_TPOT_P50:
        return m->tpot_ms.p50;
    case CMP_TPOT_P99:
        return m->tpot_ms.p99;
    case CMP_ITL_P50:
        return m->itl_ms.p50;
    case CMP_ITL_P99:
        return m->itl_ms.p99;
    case CMP_E2E_P50:
        return m->e2e_ms.p50;
    case CMP_E2E_P99:
        return m->e2e_ms.p99;
    case CMP_OUTPUT_TPS:
        return m->output_tps;
    case CMP_ERROR_RATE:
        return m->error_rate;
    case CMP_GOODPUT:
        return m->good_fraction;
    default:
        return NAN;
    }
}

static size_t level_count(const level_metrics *m, compare_metric k)
{
    switch (k) {
    case CMP_TTFT_P50:
    case CMP_TTFT_P99:
        return m->ttft_ms.n;
    case CMP_TPOT_P50:
    case CMP_TPOT_P99:
        return m->tpot_ms.n;
    case CMP_ITL_P50:
    case CMP_ITL_P99:
        return m->itl_ms.n;
    case CMP_E2E_P50:
    case CMP_E2E_P99:
        return m->e2e_ms.n;
    case CMP_OUTPUT_TPS:
        return m->n_ok;
    default:
        return m->n_measured;
    }
}

/* The rows of one matched level. */
static bench_status compare_level(build *bd, const char *model, level_key conc, const lvl_data *b,
                                  const lvl_data *c, const compare_opts *o, int has_slo,
                                  uint64_t stream, const compare_thresholds *th, bench_err *err)
{
    bench_status st = BENCH_OK;
    size_t B = o->resamples > 0 ? (size_t)o->resamples : 0;
    double *boot[N_LOAD_BOOT] = {0};
    size_t *idx = malloc((b->n > c->n ? b->n : c->n) * sizeof *idx + 1);
    dbuf buf = {0};
    char scope[LEVEL_NAME_MAX];
    level_format(conc, scope, sizeof scope);
    if (!idx) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (int k = 0; k < N_LOAD_BOOT; k++)
        if (!(boot[k] = malloc((B + 1) * sizeof *boot[k]))) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
    /* The standard error rests on the blocks of the side with fewer. */
    size_t kb = b->block ? (b->n + b->block - 1) / b->block : 0;
    size_t kc = c->block ? (c->n + c->block - 1) / c->block : 0;
    size_t kmin = kb < kc ? kb : kc;
    double df = (double)kmin - 1;
    rng r;
    rng_seed(&r, o->seed, stream);
    for (size_t i = 0; i < B; i++) {
        double sb[N_LOAD_BOOT], sc[N_LOAD_BOOT];
        if (b->m.n_ok < MIN_REQUESTS || c->m.n_ok < MIN_REQUESTS) {
            for (int k = 0; k < N_LOAD_BOOT; k++)
                boot[k][i] = NAN;
            continue;
        }
        if (resample_level(b, &r, idx, &buf, sb) || resample_level(c, &r, idx, &buf, sc)) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory bootstrapping");
            goto out;
        }
        for (int k = 0; k < N_LOAD_BOOT; k++)
            boot[k][i] = sc[k] / sb[k] - 1;
    }
    for (int k = 0; k < N_LOAD_BOOT && !st; k++) {
        rowx x = {.kind = K_BOOT, .boot = boot[k], .n_boot = B, .df = df};
        boot[k] = NULL;
        st = add_row(bd, model, scope, (compare_metric)k, level_value(&b->m, (compare_metric)k),
                     level_value(&c->m, (compare_metric)k), level_count(&b->m, (compare_metric)k),
                     level_count(&c->m, (compare_metric)k), "bootstrap", x, th, err);
    }
    if (!st) {
        rowx x = {.kind = K_NEWCOMBE,
                  .x1 = (double)b->m.n_failed,
                  .n1 = (double)b->m.n_measured,
                  .x2 = (double)c->m.n_failed,
                  .n2 = (double)c->m.n_measured};
        st = add_row(bd, model, scope, CMP_ERROR_RATE, b->m.error_rate, c->m.error_rate,
                     b->m.n_measured, c->m.n_measured, "newcombe", x, th, err);
    }
    if (!st && has_slo) {
        rowx x = {.kind = K_NEWCOMBE,
                  .x1 = (double)b->m.n_good,
                  .n1 = (double)b->m.n_measured,
                  .x2 = (double)c->m.n_good,
                  .n2 = (double)c->m.n_measured};
        st = add_row(bd, model, scope, CMP_GOODPUT, b->m.good_fraction, c->m.good_fraction,
                     b->m.n_measured, c->m.n_measured, "newcombe", x, th, err);
    }
out:
    for (int k = 0; k < N_LOAD_BOOT; k++)
        free(boot[k]);
    free(idx);
    free(buf.v);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Evaluations                                                               */

/* A paired unit: an MMLU item, a HumanEval problem (its samples' pass
 * fraction), an MT-Bench (question, turn) rating. */
typedef struct {
    char *key; /* owned */
    double sum;
    size_t cnt;
} qunit;

static int cmp_qunit(const void *a, const void *b)
{
    return strcmp(((const qunit *)a)->key, ((const qunit *)b)->key);
}

static void units_free(qunit *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(u[i].key);
    free(u);
}

/* The units of an evaluation file, sorted by key and merged (HumanEval:
 * "HumanEval/3#0" and "HumanEval/3#1" are one problem). MT-Bench turns
 * without a rating are left out. *max_cnt: most samples in one unit. */
static bench_status read_units(const char *path, const char *eval, qunit **out, size_t *nout,
                               size_t *max_cnt, bench_err *err)
{
    evalres_item *items = NULL;
    size_t n = 0, k = 0;
    qunit *u = NULL;
    bench_status st = evalres_read_items(path, &items, &n, err);
    if (st)
        return as_input(st);
    int he = strcmp(eval, "humaneval") == 0, mt = strcmp(eval, "mtbench") == 0;
    u = calloc(n + 1, sizeof *u);
    if (!u) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = items[i].id ? items[i].id : "";
        double s = items[i].score;
        if (mt && !(s >= 1))
            continue; /* unrated (-1) or judge failed */
        if (!mt)
            s = s >= 0.5 ? 1 : 0;
        size_t len = he && strchr(id, '#') ? (size_t)(strchr(id, '#') - id) : strlen(id);
        if (!(u[k].key = strndup(id, len))) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory");
            goto out;
        }
        u[k].sum = s;
        u[k].cnt = 1;
        k++;
    }
    qsort(u, k, sizeof *u, cmp_qunit);
    size_t w = 0;
    *max_cnt = 0;
    for (size_t i = 0; i < k; i++) {
        if (w > 0 && strcmp(u[w - 1].key, u[i].key) == 0) {
            u[w - 1].sum += u[i].sum;
            u[w - 1].cnt += u[i].cnt;
            free(u[i].key);
            u[i].key = NULL;
        } else {
            u[w++] = u[i];
            if (w - 1 != i)
                u[i].key = NULL;
        }
    }
    for (size_t i = 0; i < w; i++)
        if (u[i].cnt > *max_cnt)
            *max_cnt = u[i].cnt;
    *out = u;
    *nout = w;
    u = NULL;
out:
    if (u)
        units_free(u, k);
    evalres_items_free(items, n);
    return st;
}

static bench_status compare_eval(build *bd, const char *model, const char *eval, const cfile *fb,
                                 const cfile *fc, const compare_opts *o, uint64_t stream,
                                 const compare_thresholds *th, bench_err *err)
{
    qunit *ub = NULL, *uc = NULL;
    size_t nb = 0, nc = 0, mb = 0, mc = 0, np = 0;
    double *xb = NULL, *xc = NULL, *boot = NULL;
    bench_status st;
    compare_metric metric = strcmp(eval, "mmlu") == 0        ? CMP_MMLU
                            : strcmp(eval, "humaneval") == 0 ? CMP_HUMANEVAL
                                                             : CMP_MTBENCH;
    if ((st = read_units(fb->path, eval, &ub, &nb, &mb, err)) ||
        (st = read_units(fc->path, eval, &uc, &nc, &mc, err)))
        goto out;
    xb = malloc((nb + 1) * sizeof *xb);
    xc = malloc((nb + 1) * sizeof *xc);
    if (!xb || !xc) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0, j = 0; i < nb && j < nc;) {
        int d = strcmp(ub[i].key, uc[j].key);
        if (d < 0) {
            i++;
        } else if (d > 0) {
            j++;
        } else {
            xb[np] = ub[i].sum / (double)ub[i].cnt;
            xc[np] = uc[j].sum / (double)uc[j].cnt;
            np++;
            i++;
            j++;
        }
    }
    const char *unit = metric == CMP_MTBENCH     ? "rated turns"
                       : metric == CMP_HUMANEVAL ? "problems"
                                                 : "items";
    if (np < nb || np < nc)
        if ((st = note(bd->res, err,
                       "%s %s: compared on %zu paired %s (%zu only in %s, %zu only in %s)", model,
                       eval, np, unit, nb - np, fb->path, nc - np, fc->path)))
            goto out;
    double sb = 0, sc = 0;
    for (size_t i = 0; i < np; i++) {
        sb += xb[i];
        sc += xc[i];
    }
    double vb = np ? sb / (double)np : NAN, vc = np ? sc / (double)np : NAN;
    if (metric != CMP_MTBENCH && mb <= 1 && mc <= 1) {
        rowx x = {.kind = K_MCNEMAR};
        for (size_t i = 0; i < np; i++) {
            int rb = xb[i] > 0.5, rc = xc[i] > 0.5;
            x.a += rb && rc;
            x.b += rb && !rc;
            x.c += !rb && rc;
            x.d_both += !rb && !rc;
        }
        st = add_row(bd, model, eval, metric, vb, vc, np, np, "mcnemar", x, th, err);
        goto out;
    }
    /* Paired bootstrap over units: MT-Bench ratings, HumanEval problems
     * with several samples. */
    size_t B = o->resamples > 0 ? (size_t)o->resamples : 0;
    boot = malloc((B + 1) * sizeof *boot);
    if (!boot) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    rng r;
    rng_seed(&r, o->seed, stream);
    for (size_t i = 0; i < B; i++) {
        double s = 0;
        for (size_t k = 0; k < np; k++) {
            size_t q = (size_t)rng_below(&r, np);
            s += xc[q] - xb[q];
        }
        boot[i] = np ? s / (double)np : NAN;
    }
    rowx x = {.kind = K_BOOT, .boot = boot, .n_boot = B, .df = (double)np - 1};
    boot = NULL;
    st = add_row(bd, model, eval, metric, vb, vc, np, np, "paired-bootstrap", x, th, err);
out:
    free(boot);
    free(xb);
    free(xc);
    units_free(ub, nb);
    units_free(uc, nc);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The comparison                                                            */

typedef struct {
    const centry *b, *c;
    const char *model; /* the baseline's (borrowed): sort key */
} cpair;

/* Output order: model, then its levels ascending, then its evaluations. */
static int cmp_pair(const void *x, const void *y)
{
    const cpair *p = x, *q = y;
    int d = strcmp(p->model, q->model);
    if (d)
        return d;
    int ep = !p->b->lvl.kind, eq = !q->b->lvl.kind;
    if (ep != eq)
        return ep - eq;
    if (!ep)
        return level_cmp(p->b->lvl, q->b->lvl);
    return strcmp(p->b->eval, q->b->eval);
}

bench_status compare_run(const char *baseline, const char *candidate, const compare_opts *o,
                         compare_result *res, bench_err *err)
{
    bench_status st = BENCH_OK;
    cside sb = {0}, sc = {0};
    build bd = {res, NULL, 0};
    cpair *pairs = NULL;
    size_t np = 0;
    unsigned char *checked = NULL;
    compare_thresholds th;
    char pathbuf[4096];
    metrics_slo slo = {NAN, NAN, NAN};

    memset(res, 0, sizeof *res);
    res->baseline = strdup(baseline);
    res->candidate = strdup(candidate);
    res->resamples = o->resamples;
    res->seed = o->seed;
    if (!res->baseline || !res->candidate) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    if (o->resamples < 1) {
        st = bench_fail(err, BENCH_EUSAGE, "--resamples: must be at least 1");
        goto out;
    }
    /* Thresholds: the given file, else suites/thresholds.json, else the
     * built-in defaults (the same values). */
    const char *tpath = o->thresholds_path;
    if (!tpath) {
        const char *def = file_in_root("suites/thresholds.json", pathbuf, sizeof pathbuf);
        if (def && access(def, F_OK) == 0)
            tpath = def;
    }
    if (tpath) {
        if ((st = compare_thresholds_load(tpath, &th, err)))
            goto out;
    } else {
        compare_thresholds_default(&th);
    }
    res->thresholds = strdup(tpath ? tpath : "built-in defaults");
    if (!res->thresholds) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    const char *slo_spec = o->slo ? o->slo : th.slo[0] ? th.slo : NULL;
    if (slo_spec && (st = metrics_parse_slo(slo_spec, &slo, err)))
        goto out;

    if ((st = scan_side(&sb, baseline, err)) || (st = scan_side(&sc, candidate, err)))
        goto out;
    if ((st = side_entries(&sb, "baseline", res, err)) ||
        (st = side_entries(&sc, "candidate", res, err)))
        goto out;

    /* Match: by (model, level or evaluation); two single files by level or
     * evaluation alone, so that a model difference is reported as one. */
    int by_scope = !sb.is_dir && !sc.is_dir;
    pairs = malloc((sb.n_ent + 1) * sizeof *pairs);
    if (!pairs) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < sb.n_ent; i++) {
        const centry *hit = NULL;
        for (size_t j = 0; j < sc.n_ent && !hit; j++)
            if (entry_same(&sb, &sb.ent[i], &sc, &sc.ent[j], by_scope))
                hit = &sc.ent[j];
        char sc_[32];
        if (hit)
            pairs[np++] = (cpair){&sb.ent[i], hit, sb.files[sb.ent[i].file].model};
        else if ((st = note(res, err, "only in the baseline: %s %s (%s)",
                            sb.files[sb.ent[i].file].model, scope_name(&sb.ent[i], sc_, sizeof sc_),
                            sb.files[sb.ent[i].file].path)))
            goto out;
    }
    for (size_t j = 0; j < sc.n_ent; j++) {
        int hit = 0;
        for (size_t i = 0; i < sb.n_ent && !hit; i++)
            hit = entry_same(&sb, &sb.ent[i], &sc, &sc.ent[j], by_scope);
        char sc_[32];
        if (!hit &&
            (st =
                 note(res, err, "only in the candidate: %s %s (%s)", sc.files[sc.ent[j].file].model,
                      scope_name(&sc.ent[j], sc_, sizeof sc_), sc.files[sc.ent[j].file].path)))
            goto out;
    }
    if (np == 0) {
        char db[256], dc[256];
        st = bench_fail(err, BENCH_EINPUT,
                        "nothing to compare: no model and concurrency level or evaluation is in "
                        "both %s (%s) and %s (%s)",
                        baseline, side_describe(&sb, db, sizeof db), candidate,
                        side_describe(&sc, dc, sizeof dc));
        goto out;
    }
    qsort(pairs, np, sizeof *pairs, cmp_pair);

    /* Comparable configurations, once per pair of files. */
    checked = calloc(sb.n_files * sc.n_files + 1, 1);
    if (!checked) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        size_t k = pairs[i].b->file * sc.n_files + pairs[i].c->file;
        if (checked[k])
            continue;
        checked[k] = 1;
        if ((st = check_config(&sb.files[pairs[i].b->file], &sc.files[pairs[i].c->file], o->force,
                               res, err)))
            goto out;
    }

    int has_slo = !isnan(slo.ttft_ms) || !isnan(slo.tpot_ms) || !isnan(slo.e2e_ms);
    for (size_t i = 0; i < np; i++) {
        const cfile *fb = &sb.files[pairs[i].b->file], *fc = &sc.files[pairs[i].c->file];
        char model[512];
        if (strcmp(fb->model, fc->model) == 0)
            snprintf(model, sizeof model, "%s", fb->model);
        else
            snprintf(model, sizeof model, "%s vs %s", fb->model, fc->model);
        if (!pairs[i].b->lvl.kind) {
            st = compare_eval(&bd, model, pairs[i].b->eval, fb, fc, o, i, &th, err);
        } else {
            lvl_data db, dc;
            level_key conc = pairs[i].b->lvl;
            if ((st = load_level(fb->path, conc, &slo, &db, err)))
                goto out;
            if (!(st = load_level(fc->path, conc, &slo, &dc, err))) {
                st = compare_level(&bd, model, conc, &db, &dc, o, has_slo, i, &th, err);
                lvl_free(&dc);
            }
            lvl_free(&db);
        }
        if (st)
            goto out;
    }
    finish_rows(&bd, th.alpha);
out:
    build_free(&bd);
    free(pairs);
    free(checked);
    side_free(&sb);
    side_free(&sc);
    if (st)
        compare_result_free(res);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

/* Cells of a row as text. */
typedef struct {
    char metric[64], base[32], cand[32], change[32], ci[80], thr[32], verdict[16];
} cells;

static void fmt_value(char *b, size_t n, const compare_row *r, double v)
{
    const char *u = metric_defs[r->metric].unit;
    if (!isfinite(v))
        snprintf(b, n, "-");
    else if (strcmp(u, "%") == 0)
        snprintf(b, n, "%.2f%%", 100 * v);
    else if (strcmp(u, "ms") == 0)
        snprintf(b, n, v < 10 ? "%.3f" : v < 1000 ? "%.1f" : "%.0f", v);
    else if (strcmp(u, "tok/s") == 0)
        snprintf(b, n, v < 100 ? "%.1f" : "%.0f", v);
    else
        snprintf(b, n, "%.2f", v);
}

/* A change (or an interval bound) in the row's terms: % of the baseline,
 * percentage points, or rating points. */
static void fmt_change(char *b, size_t n, const compare_row *r, double v, int sign)
{
    const metric_def *d = &metric_defs[r->metric];
    if (!isfinite(v))
        snprintf(b, n, "-");
    else if (d->rel)
        snprintf(b, n, sign ? "%+.1f%%" : "%.1f%%", 100 * v);
    else if (strcmp(d->unit, "%") == 0)
        snprintf(b, n, sign ? "%+.2f pt" : "%.2f pt", 100 * v);
    else
        snprintf(b, n, sign ? "%+.2f" : "%.2f", v);
}

static void row_cells(const compare_row *r, cells *c)
{
    const metric_def *d = &metric_defs[r->metric];
    if (strcmp(d->unit, "ms") == 0 || strcmp(d->unit, "tok/s") == 0)
        snprintf(c->metric, sizeof c->metric, "%s (%s)", d->label, d->unit);
    else
        snprintf(c->metric, sizeof c->metric, "%s", d->label);
    fmt_value(c->base, sizeof c->base, r, r->base);
    fmt_value(c->cand, sizeof c->cand, r, r->cand);
    fmt_change(c->change, sizeof c->change, r, r->change, 1);
    char lo[32], hi[32];
    fmt_change(lo, sizeof lo, r, r->lo, 1);
    fmt_change(hi, sizeof hi, r, r->hi, 1);
    if (isfinite(r->lo) && isfinite(r->hi))
        snprintf(c->ci, sizeof c->ci, "[%s, %s]", lo, hi);
    else
        snprintf(c->ci, sizeof c->ci, "-");
    fmt_change(c->thr, sizeof c->thr, r, r->threshold, 0);
    snprintf(c->verdict, sizeof c->verdict, "%s",
             r->verdict == CMP_REGRESSION ? "REGRESSION" : compare_verdict_name(r->verdict));
}

static const char *result_word(const compare_result *r)
{
    return r->counts.regressions ? "REGRESSION" : "no regression";
}

static void group_title(const compare_row *r, char *b, size_t n)
{
    level_key k;
    if (level_parse(r->scope, &k) == 0 && k.kind == LEVEL_CONCURRENCY)
        snprintf(b, n, "%s, concurrency %s", r->model, r->scope + 1);
    else if (level_parse(r->scope, &k) == 0)
        snprintf(b, n, "%s, rate %s req/s", r->model, r->scope + 1);
    else
        snprintf(b, n, "%s, %s", r->model, r->scope);
}

static int same_group(const compare_row *a, const compare_row *b)
{
    return strcmp(a->model, b->model) == 0 && strcmp(a->scope, b->scope) == 0;
}

static void write_text(const compare_result *res, FILE *f)
{
    fprintf(f, "bench compare\n  baseline:   %s\n  candidate:  %s\n  thresholds: %s\n",
            res->baseline, res->candidate, res->thresholds);
    fprintf(f,
            "  intervals:  %.4g%% each (family-wise alpha %g over %zu metric(s), Bonferroni); "
            "%d bootstrap resamples, seed %u\n",
            100 * res->level, res->alpha, res->family, res->resamples, res->seed);
    for (size_t i = 0; i < res->n_notes; i++)
        fprintf(f, "  note: %s\n", res->notes[i]);
    static const char *const hdr[7] = {"metric", "baseline",  "candidate", "change",
                                       "CI",     "threshold", "verdict"};
    for (size_t g = 0; g < res->n_rows;) {
        size_t e = g;
        size_t w[7];
        for (int k = 0; k < 7; k++)
            w[k] = strlen(hdr[k]);
        while (e < res->n_rows && same_group(&res->rows[g], &res->rows[e])) {
            cells c;
            row_cells(&res->rows[e], &c);
            const char *v[7] = {c.metric, c.base, c.cand, c.change, c.ci, c.thr, c.verdict};
            for (int k = 0; k < 7; k++)
                if (strlen(v[k]) > w[k])
                    w[k] = strlen(v[k]);
            e++;
        }
        char title[600];
        group_title(&res->rows[g], title, sizeof title);
        fprintf(f, "\n%s\n", title);
        fprintf(f, "  %-*s  %*s  %*s  %*s  %-*s  %*s  %s\n", (int)w[0], hdr[0], (int)w[1], hdr[1],
                (int)w[2], hdr[2], (int)w[3], hdr[3], (int)w[4], hdr[4], (int)w[5], hdr[5], hdr[6]);
        for (size_t i = g; i < e; i++) {
            cells c;
            row_cells(&res->rows[i], &c);
            fprintf(f, "  %-*s  %*s  %*s  %*s  %-*s  %*s  %s\n", (int)w[0], c.metric, (int)w[1],
                    c.base, (int)w[2], c.cand, (int)w[3], c.change, (int)w[4], c.ci, (int)w[5],
                    c.thr, c.verdict);
        }
        g = e;
    }
    fprintf(f, "\n%s: %d regression(s), %d improvement(s), %d unchanged of %d metrics compared\n",
            result_word(res), res->counts.regressions, res->counts.improvements,
            res->counts.unchanged, res->counts.compared);
}

/* Markdown cell text: '|' escaped, line breaks as spaces. */
static void md_cell(const char *s, FILE *f)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void write_md(const compare_result *res, FILE *f)
{
    fprintf(f, "## bench compare: %s\n\n", result_word(res));
    fprintf(f, "**%d regression(s)**, %d improvement(s), %d unchanged of %d metrics compared.\n\n",
            res->counts.regressions, res->counts.improvements, res->counts.unchanged,
            res->counts.compared);
    fputs("Baseline `", f);
    md_cell(res->baseline, f);
    fputs("`, candidate `", f);
    md_cell(res->candidate, f);
    fprintf(f,
            "`. Intervals at %.4g%% each (family-wise alpha %g over %zu metric(s), Bonferroni; "
            "%d bootstrap resamples, seed %u). A regression is a change worse than the "
            "metric's threshold whose interval excludes zero (docs/COMPARE.md).\n",
            100 * res->level, res->alpha, res->family, res->resamples, res->seed);
    for (size_t i = 0; i < res->n_notes; i++) {
        fputs(i == 0 ? "\n- " : "- ", f);
        md_cell(res->notes[i], f);
        fputc('\n', f);
    }
    for (size_t g = 0; g < res->n_rows;) {
        char title[600];
        group_title(&res->rows[g], title, sizeof title);
        fputs("\n### ", f);
        md_cell(title, f);
        fputs("\n\n| metric | baseline | candidate | change | CI | verdict |\n"
              "|---|---:|---:|---:|---|---|\n",
              f);
        size_t e = g;
        for (; e < res->n_rows && same_group(&res->rows[g], &res->rows[e]); e++) {
            cells c;
            const compare_row *r = &res->rows[e];
            row_cells(r, &c);
            const char *v[6] = {c.metric, c.base, c.cand, c.change, c.ci, NULL};
            for (int k = 0; k < 5; k++) {
                fputs("| ", f);
                md_cell(v[k], f);
                fputc(' ', f);
            }
            if (r->verdict == CMP_REGRESSION)
                fputs("| **regression** |\n", f);
            else
                fprintf(f, "| %s |\n", compare_verdict_name(r->verdict));
        }
        g = e;
    }
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int write_json(const compare_result *res, FILE *f)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return -1;
    cJSON_AddStringToObject(j, "format", "bench-compare");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "result", res->counts.regressions ? "regression" : "ok");
    cJSON_AddStringToObject(j, "baseline", res->baseline);
    cJSON_AddStringToObject(j, "candidate", res->candidate);
    cJSON_AddStringToObject(j, "thresholds", res->thresholds);
    cJSON_AddNumberToObject(j, "alpha", res->alpha);
    cJSON_AddNumberToObject(j, "family", (double)res->family);
    cJSON_AddNumberToObject(j, "ci_level", res->level);
    cJSON_AddNumberToObject(j, "resamples", res->resamples);
    cJSON_AddNumberToObject(j, "seed", res->seed);
    cJSON_AddBoolToObject(j, "forced", res->forced);
    cJSON *c = cJSON_AddObjectToObject(j, "counts");
    cJSON_AddNumberToObject(c, "regressions", res->counts.regressions);
    cJSON_AddNumberToObject(c, "improvements", res->counts.improvements);
    cJSON_AddNumberToObject(c, "unchanged", res->counts.unchanged);
    cJSON_AddNumberToObject(c, "compared", res->counts.compared);
    cJSON *notes = cJSON_AddArrayToObject(j, "notes");
    for (size_t i = 0; i < res->n_notes; i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(res->notes[i]));
    cJSON *rows = cJSON_AddArrayToObject(j, "rows");
    for (size_t i = 0; i < res->n_rows; i++) {
        const compare_row *r = &res->rows[i];
        const metric_def *d = &metric_defs[r->metric];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(rows, o);
        cJSON_AddStringToObject(o, "model", r->model);
        cJSON_AddStringToObject(o, "scope", r->scope);
        cJSON_AddStringToObject(o, "metric", d->key);
        cJSON_AddStringToObject(o, "unit",
                                strcmp(d->unit, "%") == 0 ? "fraction"
                                : d->unit[0]              ? d->unit
                                                          : "rating");
        cJSON_AddStringToObject(o, "change_kind", d->rel ? "relative" : "absolute");
        cJSON_AddStringToObject(o, "worse_when", d->dir > 0 ? "higher" : "lower");
        cJSON_AddItemToObject(o, "baseline", num_or_null(r->base));
        cJSON_AddItemToObject(o, "candidate", num_or_null(r->cand));
        cJSON_AddItemToObject(o, "change", num_or_null(r->change));
        cJSON_AddItemToObject(o, "ci_low", num_or_null(r->lo));
        cJSON_AddItemToObject(o, "ci_high", num_or_null(r->hi));
        cJSON_AddItemToObject(o, "p_value", num_or_null(r->p));
        cJSON_AddNumberToObject(o, "threshold", r->threshold);
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddNumberToObject(o, "n_baseline", (double)r->n_base);
        cJSON_AddNumberToObject(o, "n_candidate", (double)r->n_cand);
        cJSON_AddStringToObject(o, "verdict", compare_verdict_name(r->verdict));
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        return -1;
    fputs(s, f);
    fputc('\n', f);
    free(s);
    return 0;
}

void compare_xml_escape(const char *s, FILE *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
                fputs("\xEF\xBF\xBD", out); /* U+FFFD: not allowed in XML 1.0 */
            else
                fputc(*p, out);
        }
    }
}

static void write_junit(const compare_result *res, FILE *f)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    int na = 0;
    for (size_t i = 0; i < res->n_rows; i++)
        na += res->rows[i].verdict == CMP_NA;
    fprintf(f,
            "<testsuites name=\"bench compare\" tests=\"%zu\" failures=\"%d\" errors=\"0\" "
            "skipped=\"%d\">\n",
            res->n_rows, res->counts.regressions, na);
    for (size_t g = 0; g < res->n_rows;) {
        size_t e = g;
        int fails = 0, skips = 0;
        for (; e < res->n_rows && same_group(&res->rows[g], &res->rows[e]); e++) {
            fails += res->rows[e].verdict == CMP_REGRESSION;
            skips += res->rows[e].verdict == CMP_NA;
        }
        char cls[600];
        snprintf(cls, sizeof cls, "%s.%s", res->rows[g].model, res->rows[g].scope);
        fputs("  <testsuite name=\"", f);
        compare_xml_escape(cls, f);
        fprintf(f, "\" tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"0\">\n",
                e - g, fails, skips);
        fputs("    <properties>\n      <property name=\"baseline\" value=\"", f);
        compare_xml_escape(res->baseline, f);
        fputs("\"/>\n      <property name=\"candidate\" value=\"", f);
        compare_xml_escape(res->candidate, f);
        fprintf(f,
                "\"/>\n      <property name=\"ci_level\" value=\"%.6g\"/>\n"
                "      <property name=\"alpha\" value=\"%g\"/>\n    </properties>\n",
                res->level, res->alpha);
        for (size_t i = g; i < e; i++) {
            const compare_row *r = &res->rows[i];
            cells c;
            row_cells(r, &c);
            fputs("    <testcase classname=\"", f);
            compare_xml_escape(cls, f);
            fputs("\" name=\"", f);
            compare_xml_escape(metric_defs[r->metric].key, f);
            fputs("\" time=\"0\"", f);
            char detail[512];
            snprintf(detail, sizeof detail,
                     "%s: baseline %s, candidate %s, change %s, %.4g%% interval %s, threshold "
                     "%s (%s)",
                     c.metric, c.base, c.cand, c.change, 100 * res->level, c.ci, c.thr, r->method);
            if (r->verdict == CMP_REGRESSION) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s regressed by %s (interval %s, threshold %s)",
                         c.metric, c.change, c.ci, c.thr);
                fputs(">\n      <failure type=\"regression\" message=\"", f);
                compare_xml_escape(msg, f);
                fputs("\">", f);
                compare_xml_escape(detail, f);
                fputs("</failure>\n    </testcase>\n", f);
            } else if (r->verdict == CMP_NA) {
                fputs(">\n      <skipped message=\"not measured in both runs\"/>\n    "
                      "</testcase>\n",
                      f);
            } else {
                fputs(">\n      <system-out>", f);
                compare_xml_escape(compare_verdict_name(r->verdict), f);
                fputs(": ", f);
                compare_xml_escape(detail, f);
                fputs("</system-out>\n    </testcase>\n", f);
            }
        }
        if (g == 0 && res->n_notes) {
            fputs("    <system-out>", f);
            for (size_t i = 0; i < res->n_notes; i++) {
                compare_xml_escape(res->notes[i], f);
                fputc('\n', f);
            }
            fputs("</system-out>\n", f);
        }
        fputs("  </testsuite>\n", f);
        g = e;
    }
    fputs("</testsuites>\n", f);
}

bench_status compare_write(const compare_result *res, compare_format fmt, FILE *out, bench_err *err)
{
    switch (fmt) {
    case CMP_MD:
        write_md(res, out);
        break;
    case CMP_JSON:
        if (write_json(res, out))
            return bench_fail(err, BENCH_ENOMEM, "out of memory writing JSON");
        break;
    case CMP_JUNIT:
        write_junit(res, out);
        break;
    default:
        write_text(res, out);
    }
    if (fflush(out) != 0 || ferror(out))
        return bench_fail(err, BENCH_EIO, "cannot write the comparison: %s", strerror(errno));
    return BENCH_OK;
}

bench_status compare_paths(const char *baseline, const char *candidate, const compare_opts *o,
                           FILE *out, compare_counts *counts, bench_err *err)
{
    compare_result res;
    bench_status st = compare_run(baseline, candidate, o, &res, err);
    if (st)
        return st;
    st = compare_write(&res, o->format, out, err);
    if (counts)
        *counts = res.counts;
    compare_result_free(&res);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */

static const char compare_usage[] =
    "usage: bench compare BASELINE CANDIDATE [options]\n"
    "\n"
    "Is the candidate worse than the baseline? BASELINE and CANDIDATE are results\n"
    "files (bench run, bench eval) or directories of them, matched by model,\n"
    "concurrency level and evaluation. For each metric: both values, the change,\n"
    "its confidence interval (bootstrap over requests; McNemar / paired bootstrap\n"
    "over items for quality) and a verdict. A regression is a change worse than\n"
    "the metric's threshold whose interval excludes zero (docs/COMPARE.md).\n"
    "\n"
    "  --thresholds FILE     per-metric thresholds and alpha\n"
    "                        (default suites/thresholds.json)\n"
    "  --format F            text (default), md, json or junit\n"
    "  --output FILE         write there instead of stdout\n"
    "  --force               compare runs whose configurations differ (noted)\n"
    "  --seed N              bootstrap seed (default 1)\n"
    "  --resamples N         bootstrap resamples (default 2000)\n"
    "  --slo SPEC            also compare goodput, e.g. ttft=200ms,tpot=50ms\n"
    "  --help\n"
    "\n"
    "Exit status: 0 no regression, 1 regression, 2 error (unreadable input,\n"
    "runs that cannot be compared, bad flags).\n";

int compare_main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"thresholds", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'F'},
        {"seed", required_argument, NULL, 's'},
        {"resamples", required_argument, NULL, 'r'},
        {"slo", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    compare_opts o;
    compare_opts_default(&o);
    const char *output = NULL;
    bench_err err = {{0}};
    int opt, code = 2;
    FILE *out = NULL;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
        char *end;
        unsigned long v;
        metrics_slo slo;
        switch (opt) {
        case 't':
            o.thresholds_path = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0)
                o.format = CMP_TEXT;
            else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                o.format = CMP_MD;
            else if (strcmp(optarg, "json") == 0)
                o.format = CMP_JSON;
            else if (strcmp(optarg, "junit") == 0)
                o.format = CMP_JUNIT;
            else {
                fprintf(stderr, "bench compare: --format: '%s' (want text, md, json or junit)\n",
                        optarg);
                return 2;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'F':
            o.force = 1;
            break;
        case 's':
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || errno || v > 0xffffffffUL || optarg[0] == '-') {
                fprintf(stderr, "bench compare: --seed: '%s' is not an integer in [0, 2^32)\n",
                        optarg);
                return 2;
            }
            o.seed = (unsigned)v;
            break;
        case 'r':
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || errno || v < 1 || v > 1000000 || optarg[0] == '-') {
                fprintf(stderr, "bench compare: --resamples: '%s' is out of range [1, 1000000]\n",
                        optarg);
                return 2;
            }
            o.resamples = (int)v;
            break;
        case 'S':
            if (metrics_parse_slo(optarg, &slo, &err)) {
                fprintf(stderr, "bench compare: %s\n", err.msg);
                return 2;
            }
            o.slo = optarg;
            break;
        case 'h':
            fputs(compare_usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "bench compare: %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "bench compare: unknown option '%s' (see bench compare --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "bench compare: expected BASELINE and CANDIDATE (see bench compare "
                        "--help)\n");
        return 2;
    }
    compare_result res;
    bench_status st = compare_run(argv[optind], argv[optind + 1], &o, &res, &err);
    if (st) {
        fprintf(stderr, "bench compare: %s\n", err.msg);
        return 2;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "bench compare: %s: %s\n", output, strerror(errno));
        goto out;
    }
    if ((st = compare_write(&res, o.format, out ? out : stdout, &err))) {
        fprintf(stderr, "bench compare: %s\n", err.msg);
        goto out;
    }
    if (out) {
        int rc = fclose(out);
        out = NULL;
        if (rc) {
            fprintf(stderr, "bench compare: %s: %s\n", output, strerror(errno));
            goto out;
        }
        fprintf(stderr,
                "bench compare: %s: %d regression(s), %d improvement(s), %d unchanged of %d "
                "metrics (written to %s)\n",
                result_word(&res), res.counts.regressions, res.counts.improvements,
                res.counts.unchanged, res.counts.compared, output);
    }
    code = res.counts.regressions ? 1 : 0;
out:
    if (out)
        fclose(out);
    compare_result_free(&res);
    return code;
}
