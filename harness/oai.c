/* oai.c - OpenAI-compatible request bodies and streamed event payloads
 * (see oai.h). */
#include "oai.h"
#include "oai_fast.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *oai_api_path(oai_api api)
{
    return api == OAI_COMPLETIONS ? "/completions" : "/chat/completions";
}

/* Copy at most max bytes of s[0, len) into out (NUL-terminated, outsz > 0),
 * keeping printable ASCII and replacing other bytes with '.', so a message
 * quoting peer bytes stays one readable line. Appends "..." when cut. */
static void printable_prefix(const char *s, size_t len, size_t max, char *out, size_t outsz)
{
    size_t n = len < max ? len : max;
    int cut = n < len;
    if (n + 1 > outsz) {
        n = outsz - 1;
        cut = 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    out[n] = '\0';
    if (cut && outsz >= 4) {
        size_t at = n + 3 < outsz ? n : outsz - 4;
        memcpy(out + at, "...", 4);
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse s[0, len) as one JSON value with only whitespace after it. Returns
 * a tree the caller frees with cJSON_Delete, or NULL. The bytes are copied
 * to a NUL-terminated buffer first: the input need not be terminated, and
 * cJSON's length-bounded parser had over-read bugs (CVE-2023-53154). */
static cJSON *parse_json(const char *s, size_t len, int *oom)
{
    char small[2048];
    char *copy = small;
    cJSON *root = NULL;
    *oom = 0;
    if (len >= sizeof small && !(copy = malloc(len + 1))) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithOpts(copy, &end, 0);
    if (root) {
        /* an embedded NUL or trailing garbage makes the payload invalid */
        for (size_t i = (size_t)(end - copy); i < len; i++) {
            if (!is_space(copy[i])) {
                cJSON_Delete(root);
                root = NULL;
                break;
            }
        }
    }
    if (copy != small)
        free(copy);
    return root;
}

static void copy_str(char *dst, size_t dstsz, const char *src)
{
    if (!dstsz)
        return;
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The message of an error value: {"message": ...}, else its "type", else
 * the value printed as JSON; a string error is its own message. Returns 0
 * when nothing usable was found. */
static int error_text(const cJSON *e, char *msg, size_t msgsz)
{
    if (cJSON_IsString(e) && e->valuestring[0]) {
        copy_str(msg, msgsz, e->valuestring);
        return 1;
    }
    if (!cJSON_IsObject(e))
        return 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(m) && m->valuestring[0]) {
        copy_str(msg, msgsz, m->valuestring);
        return 1;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
    if (cJSON_IsString(t) && t->valuestring[0]) {
        copy_str(msg, msgsz, t->valuestring);
        return 1;
    }
    char *printed = cJSON_PrintUnformatted(e);
    if (!printed)
        return 0;
    printable_prefix(printed, strlen(printed), msgsz ? msgsz - 1 : 0, msg, msgsz);
    cJSON_free(printed);
    return 1;
}

/* Find an error in a parsed payload: {"error": ...} (OpenAI, llama.cpp) or
 * {"object": "error", "message": ...} (older vLLM). */
static int find_error(const cJSON *root, char *msg, size_t msgsz)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (e && !cJSON_IsNull(e)) {
        if (!error_text(e, msg, msgsz))
            copy_str(msg, msgsz, "(error without a message)");
        return 1;
    }
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (cJSON_IsString(obj) && strcmp(obj->valuestring, "error") == 0) {
        if (!error_text(root, msg, msgsz))
            copy_str(msg, msgsz, "(error without a message)");
        return 1;
    }
    return 0;
}

/* 1 when s[0, n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int oai_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* range of the first continuation byte */
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else
            return 0;
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += len;
    }
    return 1;
}

/* Read a usage count: a non-negative number that fits an int, else -1. */
static int usage_count(const cJSON *usage, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 2147483647.0)
        return -1;
    return (int)v->valuedouble;
}

/* Fill top from one choice's logprobs object (either API's shape). */
static void parse_top(const cJSON *lp, oai_top *top)
{
    if (!cJSON_IsObject(lp))
        return;
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(lp, "top_logprobs");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(lp, "content");
    const cJSON *e;
    if (cJSON_IsArray(tl)) {
        /* completions: [{token: logprob, ...}, ...] per position */
        const cJSON *first = cJSON_GetArrayItem(tl, 0);
        cJSON_ArrayForEach(e, first)
        {
            if (top->n >= OAI_TOP_MAX)
                break;
            if (!cJSON_IsNumber(e) || !e->string || strlen(e->string) >= OAI_TOP_TOKEN_LEN)
                continue;
            copy_str(top->token[top->n], OAI_TOP_TOKEN_LEN, e->string);
            top->logprob[top->n++] = e->valuedouble;
        }
    } else if (cJSON_IsArray(content)) {
        /* chat: content[0].top_logprobs = [{token, logprob}, ...] */
        const cJSON *pos = cJSON_GetArrayItem(content, 0);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(pos, "top_logprobs");
        if (!cJSON_IsArray(arr))
            return;
        cJSON_ArrayForEach(e, arr)
        {
            if (top->n >= OAI_TOP_MAX)
                break;
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "token");
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "logprob");
            if (!cJSON_IsString(t) || !cJSON_IsNumber(l) ||
                strlen(t->valuestring) >= OAI_TOP_TOKEN_LEN)
                continue;
            copy_str(top->token[top->n], OAI_TOP_TOKEN_LEN, t->valuestring);
            top->logprob[top->n++] = l->valuedouble;
        }
    }
}

