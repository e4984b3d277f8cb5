#include "tokenize.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "endpoint.h"

/* Cap on a reply (vLLM and llama.cpp list every token id: about 7 bytes a
 * token, so this covers prompts of millions of tokens). */
#define TOKENIZE_REPLY_MAX ((size_t)64 << 20)
/* Whole-call limits: the probe should be quick to give up on a server that
 * does not answer; a count of a long prompt may take a while. */
#define TOKENIZE_PROBE_TIMEOUT_S 10
#define TOKENIZE_TIMEOUT_S 60
#define WHY_MAX 400

typedef enum { DIALECT_VLLM = 0, DIALECT_LLAMACPP = 1 } dialect;

static const char *const dialect_names[] = {"vLLM", "llama.cpp"};

typedef enum { STATE_NEW = 0, STATE_EXACT, STATE_APPROX, STATE_DATASET } tk_state;

struct tokenizer {
    tokenizer_opts o;
    CURL *easy;
    struct curl_slist *hdrs;
    dynbuf reply;
    char url[600];          /* the tokenize endpoint */
    char template_url[600]; /* llama.cpp's /apply-template beside it, "" when unknown */
    dialect d;
    tk_state state;
    char sizing[WHY_MAX + 64];  /* the prompt_sizing attribute */
    char written[WHY_MAX + 64]; /* what res holds, to write only changes */
    int announced;              /* "prompt sizes are approximate" said */
    uint64_t fitted, inexact, probes;
    int max_off;
    char curl_err[CURL_ERROR_SIZE];
};

bench_status tokenizer_check_spec(const char *spec, bench_err *err)
{
    if (!spec || strcmp(spec, "auto") == 0 || strcmp(spec, "off") == 0 ||
        strcmp(spec, "vllm") == 0 || strcmp(spec, "llama.cpp") == 0)
        return BENCH_OK;
    if (strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0) {
        char url[512];
        return endpoint_check_url(spec, "--tokenizer", url, sizeof url, err);
    }
    return bench_fail(err, BENCH_EUSAGE,
                      "--tokenizer: '%s' (want auto, off, vllm, llama.cpp or an http(s) URL)",
                      spec);
}

/* Abort a call in flight when the run is being stopped. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const tokenizer *t = ud;
    (void)dt, (void)dn, (void)ut, (void)un;
    return t->o.stop && atomic_load(t->o.stop) != 0;
}

static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
    tokenizer *t = ud;
    return dynbuf_add(&t->reply, p, size * n) == BENCH_OK ? size * n : 0;
}

/* Length of the scheme://host:port part of a URL. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

bench_status tokenizer_create(const tokenizer_opts *o, tokenizer **out, bench_err *err)
{
    tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    t->o = *o;
    dynbuf_init(&t->reply, TOKENIZE_REPLY_MAX);
    const char *spec = o->spec ? o->spec : "auto";
    if (strncmp(spec, "http", 4) == 0) {
        snprintf(t->url, sizeof t->url, "%s", spec);
        size_t n = strlen(t->url);
        if (n > 9 && strcmp(t->url + n - 9, "/tokenize") == 0)
            snprintf(t->template_url, sizeof t->template_url, "%.*s/apply-template", (int)(n - 9),
                     t->url);
        /* The API key is for the endpoint's server: not sent elsewhere. */
        size_t ol = origin_len(t->url);
        if (!o->base || ol != origin_len(o->base) || strncmp(t->url, o->base, ol) != 0)
            t->o.api_key = NULL;
    } else {
        /* The root of the server: the base URL without its /v1. */
        const char *b = o->base ? o->base : "";
        size_t n = strlen(b);
        while (n && b[n - 1] == '/')
            n--;
        if (n >= 3 && strncmp(b + n - 3, "/v1", 3) == 0)
            n -= 3;
        snprintf(t->url, sizeof t->url, "%.*s/tokenize", (int)n, b);
        snprintf(t->template_url, sizeof t->template_url, "%.*s/apply-template", (int)n, b);
    }
    *out = t;
    return BENCH_OK;
}

/* The easy handle, made on first use: one keep-alive connection for all
 * calls, the run's TLS settings (as the workers apply them). */
