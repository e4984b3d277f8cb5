#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stats.h"

void config_defaults(run_config *c)
{
    memset(c, 0, sizeof *c);
    c->api = OAI_CHAT;
    for (int i = 0; i < 8; i++)
        c->levels[i] = i + 1;
    c->n_levels = 8;
    c->requests = 100;
    c->warmup = 4;
    c->input_tokens = 256;
    c->output_tokens = 128;
    c->seed = 1;
    c->ignore_eos = 1;
    c->temperature = -1;
    c->timeout.connect_s = 10;
    c->timeout.first_token_s = 120;
    c->timeout.idle_s = 60;
    c->timeout.total_s = 900;
    c->sim_slowdown = 1.0;
    c->arrival = (schedule_arrival){ARRIVAL_POISSON, 1.0};
}

void config_free(run_config *c)
{
    char **strs[] = {&c->model,         &c->served_model, &c->endpoint,     &c->api_key_env,
                     &c->dataset,       &c->output,       &c->catalog_path, &c->sim_faults,
                     &c->sim_log_sends, &c->tokenizer};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    config_tls_free(&c->tls);
}

void config_tls_free(config_tls *t)
{
    free(t->cacert);
    t->cacert = NULL;
}

const char *config_tls_mode(const config_tls *t)
{
    return t->insecure ? "insecure" : t->cacert ? "cacert" : "system";
}

bench_status config_tls_check(const config_tls *t, const char *prefix, bench_err *err)
{
    if (t->insecure && t->cacert)
        return bench_fail(err, BENCH_EUSAGE,
                          "%sinsecure and %scacert contradict each other: %scacert %s verifies "
                          "the server against that file, %sinsecure verifies nothing; give one",
                          prefix, prefix, prefix, t->cacert, prefix);
    if (!t->cacert)
        return BENCH_OK;
    struct stat sb;
    FILE *f = fopen(t->cacert, "r");
    if (!f)
        return bench_fail(err, BENCH_EUSAGE, "%scacert: %s: %s", prefix, t->cacert,
                          strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return bench_fail(err, BENCH_EUSAGE, "%scacert: %s: not a regular file", prefix, t->cacert);
    }
    /* libcurl reads PEM only; a DER file or a key would fail every request. */
    char line[256];
    int pem = 0;
    for (int n = 0; !pem && n < 100000 && fgets(line, sizeof line, f); n++)
        pem = strstr(line, "-----BEGIN CERTIFICATE-----") != NULL;
    fclose(f);
    if (!pem)
        return bench_fail(err, BENCH_EUSAGE,
                          "%scacert: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                          prefix, t->cacert);
    return BENCH_OK;
}

void config_tls_json(struct cJSON *parent, const char *key, const config_tls *t)
{
    cJSON *o = cJSON_AddObjectToObject(parent, key);
    if (!o)
        return;
    cJSON_AddStringToObject(o, "verify", config_tls_mode(t));
    if (t->cacert && !t->insecure)
        cJSON_AddStringToObject(o, "cacert", t->cacert);
    else
        cJSON_AddNullToObject(o, "cacert");
}

int config_json_insecure(const char *config_json)
{
    cJSON *o = config_json ? cJSON_Parse(config_json) : NULL;
    int insecure = 0;
    const char *keys[] = {"tls", "judge_tls"};
    for (size_t i = 0; i < 2 && o; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, keys[i]), "verify");
        insecure |= cJSON_IsString(v) && strcmp(v->valuestring, "insecure") == 0;
    }
    cJSON_Delete(o);
    return insecure;
}