bench_status oai_parse_event(const char *data, size_t len, oai_event *ev, dynbuf *text,
                             bench_err *err)
{
    return oai_parse_event_top(data, len, ev, text, NULL, err);
}

/* Both paths' message for content that does not fit the caller's buffer. */
static bench_status text_fail(bench_err *err, bench_status st, const dynbuf *text)
{
    if (st == BENCH_ETOOBIG)
        return bench_fail(err, st, "response text exceeds the %zu-byte cap", text->max);
    return bench_fail(err, st, "out of memory collecting response text");
}

bench_status oai_parse_event_top(const char *data, size_t len, oai_event *ev, dynbuf *text,
                                 oai_top *top, bench_err *err)
{
    size_t a = 0, b = len;
    while (a < b && is_space(data[a]))
        a++;
    while (b > a && is_space(data[b - 1]))
        b--;
    bench_status st;
    if (b - a > 0 && data[a] == '{' &&
        oai_fast_event(data + a, b - a, ev, text, top && top->n == 0 ? top : NULL, &st))
        return st ? text_fail(err, st, text) : BENCH_OK;
    return oai_parse_event_slow(data, len, ev, text, top, err);
}

bench_status oai_parse_event_slow(const char *data, size_t len, oai_event *ev, dynbuf *text,
                                  oai_top *top, bench_err *err)
{
    bench_status st = BENCH_OK;
    cJSON *root = NULL;
    int oom;

    memset(ev, 0, sizeof *ev);
    ev->prompt_tokens = -1;
    ev->completion_tokens = -1;

    size_t a = 0, b = len;
    while (a < b && is_space(data[a]))
        a++;
    while (b > a && is_space(data[b - 1]))
        b--;
    if (b - a == 6 && memcmp(data + a, "[DONE]", 6) == 0) {
        ev->is_done = 1;
        goto out;
    }

    root = parse_json(data + a, b - a, &oom);
    if (!root || !cJSON_IsObject(root)) {
        char quote[80];
        if (oom) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory parsing an event payload");
            goto out;
        }
        printable_prefix(data + a, b - a, 60, quote, sizeof quote);
        st = bench_fail(err, BENCH_EPROTO, "event payload is not a JSON object: '%s'", quote);
        goto out;
    }

    if (find_error(root, ev->error_msg, sizeof ev->error_msg))
        ev->is_error = 1;

    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *ch;
    if (!cJSON_IsArray(choices))
        choices = NULL;
    cJSON_ArrayForEach(ch, choices)
    {
        if (!cJSON_IsObject(ch))
            continue;
        /* chat: delta.content; completions: text. null, "" and a role-only
         * delta carry no content. */
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        const cJSON *c = cJSON_IsObject(delta) ? cJSON_GetObjectItemCaseSensitive(delta, "content")
                                               : cJSON_GetObjectItemCaseSensitive(ch, "text");
        if (cJSON_IsString(c) && c->valuestring[0]) {
            size_t n = strlen(c->valuestring);
            ev->has_content = 1;
            ev->content_len += n;
            if (!oai_utf8_valid((const unsigned char *)c->valuestring, n))
                ev->content_bad_utf8 = 1;
            if (text && (st = dynbuf_add(text, c->valuestring, n)) != BENCH_OK) {
                st = text_fail(err, st, text);
                goto out;
            }
        }
        if (top && top->n == 0)
            parse_top(cJSON_GetObjectItemCaseSensitive(ch, "logprobs"), top);
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
        if (cJSON_IsString(fr) && !ev->finish_reason[0])
            copy_str(ev->finish_reason, sizeof ev->finish_reason, fr->valuestring);
    }

    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (cJSON_IsObject(usage)) {
        ev->has_usage = 1;
        ev->prompt_tokens = usage_count(usage, "prompt_tokens");
        ev->completion_tokens = usage_count(usage, "completion_tokens");
    }

out:
    cJSON_Delete(root);
    return st;
}