static bench_status ensure_handle(tokenizer *t, bench_err *err)
{
    if (t->easy)
        return BENCH_OK;
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    l = l ? curl_slist_append(l, "Expect:") : NULL;
    if (l && t->o.api_key && *t->o.api_key) {
        dynbuf auth;
        dynbuf_init(&auth, 8192);
        if (dynbuf_addf(&auth, "Authorization: Bearer %s", t->o.api_key) == BENCH_OK)
            l = curl_slist_append(l, auth.p);
        else {
            curl_slist_free_all(l);
            l = NULL;
        }
        dynbuf_free(&auth);
    }
    CURL *e = l ? curl_easy_init() : NULL;
    if (!e) {
        curl_slist_free_all(l);
        return bench_fail(err, BENCH_ENOMEM, "out of memory preparing tokenizer requests");
    }
    t->hdrs = l;
    t->easy = e;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->curl_err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)((t->o.connect_s > 0 ? t->o.connect_s : 10) * 1000));
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    const config_tls *tls = t->o.tls;
    if (tls && tls->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (tls && tls->cacert) {
            curl_easy_setopt(e, CURLOPT_CAINFO, tls->cacert);
            curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        }
    }
    return BENCH_OK;
}

/* POST body to url; the reply (capped) in t->reply, its parsed JSON object
 * in *json (caller deletes). Anything but a 200 with a JSON object fails:
 * BENCH_EIO for the transport (connection, timeout, TLS), BENCH_EPROTO for
 * the answer, the message naming the URL. */
static bench_status post_json(tokenizer *t, const char *url, cJSON *body, long timeout_s,
                              cJSON **json, bench_err *err)
{
    bench_status st = BENCH_OK;
    *json = NULL;
    char *text = cJSON_PrintUnformatted(body);
    if (!text)
        return bench_fail(err, BENCH_ENOMEM, "out of memory building a tokenizer request");
    if ((st = ensure_handle(t, err)))
        goto out;
    dynbuf_reset(&t->reply);
    t->curl_err[0] = '\0';
    curl_easy_setopt(t->easy, CURLOPT_URL, url);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_s * 1000L);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
    CURLcode res = curl_easy_perform(t->easy);
    if (res == CURLE_WRITE_ERROR) {
        st = bench_fail(err, BENCH_EPROTO, "POST %s: reply larger than %zu MiB", url,
                        TOKENIZE_REPLY_MAX >> 20);
        goto out;
    }
    if (res != CURLE_OK) {
        st = bench_fail(err, BENCH_EIO, "POST %s: %s", url,
                        t->curl_err[0] ? t->curl_err : curl_easy_strerror(res));
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        char m[200];
        oai_error_message(t->reply.p ? t->reply.p : "", t->reply.len, m, sizeof m);
        st = bench_fail(err, BENCH_EPROTO, "POST %s: HTTP %ld%s%s", url, code, m[0] ? ": " : "", m);
        goto out;
    }
    cJSON *j = t->reply.p ? cJSON_ParseWithLength(t->reply.p, t->reply.len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        char m[200];
        oai_error_message(t->reply.p ? t->reply.p : "", t->reply.len, m, sizeof m);
        st = bench_fail(err, BENCH_EPROTO, "POST %s: the reply is not a JSON object (%s)", url, m);
        goto out;
    }
    *json = j;
out:
    cJSON_free(text);
    if (st)
        config_redact(err->msg, t->o.api_key);
    return st;
}

/* {"role": "user", "content": text} in an array: how the workers send a
 * plain prompt to /chat/completions (oai_build_request). */
