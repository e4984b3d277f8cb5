/* search.c - the SLO search's decision logic (see search.h). */
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *metric_names[] = {"ttft", "tpot", "itl", "e2e"};

/* Percentile suffixes and the stats_dist field each reads. */
static const struct {
    const char *name;
    double q;
} pcts[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}};

static double dist_at(const stats_dist *d, double q)
{
    return q == 50 ? d->p50 : q == 90 ? d->p90 : q == 95 ? d->p95 : q == 99 ? d->p99 : d->p999;
}

static const stats_dist *metric_dist(const level_metrics *m, int metric)
{
    switch (metric) {
    case SEARCH_TTFT:
        return &m->ttft_ms;
    case SEARCH_TPOT:
        return &m->tpot_ms;
    case SEARCH_ITL:
        return &m->itl_ms;
    default:
        return &m->e2e_ms;
    }
}

static const char *pct_name(double q)
{
    for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++)
        if (pcts[i].q == q)
            return pcts[i].name;
    return "p?";
}

/* "100ms", "0.5s", "800us" -> milliseconds; 0 when it is not a positive
 * finite duration with one of those units. */
static int parse_ms(const char *s, double *ms)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || !isfinite(v))
        return 0;
    if (strcmp(end, "ms") == 0)
        *ms = v;
    else if (strcmp(end, "s") == 0)
        *ms = v * 1000;
    else if (strcmp(end, "us") == 0)
        *ms = v / 1000;
    else
        return 0;
    return 1;
}

bench_status search_parse_slo(const char *spec, search_slo *out, bench_err *err)
{
    char buf[512];
    memset(out, 0, sizeof *out);
    out->max_error_rate = 0.01;
    if (strlen(spec) >= sizeof buf)
        return bench_fail(err, BENCH_EUSAGE, "--slo: value too long");
    strcpy(buf, spec);
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        if (!eq)
            return bench_fail(err, BENCH_EUSAGE,
                              "--slo: '%s' should be METRIC_PCT=LIMIT, e.g. ttft_p99=100ms", it);
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(it, "errors") == 0) {
            char *end;
            double v = strtod(val, &end);
            if (end == val || strcmp(end, "%") != 0 || !(v >= 0) || v > 100)
                return bench_fail(err, BENCH_EUSAGE,
                                  "--slo: errors limit '%s' should be a percentage, e.g. 1%%", val);
            out->max_error_rate = v / 100;
            continue;
        }
        char *us = strchr(it, '_');
        int metric = -1;
        double q = -1;
        if (us) {
            *us = '\0';
            for (int i = 0; i < 4; i++)
                if (strcmp(it, metric_names[i]) == 0)
                    metric = i;
            for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++)
                if (strcmp(us + 1, pcts[i].name) == 0)
                    q = pcts[i].q;
        }
        if (metric < 0 || q < 0)
            return bench_fail(err, BENCH_EUSAGE,
                              "--slo: unknown limit '%s%s%s' (metrics ttft, tpot, itl, e2e with "
                              "_p50, _p90, _p95, _p99 or _p999; or errors)",
                              it, us ? "_" : "", us ? us + 1 : "");
        if (out->n == SEARCH_MAX_LIMITS)
            return bench_fail(err, BENCH_EUSAGE, "--slo: more than %d limits", SEARCH_MAX_LIMITS);
        double ms;
        if (!parse_ms(val, &ms))
            return bench_fail(err, BENCH_EUSAGE,
                              "--slo: %s_%s limit '%s' should be a positive duration with a unit "
                              "(us, ms, s)",
                              it, us + 1, val);
        out->lim[out->n++] = (search_limit){metric, q, ms};
    }
    if (out->n == 0)
        return bench_fail(err, BENCH_EUSAGE,
                          "--slo: no latency limit (e.g. ttft_p99=100ms,tpot_p99=50ms)");
    return BENCH_OK;
}

const char *search_limit_name(const search_limit *l, char *buf, size_t n)
{
    snprintf(buf, n, "%s_%s", metric_names[l->metric], pct_name(l->q));
    return buf;
}

double search_limit_value(const search_limit *l, const level_metrics *m)
{
    return dist_at(metric_dist(m, l->metric), l->q);
}

