#include "level.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

level_key level_conc(int concurrency)
{
    return (level_key){LEVEL_CONCURRENCY, (double)concurrency};
}

level_key level_rate(double rate)
{
    return (level_key){LEVEL_RATE, rate};
}

int level_valid(level_key k)
{
    if (k.kind == LEVEL_CONCURRENCY)
        return k.value >= 1 && k.value <= 1e9 && k.value == floor(k.value);
    if (k.kind == LEVEL_RATE)
        return k.value >= LEVEL_RATE_MIN && k.value <= LEVEL_RATE_MAX;
    return 0;
}

/* The shortest "%.*g" of v that reads back as v and has no exponent. With
 * v in [0.001, 1e5] some precision <= 17 always qualifies. */
static void shortest(double v, char *buf, size_t n)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (!strchr(buf, 'e') && strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, n, "%.17g", v);
}

const char *level_format(level_key k, char *buf, size_t n)
{
    char num[LEVEL_NAME_MAX];
    if (!level_valid(k))
        snprintf(buf, n, "?");
    else if (k.kind == LEVEL_CONCURRENCY)
        snprintf(buf, n, "c%.0f", k.value);
    else {
        shortest(k.value, num, sizeof num);
        snprintf(buf, n, "r%s", num);
    }
    return buf;
}

const char *level_label(level_key k, char *buf, size_t n)
{
    char name[LEVEL_NAME_MAX];
    level_format(k, name, sizeof name);
    if (k.kind == LEVEL_RATE && level_valid(k))
        snprintf(buf, n, "%s req/s", name + 1);
    else if (k.kind == LEVEL_CONCURRENCY && level_valid(k))
        snprintf(buf, n, "c=%s", name + 1);
    else
        snprintf(buf, n, "%s", name);
    return buf;
}

int level_parse(const char *s, level_key *out)
{
    char back[LEVEL_NAME_MAX];
    if (!s || (s[0] != LEVEL_CONCURRENCY && s[0] != LEVEL_RATE) || strlen(s) >= LEVEL_NAME_MAX)
        return -1;
    /* Digits and at most one point only: strtod alone would take "0x10",
     * "inf", " 8" or "1e3". */
    int points = 0;
    if (!s[1])
        return -1;
    for (const char *p = s + 1; *p; p++) {
        if (*p == '.' && s[0] == LEVEL_RATE && points++ == 0)
            continue;
        if (*p < '0' || *p > '9')
            return -1;
    }
    level_key k = {s[0], strtod(s + 1, NULL)};
    if (!level_valid(k) || strcmp(level_format(k, back, sizeof back), s) != 0)
        return -1;
    *out = k;
    return 0;
}

int level_cmp(level_key a, level_key b)
{
    if (a.kind != b.kind)
        return a.kind == LEVEL_CONCURRENCY ? -1 : b.kind == LEVEL_CONCURRENCY ? 1 : a.kind - b.kind;
    return (a.value > b.value) - (a.value < b.value);
}

int level_eq(level_key a, level_key b)
{
    return a.kind == b.kind && a.value == b.value;
}

int level_concurrency(level_key k)
{
    return k.kind == LEVEL_CONCURRENCY ? (int)k.value : 0;
}

/* Append "; " and a formatted clause to buf (capped). */
__attribute__((format(printf, 3, 4))) static void add_clause(char *buf, size_t n, const char *fmt,
                                                             ...)
{
    size_t used = strlen(buf);
    if (used + 2 >= n)
        return;
    if (used) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, n - used, fmt, ap);
    va_end(ap);
}

void level_client_judge(level_client *c, const stats_dist *sched_lag, int max_inflight)
{
    char *w = c->warning;
    size_t n = sizeof c->warning;
    w[0] = '\0';
    if (c->loop_lag_p99_ms > LEVEL_WARN_LOOP_LAG_P99_MS)
        add_clause(w, n, "event-loop lag p99 %.2f ms > %.0f ms", c->loop_lag_p99_ms,
                   LEVEL_WARN_LOOP_LAG_P99_MS);
    /* A spinning worker (--busy-poll) uses its whole core by design. */
    if (c->cpu_busiest > LEVEL_WARN_THREAD_CPU && !c->busy_poll)
        add_clause(w, n, "busiest worker thread at %.0f%% of a core (> %.0f%%)",
                   100 * c->cpu_busiest, 100 * LEVEL_WARN_THREAD_CPU);
    if (c->wall_s > 0 && c->cores > 0 && !c->busy_poll &&
        c->process_cpu_s > LEVEL_WARN_PROCESS_CPU * c->wall_s * c->cores)
        add_clause(w, n, "process CPU %.0f%% of all cores (> %.0f%%)",
                   100 * c->process_cpu_s / (c->wall_s * c->cores), 100 * LEVEL_WARN_PROCESS_CPU);
    if (sched_lag && sched_lag->n && sched_lag->p99 > LEVEL_WARN_SCHED_LAG_P99_MS) {
        add_clause(w, n, "schedule lag p99 %.2f ms > %.0f ms", sched_lag->p99,
                   LEVEL_WARN_SCHED_LAG_P99_MS);
        if (max_inflight > 0 && c->peak_inflight >= max_inflight)
            add_clause(w, n, "the in-flight cap (--max-concurrency %d) was reached", max_inflight);
    }
}

const char *level_client_sentence(level_key k, const level_client *c, char *buf, size_t n)
{
    char label[LEVEL_NAME_MAX + 16];
    snprintf(buf, n,
             "at %s the client itself may have been the bottleneck, so the figures of that level "
             "may show its limits, not the server's (docs/METRICS.md, Client): %s.",
             level_label(k, label, sizeof label), c->warning);
    return buf;
}