static cJSON *user_messages(const char *text)
{
    cJSON *msgs = cJSON_CreateArray(), *m = cJSON_CreateObject();
    if (!msgs || !m || !cJSON_AddStringToObject(m, "role", "user") ||
        !cJSON_AddStringToObject(m, "content", text)) {
        cJSON_Delete(msgs);
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToArray(msgs, m);
    return msgs;
}

/* One count in dialect d, with the timeout given. */
static bench_status count_as(tokenizer *t, dialect d, const char *text, long timeout_s, int *tokens,
                             bench_err *err)
{
    bench_status st = BENCH_OK;
    cJSON *body = cJSON_CreateObject(), *reply = NULL, *tmpl = NULL, *tbody = NULL;
    int oom = !body;
    const int chat = t->o.api != OAI_COMPLETIONS;
    if (!oom && d == DIALECT_VLLM) {
        oom = !cJSON_AddStringToObject(body, "model", t->o.model_id ? t->o.model_id : "");
        if (chat) {
            cJSON *msgs = user_messages(text);
            oom = oom || !msgs;
            if (msgs)
                cJSON_AddItemToObject(body, "messages", msgs);
            oom = oom || !cJSON_AddBoolToObject(body, "add_generation_prompt", 1);
        } else {
            oom = oom || !cJSON_AddStringToObject(body, "prompt", text);
        }
    } else if (!oom) {
        const char *content = text;
        if (chat) {
            /* llama-server formats the chat with its template, then
             * tokenizes the result: do the same. */
            if (!t->template_url[0]) {
                st = bench_fail(err, BENCH_EPROTO,
                                "%s: no /apply-template beside it to count a chat prompt", t->url);
                goto out;
            }
            cJSON *msgs = user_messages(text);
            tbody = cJSON_CreateObject();
            if (!msgs || !tbody) {
                cJSON_Delete(msgs);
                oom = 1;
                goto out;
            }
            cJSON_AddItemToObject(tbody, "messages", msgs);
            if ((st = post_json(t, t->template_url, tbody, timeout_s, &tmpl, err)))
                goto out;
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(tmpl, "prompt");
            if (!cJSON_IsString(p)) {
                st = bench_fail(err, BENCH_EPROTO, "POST %s: the reply has no \"prompt\" string",
                                t->template_url);
                goto out;
            }
            content = p->valuestring;
        }
        oom = !cJSON_AddStringToObject(body, "content", content) ||
              !cJSON_AddBoolToObject(body, "add_special", 1) ||
              !cJSON_AddBoolToObject(body, "parse_special", 1);
    }
    if (oom)
        goto out;
    if ((st = post_json(t, t->url, body, timeout_s, &reply, err)))
        goto out;
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(reply, "count");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(reply, "tokens");
    /* vLLM always sends "count"; llama.cpp only "tokens" (and answers
     * vLLM's form, which lacks "content", with an empty list). */
    double n = -1;
    if (d == DIALECT_VLLM && cJSON_IsNumber(count))
        n = count->valuedouble;
    else if (d == DIALECT_LLAMACPP && cJSON_IsArray(toks))
        n = cJSON_GetArraySize(toks);
    if (!(n >= 0 && n <= 1e9 && n == (double)(int)n)) {
        st = bench_fail(err, BENCH_EPROTO, "POST %s: the reply has no %s", t->url,
                        d == DIALECT_VLLM ? "\"count\"" : "\"tokens\" array");
        goto out;
    }
    *tokens = (int)n;
out:
    if (oom && !st)
        st = bench_fail(err, BENCH_ENOMEM, "out of memory building a tokenizer request");
    cJSON_Delete(body);
    cJSON_Delete(reply);
    cJSON_Delete(tmpl);
    cJSON_Delete(tbody);
    return st;
}

/* Try dialect d: two counts of texts differing by ten words must both
 * succeed and grow, or the endpoint is not a tokenizer we can trust. */
static bench_status probe_dialect(tokenizer *t, dialect d, bench_err *err)
{
    static const char a[] = "Request 0. the of and to in is you that it he";
    static const char b[] = "Request 0. the of and to in is you that it he was for on are as "
                            "with his they at be";
    int na = 0, nb = 0;
    bench_status st;
    if ((st = count_as(t, d, a, TOKENIZE_PROBE_TIMEOUT_S, &na, err)) ||
        (st = count_as(t, d, b, TOKENIZE_PROBE_TIMEOUT_S, &nb, err)))
        return st;
    if (na < 1 || nb <= na || nb - na > 100)
        return bench_fail(err, BENCH_EPROTO,
                          "POST %s: counts that do not follow the text (%d tokens, then %d for "
                          "ten more words)",
                          t->url, na, nb);
    return BENCH_OK;
}

static void set_sizing(tokenizer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_sizing(tokenizer *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->sizing, sizeof t->sizing, fmt, ap);
    va_end(ap);
    config_redact(t->sizing, t->o.api_key);
}

int tokenizer_probe(tokenizer *t)
{
    if (t->state != STATE_NEW)
        return t->state == STATE_EXACT;
    const char *spec = t->o.spec ? t->o.spec : "auto";
    if (strcmp(spec, "off") == 0) {
        t->state = STATE_APPROX;
        set_sizing(t, "approximate: --tokenizer off (a word a token)");
        return 0;
    }
    dialect order[2] = {DIALECT_VLLM, DIALECT_LLAMACPP};
    int n = 2;
    if (strcmp(spec, "vllm") == 0)
        n = 1;
    else if (strcmp(spec, "llama.cpp") == 0)
        order[0] = DIALECT_LLAMACPP, n = 1;
    bench_err why[2];
    int tried = 0;
    for (int i = 0; i < n; i++) {
        bench_status st = probe_dialect(t, order[i], &why[tried]);
        tried++;
        if (st == BENCH_OK) {
            t->d = order[i];
            t->state = STATE_EXACT;
            set_sizing(t, "exact: /tokenize (%s) at %s", dialect_names[t->d], t->url);
            return 1;
        }
        if (st != BENCH_EPROTO)
            break; /* no connection, no answer: the other form will not fare better */
    }
    t->state = STATE_APPROX;
    if (tried == 2 && strcmp(why[0].msg, why[1].msg) == 0)
        tried = 1;
    if (tried == 1)
        set_sizing(t, "approximate: no usable tokenizer endpoint (%.300s); a word a token",
                   why[0].msg);
    else
        set_sizing(t,
                   "approximate: no usable tokenizer endpoint (vLLM form: %.180s; llama.cpp form: "
                   "%.180s); a word a token",
                   why[0].msg, why[1].msg);
    return 0;
}

bench_status tokenizer_count(tokenizer *t, const char *text, int *tokens, bench_err *err)
{
    if (t->state != STATE_EXACT)
        return bench_fail(err, BENCH_EUSAGE, "no tokenizer endpoint to count with");
    return count_as(t, t->d, text, TOKENIZE_TIMEOUT_S, tokens, err);
}

static bench_status count_cb(void *ud, const char *text, int *tokens, bench_err *err)
{
    const tokenizer *t = ud;
    if (t->o.stop && atomic_load(t->o.stop) != 0)
        return bench_fail(err, BENCH_EINTR, "interrupted");
    return tokenizer_count(ud, text, tokens, err);
}

bench_status tokenizer_prepare_level(tokenizer *t, prompt_source *ps, uint64_t n, results *res,
                                     bench_err *err)
{
    bench_status st = BENCH_OK;
    if (t->o.stop && atomic_load(t->o.stop) != 0)
        return BENCH_OK; /* the run is stopping: no level follows */
    if (prompt_source_size(ps) > 0) {
        t->state = STATE_DATASET;
        set_sizing(t, "as given: prompts from --dataset");
    } else if (tokenizer_probe(t)) {
        prompt_fit_stats fs;
        bench_err ferr;
        st = prompt_source_fit(ps, n, count_cb, t, &fs, &ferr);
        t->fitted += fs.fitted;
        t->inexact += fs.inexact;
        t->probes += fs.probes;
        if (fs.max_off > t->max_off)
            t->max_off = fs.max_off;
        if (st == BENCH_ENOMEM) {
            *err = ferr;
            return st;
        }
        if (st && t->o.stop && atomic_load(t->o.stop) != 0) {
            st = BENCH_OK; /* interrupted: the run stops; nothing failed */
        } else if (st) {
            /* The endpoint failed mid-way: the rest are approximate. */
            t->state = STATE_APPROX;
            set_sizing(t,
                       "approximate: /tokenize (%s) at %s sized %llu prompts, then failed: %.250s",
                       dialect_names[t->d], t->url, (unsigned long long)t->fitted, ferr.msg);
            st = BENCH_OK;
        } else if (t->inexact) {
            set_sizing(t,
                       "approximate: /tokenize (%s) at %s: %llu of %llu prompts sized exactly, "
                       "the others within %d tokens",
                       dialect_names[t->d], t->url, (unsigned long long)(t->fitted - t->inexact),
                       (unsigned long long)t->fitted, t->max_off);
        }
    }
    if (strncmp(t->sizing, "approximate: ", 13) == 0 && !t->announced) {
        fprintf(stderr, "bench: prompt sizes are approximate: %s\n",
                t->sizing + strlen("approximate: "));
        t->announced = 1;
    }
    if (strcmp(t->sizing, t->written) != 0) {
        if ((st = results_set_root_attr(res, "prompt_sizing", t->sizing, err)))
            return st;
        memcpy(t->written, t->sizing, sizeof t->written);
    }
    return BENCH_OK;
}

const char *tokenizer_sizing(const tokenizer *t)
{
    return t->sizing;
}

void tokenizer_destroy(tokenizer *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->hdrs);
    dynbuf_free(&t->reply);
    free(t);
}