void oai_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
    int oom;
    if (!msgsz)
        return;
    msg[0] = '\0';
    if (!body || !len) {
        copy_str(msg, msgsz, "(empty body)");
        return;
    }
    cJSON *root = parse_json(body, len, &oom);
    int found = 0;
    if (cJSON_IsObject(root)) {
        found = find_error(root, msg, msgsz);
        if (!found) {
            /* {"message": ...} or FastAPI's {"detail": "..."} */
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
            if (!cJSON_IsString(m))
                m = cJSON_GetObjectItemCaseSensitive(root, "detail");
            if (cJSON_IsString(m) && m->valuestring[0]) {
                copy_str(msg, msgsz, m->valuestring);
                found = 1;
            }
        }
    }
    cJSON_Delete(root);
    if (!found) {
        size_t a = 0, b = len;
        while (a < b && is_space(body[a]))
            a++;
        while (b > a && is_space(body[b - 1]))
            b--;
        printable_prefix(body + a, b - a, 200, msg, msgsz);
    }
}

/* Join the text of chat messages (string contents, or the "text" of content
 * parts) with '\n' into out, for sending messages to /completions. */
static bench_status join_contents(const cJSON *msgs, dynbuf *out)
{
    bench_status st = BENCH_OK;
    int first = 1;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        const cJSON *part;
        if (!cJSON_IsString(c) && !cJSON_IsArray(c))
            continue;
        if (!first && (st = dynbuf_add(out, "\n", 1)) != BENCH_OK)
            return st;
        first = 0;
        if (cJSON_IsString(c)) {
            if ((st = dynbuf_adds(out, c->valuestring)) != BENCH_OK)
                return st;
            continue;
        }
        cJSON_ArrayForEach(part, c)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t) && (st = dynbuf_adds(out, t->valuestring)) != BENCH_OK)
                return st;
        }
    }
    return st;
}

/* Move every member of src into dst (src is left empty). A member replaces
 * the same-named one in dst, except that an object merges into an object
 * recursively, so extra "stream_options" keep include_usage. Returns 0 on
 * allocation failure. */
static int merge_into(cJSON *dst, cJSON *src)
{
    cJSON *item = src->child;
    while (item) {
        cJSON *next = item->next;
        cJSON *have = cJSON_GetObjectItemCaseSensitive(dst, item->string);
        if (cJSON_IsObject(have) && cJSON_IsObject(item)) {
            if (!merge_into(have, item))
                return 0;
        } else {
            cJSON_DetachItemViaPointer(src, item);
            if (have) {
                if (!cJSON_ReplaceItemViaPointer(dst, have, item)) {
                    cJSON_Delete(item);
                    return 0;
                }
            } else if (!cJSON_AddItemToObject(dst, item->string, item)) {
                cJSON_Delete(item);
                return 0;
            }
        }
        item = next;
    }
    return 1;
}

/* Parse messages_json (an array of objects) and extra_json (an object),
 * either may be absent. On success the caller owns *msgs and *extra
 * (cJSON_Delete); on failure both are NULL. */
static bench_status parse_inputs(const oai_request *rq, cJSON **msgs, cJSON **extra, bench_err *err)
{
    bench_status st = BENCH_OK;
    int oom = 0;
    *msgs = *extra = NULL;

    if (rq->messages_json) {
        *msgs = parse_json(rq->messages_json, strlen(rq->messages_json), &oom);
        if (oom) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory parsing the messages");
            goto out;
        }
        if (!cJSON_IsArray(*msgs)) {
            st = bench_fail(err, BENCH_EINPUT, "messages: not a JSON array");
            goto out;
        }
        const cJSON *m;
        int i = 0;
        cJSON_ArrayForEach(m, *msgs)
        {
            if (!cJSON_IsObject(m)) {
                st = bench_fail(err, BENCH_EINPUT, "messages[%d]: not a JSON object", i);
                goto out;
            }
            i++;
        }
    } else if (!rq->prompt) {
        st = bench_fail(err, BENCH_EINPUT, "request has neither a prompt nor messages");
        goto out;
    }
    if (rq->extra_json) {
        *extra = parse_json(rq->extra_json, strlen(rq->extra_json), &oom);
        if (oom) {
            st = bench_fail(err, BENCH_ENOMEM, "out of memory parsing the extra request JSON");
            goto out;
        }
        if (!cJSON_IsObject(*extra)) {
            st = bench_fail(err, BENCH_EINPUT, "extra request JSON: not a JSON object");
            goto out;
        }
    }
    if (rq->temperature >= 0 ? !isfinite(rq->temperature) : isnan(rq->temperature)) {
        st =
            bench_fail(err, BENCH_EUSAGE, "temperature %g is not a finite number", rq->temperature);
        goto out;
    }