int search_meets(const search_slo *slo, const level_metrics *m, char *why, size_t whysz)
{
    if (m->n_ok == 0) {
        snprintf(why, whysz, "no request succeeded");
        return 0;
    }
    if (m->error_rate > slo->max_error_rate) {
        snprintf(why, whysz, "error rate %.2f%% > %.2f%%", m->error_rate * 100,
                 slo->max_error_rate * 100);
        return 0;
    }
    for (int i = 0; i < slo->n; i++) {
        const search_limit *l = &slo->lim[i];
        double v = search_limit_value(l, m);
        char name[32];
        if (!(v <= l->limit_ms)) { /* NAN (no sample) does not meet it */
            snprintf(why, whysz, "%s %.2f ms > %g ms", search_limit_name(l, name, sizeof name), v,
                     l->limit_ms);
            return 0;
        }
    }
    snprintf(why, whysz, "meets the SLO");
    return 1;
}

void search_slo_format(const search_slo *slo, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    char name[32];
    for (int i = 0; i < slo->n && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s<=%gms", i ? ", " : "",
                               search_limit_name(&slo->lim[i], name, sizeof name),
                               slo->lim[i].limit_ms);
    if (at < n)
        snprintf(buf + at, n - at, ", errors<=%g%%", slo->max_error_rate * 100);
}

struct search {
    search_opts o;
    double lo, hi; /* highest pass, lowest fail; NAN until seen */
    double pending;
    int probes;
    int done;
    const char *stopped;
};

bench_status search_create(const search_opts *o, search **out, bench_err *err)
{
    *out = NULL;
    int conc = o->by == SEARCH_BY_CONCURRENCY;
    if (!(o->start > 0) || !(o->max >= o->start) || o->max_probes < 1 ||
        (conc && (o->start != floor(o->start) || o->max != floor(o->max))) ||
        (!conc && !(o->precision > 0 && o->min > 0 && o->min <= o->start)))
        return bench_fail(err, BENCH_EUSAGE,
                          "search: bad bounds (start %g, max %g, min %g, precision %g, %d probes)",
                          o->start, o->max, o->min, o->precision, o->max_probes);
    search *s = calloc(1, sizeof *s);
    if (!s)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    s->o = *o;
    s->lo = s->hi = NAN;
    s->pending = NAN;
    *out = s;
    return BENCH_OK;
}

void search_destroy(search *s)
{
    free(s);
}

/* The bracket is narrow enough: the stopping rule. */
static int narrow(const search *s)
{
    if (s->o.by == SEARCH_BY_CONCURRENCY)
        return s->hi - s->lo <= 1;
    return (s->hi - s->lo) <= s->o.precision * s->lo;
}

int search_next(search *s, double *load)
{
    if (s->done)
        return 0;
    int conc = s->o.by == SEARCH_BY_CONCURRENCY;
    double next;
    if (s->probes >= s->o.max_probes) {
        s->stopped = "probe budget spent";
        goto end;
    }
    if (isnan(s->lo) && isnan(s->hi)) {
        next = s->o.start;
    } else if (isnan(s->hi)) { /* everything so far met it: expand */
        if (s->lo >= s->o.max) {
            s->stopped = "the highest load allowed meets the SLO";
            goto end;
        }
        next = fmin(s->lo * 2, s->o.max);
    } else if (isnan(s->lo)) { /* everything so far failed: go down */
        if (conc ? s->hi <= 1 : s->hi <= s->o.min) {
            s->stopped = "even the lowest load fails the SLO";
            goto end;
        }
        next = conc ? floor(s->hi / 2) : fmax(s->hi / 2, s->o.min);
    } else {
        if (narrow(s)) {
            s->stopped = conc ? "bracket closed (adjacent concurrencies)"
                              : "bracket within the stated precision";
            goto end;
        }
        next = conc ? floor((s->lo + s->hi) / 2) : (s->lo + s->hi) / 2;
    }
    s->pending = next;
    *load = next;
    return 1;
end:
    s->done = 1;
    return 0;
}

void search_observe(search *s, double load, int pass)
{
    s->probes++;
    s->pending = NAN;
    if (pass) {
        if (isnan(s->lo) || load > s->lo)
            s->lo = load;
    } else if (isnan(s->hi) || load < s->hi) {
        s->hi = load;
    }
    /* search_next only probes outside a one-sided bracket or strictly
     * inside a two-sided one, so lo < hi holds whatever the outcomes. */
}

void search_get_result(const search *s, search_result *r)
{
    r->best = s->lo;
    r->first_fail = s->hi;
    r->probes = s->probes;
    r->stopped = s->stopped ? s->stopped : "still running";
}