void config_redact(char *msg, const char *secret)
{
    static const char mark[] = "[redacted]";
    size_t k = secret ? strlen(secret) : 0, ml = sizeof mark - 1;
    if (!msg || k == 0)
        return;
    /* Whole occurrences. The replacement is never longer than the secret. */
    char *r = msg, *w = msg;
    while (*r) {
        if (strncmp(r, secret, k) == 0) {
            if (k >= ml) {
                memcpy(w, mark, ml);
                w += ml;
            } else {
                memset(w, '*', k);
                w += k;
            }
            r += k;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    /* A cut-off prefix at the end (a message truncated mid-secret), or
     * before the "..." that marks a cut. */
    size_t n = (size_t)(w - msg), end = n;
    if (n >= 3 && strcmp(msg + n - 3, "...") == 0)
        end = n - 3;
    size_t min = k < 4 ? k : 4;
    for (size_t len = k - 1 < end ? k - 1 : end; len >= min && len > 0; len--) {
        if (memcmp(msg + end - len, secret, len) != 0)
            continue;
        size_t at = end - len;
        size_t put = len >= ml ? ml : len;
        if (len >= ml)
            memcpy(msg + at, mark, ml);
        else
            memset(msg + at, '*', len);
        memmove(msg + at + put, msg + end, n - end + 1);
        break;
    }
}

bench_status config_parse_long(const char *s, const char *flag, long lo, long hi, long *out,
                               bench_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a whole number", flag, s);
    if (v < lo || v > hi)
        return bench_fail(err, BENCH_EUSAGE, "%s: %ld is out of range [%ld, %ld]", flag, v, lo, hi);
    *out = v;
    return BENCH_OK;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* A bad item's message (already in err) followed by the list it came from,
 * unless the item was the whole list: "--concurrency: 0 is out of range
 * [1, 65536] (in '1,0,8')". */
static bench_status bad_item(bench_err *err, const char *s, size_t item_len)
{
    if (err && s[item_len] != '\0') {
        size_t used = strlen(err->msg);
        if (snprintf(err->msg + used, sizeof err->msg - used, " (in '%s')", s) >=
            (int)(sizeof err->msg - used))
            memcpy(err->msg + sizeof err->msg - 4, "...", 4); /* mark the cut */
    }
    return BENCH_EUSAGE;
}

/* Call fn for each comma-separated item of the list s given for flag, as
 * a NUL-terminated copy, with item_len = the item's length when it is the
 * list's first (bad_item then names the list only when there is more). An
 * empty list, an empty or overlong item ("want" says what items look like)
 * and a trailing comma are refused here. */
typedef bench_status (*list_item_fn)(void *ud, char *item, size_t item_len, bench_err *err);

static bench_status each_item(const char *s, const char *flag, const char *want, list_item_fn fn,
                              void *ud, bench_err *err)
{
    const char *p = s;
    if (!*s)
        return bench_fail(err, BENCH_EUSAGE, "%s: empty list", flag);
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item)
            return bench_fail(err, BENCH_EUSAGE, "%s: bad item in '%s' (want %s)", flag, s, want);
        memcpy(item, p, len);
        item[len] = '\0';
        bench_status st = fn(ud, item, p == s ? len : 0, err);
        if (st)
            return st;
        p += len;
        if (*p == ',')
            p++;
        if (comma && !*p)
            return bench_fail(err, BENCH_EUSAGE, "%s: trailing comma in '%s'", flag, s);
    }
    return BENCH_OK;
}

typedef struct {
    const char *s, *flag;
    int *levels;
    double *rates;
    size_t k;
} list_acc;

static bench_status too_many(const list_acc *a, bench_err *err)
{
    return bench_fail(err, BENCH_EUSAGE, "%s: more than %d levels in '%s'", a->flag,
                      CONFIG_MAX_LEVELS, a->s);
}

/* "N" or "N-M", whole concurrencies. */
static bench_status level_item(void *ud, char *item, size_t item_len, bench_err *err)
{
    list_acc *a = ud;
    long lo, hi;
    char *dash = strchr(item, '-');
    if (dash) {
        *dash = '\0';
        if (config_parse_long(item, a->flag, 1, CONFIG_MAX_CONCURRENCY, &lo, err) ||
            config_parse_long(dash + 1, a->flag, 1, CONFIG_MAX_CONCURRENCY, &hi, err))
            return bad_item(err, a->s, item_len);
        if (hi < lo)
            return bench_fail(err, BENCH_EUSAGE, "%s: range %ld-%ld is backwards", a->flag, lo, hi);
    } else {
        if (config_parse_long(item, a->flag, 1, CONFIG_MAX_CONCURRENCY, &lo, err))
            return bad_item(err, a->s, item_len);
        hi = lo;
    }
    for (long v = lo; v <= hi; v++) {
        if (a->k >= CONFIG_MAX_LEVELS)
            return too_many(a, err);
        a->levels[a->k++] = (int)v;
    }
    return BENCH_OK;
}

/* Sort the k elements of v ascending and drop repeats; returns how many
 * remain. Both level lists (ints, finite rates) go through it. */
static size_t sort_unique(void *v, size_t k, size_t elem, int (*cmp)(const void *, const void *))
{
    char *b = v;
    qsort(v, k, elem, cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || cmp(b + (u - 1) * elem, b + i * elem) != 0)
            memmove(b + u++ * elem, b + i * elem, elem);
    return u;
}

bench_status config_parse_levels(const char *s, const char *flag, int *levels, size_t *n,
                                 bench_err *err)
{
    list_acc a = {.s = s, .flag = flag, .levels = levels};
    bench_status st = each_item(s, flag, "N, N-M or a list", level_item, &a, err);
    if (st)
        return st;
    *n = sort_unique(levels, a.k, sizeof *levels, cmp_int);
    return BENCH_OK;
}

bench_status config_parse_duration(const char *s, const char *flag, double *out, bench_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a duration (e.g. 30s, 250ms, 2m)",
                          flag, s);
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        ;
    else if (strcmp(end, "ms") == 0)
        v /= 1000.0;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        v *= 60.0;
    else if (strcmp(end, "h") == 0)
        v *= 3600.0;
    else
        return bench_fail(err, BENCH_EUSAGE, "%s: unknown unit '%s' in '%s' (use ms, s, m, h)",
                          flag, end, s);
    if (v <= 0 || v > 7 * 24 * 3600.0)
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is out of range (0, 7 days]", flag, s);
    *out = v;
    return BENCH_OK;
}