out:
    if (st != BENCH_OK) {
        cJSON_Delete(*msgs);
        cJSON_Delete(*extra);
        *msgs = *extra = NULL;
    }
    return st;
}

/* Add the "messages" (chat) or "prompt" (completions) member to root. Takes
 * ownership of msgs (may be NULL: then a single user message / the plain
 * prompt is sent). Returns BENCH_ENOMEM or BENCH_ETOOBIG (joined prompt
 * larger than max) without a message. */
static bench_status add_input(cJSON *root, const oai_request *rq, cJSON *msgs, size_t max)
{
    bench_status st = BENCH_OK;
    dynbuf joined;
    dynbuf_init(&joined, max);

    if (rq->api == OAI_COMPLETIONS) {
        const char *prompt = rq->prompt;
        if (msgs) {
            if ((st = join_contents(msgs, &joined)) != BENCH_OK)
                goto out;
            prompt = joined.p ? joined.p : "";
        }
        if (!cJSON_AddStringToObject(root, "prompt", prompt))
            st = BENCH_ENOMEM;
        goto out;
    }
    if (!msgs) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !(msgs = cJSON_CreateArray())) {
            cJSON_Delete(m);
            st = BENCH_ENOMEM;
            goto out;
        }
        cJSON_AddItemToArray(msgs, m);
        if (!cJSON_AddStringToObject(m, "role", "user") ||
            !cJSON_AddStringToObject(m, "content", rq->prompt)) {
            st = BENCH_ENOMEM;
            goto out;
        }
    }
    if (!cJSON_AddItemToObject(root, "messages", msgs)) {
        st = BENCH_ENOMEM;
        goto out;
    }
    msgs = NULL; /* owned by root now */
out:
    cJSON_Delete(msgs);
    dynbuf_free(&joined);
    return st;
}

/* Add the sampling and streaming members. Returns 0 on allocation failure. */
static int add_options(cJSON *root, const oai_request *rq)
{
    if (rq->max_tokens > 0 && !cJSON_AddNumberToObject(root, "max_tokens", rq->max_tokens))
        return 0;
    if (rq->temperature >= 0 && !cJSON_AddNumberToObject(root, "temperature", rq->temperature))
        return 0;
    if (rq->seed >= 0) {
        /* raw number text: a double would round seeds above 2^53 */
        char num[32];
        snprintf(num, sizeof num, "%lld", rq->seed);
        cJSON *s = cJSON_CreateRaw(num);
        if (!s)
            return 0;
        if (!cJSON_AddItemToObject(root, "seed", s)) {
            cJSON_Delete(s);
            return 0;
        }
    }
    if (rq->ignore_eos && !cJSON_AddTrueToObject(root, "ignore_eos"))
        return 0;
    if (rq->stream) {
        cJSON *so;
        if (!cJSON_AddTrueToObject(root, "stream") ||
            !(so = cJSON_AddObjectToObject(root, "stream_options")) ||
            !cJSON_AddTrueToObject(so, "include_usage"))
            return 0;
    }
    return 1;
}

/* Assemble the request object and print it into *printed (caller frees with
 * cJSON_free). Takes ownership of msgs; extra is borrowed (its members are
 * moved out). Returns BENCH_ENOMEM or BENCH_ETOOBIG without a message. */
static bench_status build_body(const oai_request *rq, cJSON *msgs, cJSON *extra, size_t max,
                               char **printed)
{
    bench_status st = BENCH_OK;
    cJSON *root = cJSON_CreateObject();
    *printed = NULL;

    if (!root || (rq->model && !cJSON_AddStringToObject(root, "model", rq->model))) {
        cJSON_Delete(msgs);
        st = BENCH_ENOMEM;
        goto out;
    }
    if ((st = add_input(root, rq, msgs, max)) != BENCH_OK)
        goto out;
    if (!add_options(root, rq) || (extra && !merge_into(root, extra)) ||
        !(*printed = cJSON_PrintUnformatted(root)))
        st = BENCH_ENOMEM;
out:
    cJSON_Delete(root);
    return st;
}

bench_status oai_build_request(const oai_request *rq, dynbuf *out, bench_err *err)
{
    bench_status st;
    cJSON *msgs = NULL, *extra = NULL;
    char *printed = NULL;

    if ((st = parse_inputs(rq, &msgs, &extra, err)) != BENCH_OK)
        goto out;
    st = build_body(rq, msgs, extra, out->max, &printed);
    if (st == BENCH_OK)
        st = dynbuf_adds(out, printed);
    if (st == BENCH_ETOOBIG)
        st = bench_fail(err, st, "request body exceeds the %zu-byte cap", out->max);
    else if (st != BENCH_OK)
        st = bench_fail(err, st, "out of memory building the request body");
out:
    if (printed)
        cJSON_free(printed);
    cJSON_Delete(extra);
    return st;
}