bench_status config_parse_timeouts(const char *s, config_timeouts *t, bench_err *err)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return bench_fail(err, BENCH_EUSAGE, "--timeout: value too long");
    strcpy(buf, s);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            return bench_fail(err, BENCH_EUSAGE,
                              "--timeout: '%s' should be KIND=DURATION "
                              "(kinds: connect, first-token, idle, total)",
                              item);
        *eq = '\0';
        double *dst = NULL;
        if (strcmp(item, "connect") == 0)
            dst = &t->connect_s;
        else if (strcmp(item, "first-token") == 0 || strcmp(item, "ttft") == 0)
            dst = &t->first_token_s;
        else if (strcmp(item, "idle") == 0)
            dst = &t->idle_s;
        else if (strcmp(item, "total") == 0 || strcmp(item, "request") == 0)
            dst = &t->total_s;
        else
            return bench_fail(err, BENCH_EUSAGE,
                              "--timeout: unknown limit '%s' (kinds: connect, first-token, idle, "
                              "total)",
                              item);
        char flag[64];
        snprintf(flag, sizeof flag, "--timeout %s", item);
        bench_status st = config_parse_duration(eq + 1, flag, dst, err);
        if (st)
            return st;
    }
    return BENCH_OK;
}

char *config_to_json(const run_config *c, const char *served_model, const char *endpoint,
                     const char *endpoint_kind)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "model", c->model ? c->model : "");
    cJSON_AddStringToObject(o, "served_model", served_model ? served_model : "");
    cJSON_AddStringToObject(o, "endpoint", endpoint ? endpoint : "");
    cJSON_AddStringToObject(o, "endpoint_kind", endpoint_kind);
    cJSON_AddStringToObject(o, "api", c->api == OAI_CHAT ? "chat" : "completions");
    cJSON_AddStringToObject(o, "api_key_env", c->api_key_env ? c->api_key_env : "OPENAI_API_KEY");
    if (c->n_rates) {
        /* open loop: the rates instead of the concurrencies */
        char arr[SCHEDULE_ARRIVAL_MAX];
        cJSON_AddStringToObject(o, "mode", "rate");
        cJSON *rv = cJSON_AddArrayToObject(o, "rate");
        for (size_t i = 0; i < c->n_rates; i++)
            cJSON_AddItemToArray(rv, cJSON_CreateNumber(c->rates[i]));
        cJSON_AddStringToObject(o, "arrival",
                                schedule_arrival_format(&c->arrival, arr, sizeof arr));
        cJSON_AddNumberToObject(o, "max_concurrency", c->max_concurrency);
    } else {
        cJSON *lv = cJSON_AddArrayToObject(o, "concurrency");
        for (size_t i = 0; i < c->n_levels; i++)
            cJSON_AddItemToArray(lv, cJSON_CreateNumber(c->levels[i]));
    }
    cJSON_AddNumberToObject(o, "requests", (double)c->requests);
    if (c->n_req_levels || c->n_req_rates) {
        cJSON *by = cJSON_AddObjectToObject(o, "requests_by_level");
        for (size_t i = 0; i < c->n_req_levels; i++) {
            char k[32];
            snprintf(k, sizeof k, "%d", c->req_levels[i]);
            cJSON_AddNumberToObject(by, k, (double)c->req_counts[i]);
        }
        for (size_t i = 0; i < c->n_req_rates; i++) {
            char k[LEVEL_NAME_MAX];
            level_format(level_rate(c->req_rates[i]), k, sizeof k);
            cJSON_AddNumberToObject(by, k, (double)c->req_rate_counts[i]);
        }
    }
    cJSON_AddNumberToObject(o, "warmup", (double)c->warmup);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddStringToObject(o, "prompt_source", c->dataset ? "dataset" : "synthetic");
    if (c->dataset)
        cJSON_AddStringToObject(o, "dataset", c->dataset);
    cJSON_AddNumberToObject(o, "input_tokens", c->input_tokens);
    cJSON_AddStringToObject(o, "tokenizer", c->tokenizer ? c->tokenizer : "auto");
    cJSON_AddNumberToObject(o, "output_tokens", c->output_tokens);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddBoolToObject(o, "ignore_eos", c->ignore_eos);
    cJSON_AddBoolToObject(o, "busy_poll", c->busy_poll);
    cJSON_AddStringToObject(o, "transport",
                            c->transport == CONFIG_TRANSPORT_NATIVE    ? "native"
                            : c->transport == CONFIG_TRANSPORT_LIBCURL ? "libcurl"
                                                                       : "auto");
    if (c->temperature >= 0)
        cJSON_AddNumberToObject(o, "temperature", c->temperature);
    cJSON *t = cJSON_AddObjectToObject(o, "timeouts_s");
    cJSON_AddNumberToObject(t, "connect", c->timeout.connect_s);
    cJSON_AddNumberToObject(t, "first_token", c->timeout.first_token_s);
    cJSON_AddNumberToObject(t, "idle", c->timeout.idle_s);
    cJSON_AddNumberToObject(t, "total", c->timeout.total_s);
    config_tls_json(o, "tls", &c->tls);
    if (!c->endpoint) {
        cJSON *s = cJSON_AddObjectToObject(o, "simulator");
        cJSON_AddNumberToObject(s, "slowdown", c->sim_slowdown);
        cJSON_AddStringToObject(s, "faults", c->sim_faults ? c->sim_faults : "");
    }
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

bench_status config_parse_requests(const char *s, run_config *c, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *copy = strdup(s), *save = NULL;
    long dflt = -1;
    size_t n = 0, nr = 0;
    if (!copy)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    if (!*s)
        st = bench_fail(err, BENCH_EUSAGE, "--requests: empty value");
    for (char *tok = st ? NULL : strtok_r(copy, ",", &save); tok && !st;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            if (dflt >= 0)
                st = bench_fail(err, BENCH_EUSAGE, "--requests: '%s': two default counts", s);
            else
                st = config_parse_long(tok, "--requests", 1, 100000000, &dflt, err);
            continue;
        }
        *eq = '\0';
        long lvl, cnt;
        if (tok[0] == 'r') {
            /* a rate level: "r2.5=300" */
            double rate[1];
            size_t one = 0;
            if (!strpbrk(tok + 1, "-,:") &&
                config_parse_rates(tok + 1, "--requests", rate, &one, NULL) == BENCH_OK &&
                one == 1 && nr < CONFIG_MAX_LEVELS) {
                if ((st = config_parse_long(eq + 1, "--requests", 1, 100000000, &cnt, err)))
                    break;
                c->req_rates[nr] = rate[0];
                c->req_rate_counts[nr++] = cnt;
                continue;
            }
        }
        if (tok[0] != 'c' ||
            config_parse_long(tok + 1, "--requests", 1, CONFIG_MAX_CONCURRENCY, &lvl, NULL) ||
            n >= CONFIG_MAX_LEVELS) {
            st = bench_fail(err, BENCH_EUSAGE,
                            "--requests: '%s' (want N or N,cL=M or N,rR=M, e.g. 60,c1=300)", s);
            break;
        }
        if ((st = config_parse_long(eq + 1, "--requests", 1, 100000000, &cnt, err)))
            break;
        c->req_levels[n] = (int)lvl;
        c->req_counts[n++] = cnt;
    }
    if (!st) {
        if (dflt >= 0)
            c->requests = dflt;
        c->n_req_levels = n;
        c->n_req_rates = nr;
    }
    free(copy);
    return st;
}

long config_requests_for(const run_config *c, int level)
{
    for (size_t i = 0; i < c->n_req_levels; i++)
        if (c->req_levels[i] == level)
            return c->req_counts[i];
    return c->requests;
}

long config_requests_for_level(const run_config *c, level_key k)
{
    if (k.kind == LEVEL_CONCURRENCY)
        return config_requests_for(c, level_concurrency(k));
    for (size_t i = 0; i < c->n_req_rates; i++)
        if (c->req_rates[i] == k.value)
            return c->req_rate_counts[i];
    return c->requests;
}

size_t config_level_count(const run_config *c)
{
    return c->n_rates ? c->n_rates : c->n_levels;
}

level_key config_level(const run_config *c, size_t i)
{
    return c->n_rates ? level_rate(c->rates[i]) : level_conc(c->levels[i]);
}

/* One rate of a --rate list: a finite number in range. */
static bench_status parse_rate(const char *s, const char *flag, double *out, bench_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || strpbrk(s, "xXnN"))
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s' is not a rate (requests/s, e.g. 2.5)", flag,
                          s);
    if (v < LEVEL_RATE_MIN || v > LEVEL_RATE_MAX)
        return bench_fail(err, BENCH_EUSAGE, "%s: %s is out of range [%g, %g] requests/s", flag, s,
                          LEVEL_RATE_MIN, LEVEL_RATE_MAX);
    *out = v;
    return BENCH_OK;
}

/* "R", "LO-HI" or "LO-HI:STEP", requests/s. */
static bench_status rate_item(void *ud, char *item, size_t item_len, bench_err *err)
{
    list_acc *a = ud;
    const char *flag = a->flag;
    double lo, hi, step = 1;
    char *dash = strchr(item, '-'), *colon = strchr(item, ':');
    if (colon && !dash)
        return bench_fail(err, BENCH_EUSAGE, "%s: '%s': a step needs a range (LO-HI:STEP)", flag,
                          item);
    if (dash) {
        *dash = '\0';
        if (colon)
            *colon = '\0';
        if (parse_rate(item, flag, &lo, err) || parse_rate(dash + 1, flag, &hi, err) ||
            (colon && parse_rate(colon + 1, flag, &step, err)))
            return bad_item(err, a->s, item_len);
        if (hi < lo)
            return bench_fail(err, BENCH_EUSAGE, "%s: range %g-%g is backwards", flag, lo, hi);
    } else {
        if (parse_rate(item, flag, &lo, err))
            return bad_item(err, a->s, item_len);
        hi = lo;
    }
    for (long i = 0;; i++) {
        double v = lo + (double)i * step;
        if (dash) { /* 9 significant digits: no 0.30000000000000004 */
            char b[32];
            snprintf(b, sizeof b, "%.9g", v);
            v = strtod(b, NULL);
        }
        if (v > hi * (1 + 1e-12))
            break;
        if (a->k >= CONFIG_MAX_LEVELS)
            return too_many(a, err);
        a->rates[a->k++] = v;
    }
    return BENCH_OK;
}

bench_status config_parse_rates(const char *s, const char *flag, double *rates, size_t *n,
                                bench_err *err)
{
    list_acc a = {.s = s, .flag = flag, .rates = rates};
    bench_status st = each_item(s, flag, "R, LO-HI, LO-HI:STEP or a list", rate_item, &a, err);
    if (st)
        return st;
    *n = sort_unique(rates, a.k, sizeof *rates, stats_cmp_double);
    return BENCH_OK;
}

bench_status config_max_inflight(const run_config *c, uint64_t fd_limit, int *out, bench_err *err)
{
    uint64_t allowed = fd_limit > CONFIG_FD_RESERVE ? fd_limit - CONFIG_FD_RESERVE : 0;
    if (c->max_concurrency > 0) {
        if ((uint64_t)c->max_concurrency > allowed)
            return bench_fail(err, BENCH_EUSAGE,
                              "--max-concurrency: %d requests in flight need %d file "
                              "descriptors, but the limit (ulimit -n) is %llu; raise the "
                              "limit or lower --max-concurrency to %llu",
                              c->max_concurrency, c->max_concurrency + CONFIG_FD_RESERVE,
                              (unsigned long long)fd_limit, (unsigned long long)allowed);
        *out = c->max_concurrency;
        return BENCH_OK;
    }
    if (allowed < 1)
        return bench_fail(err, BENCH_EUSAGE,
                          "the file descriptor limit (ulimit -n) is %llu: too low for any "
                          "request (bench keeps %d for itself)",
                          (unsigned long long)fd_limit, CONFIG_FD_RESERVE);
    *out = allowed < CONFIG_DEFAULT_MAX_INFLIGHT ? (int)allowed : CONFIG_DEFAULT_MAX_INFLIGHT;
    return BENCH_OK;
}
