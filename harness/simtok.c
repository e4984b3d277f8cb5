#include "simtok.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Words of a chat message's content: a string, or the "text" parts of an
 * array (as the simulator counts usage.prompt_tokens). */
static long content_words(const cJSON *c, long (*count_words)(const char *))
{
    if (cJSON_IsString(c))
        return count_words(c->valuestring);
    long n = 0;
    const cJSON *part;
    if (cJSON_IsArray(c))
        cJSON_ArrayForEach(part, c)
        {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(text))
                n += count_words(text->valuestring);
        }
    return n;
}

/* Words of a completions prompt: a string, or an array of strings and token
 * ids (as the simulator counts them). -1 for anything else. */
static long prompt_words(const cJSON *p, long (*count_words)(const char *))
{
    if (cJSON_IsString(p))
        return count_words(p->valuestring);
    if (!cJSON_IsArray(p))
        return -1;
    long n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, p)
    {
        if (cJSON_IsString(e))
            n += count_words(e->valuestring);
        else if (cJSON_IsNumber(e))
            n += 1;
        else if (cJSON_IsArray(e))
            n += cJSON_GetArraySize(e);
        else
            return -1;
    }
    return n;
}

static char *error_body(int status, const char *msg)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *e = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    char *out = NULL;
    if (e && cJSON_AddStringToObject(e, "message", msg) &&
        cJSON_AddStringToObject(e, "type", "invalid_request_error") &&
        cJSON_AddNumberToObject(e, "code", status))
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

int simtok_answer(const char *req, size_t len, long (*count_words)(const char *s),
                  long msg_overhead, long max_model_len, long max_tokens, char **body)
{
    int status = 200;
    const char *why = NULL;
    char msg[160];
    *body = NULL;
    cJSON *in = req ? cJSON_ParseWithLength(req, len) : NULL, *out = NULL;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(in, "content");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(in, "prompt");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(in, "messages");
    long n = -1;
    int llama = 0;
    if (!cJSON_IsObject(in)) {
        status = 400, why = "the body must be a JSON object";
    } else if (content) {
        llama = 1;
        if (!cJSON_IsString(content))
            status = 400, why = "'content' must be a string";
        else
            n = count_words(content->valuestring);
    } else if (prompt) {
        if ((n = prompt_words(prompt, count_words)) < 0)
            status = 400, why = "'prompt' must be a string or an array";
    } else if (cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) > 0) {
        n = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs) n +=
            content_words(cJSON_GetObjectItemCaseSensitive(m, "content"), count_words) +
            msg_overhead;
    } else {
        status = 400, why = "give 'content' (llama.cpp), or 'prompt' or 'messages' (vLLM)";
    }
    if (status == 200 && n > max_tokens) {
        snprintf(msg, sizeof msg, "%ld tokens: more than the %ld this simulator lists", n,
                 max_tokens);
        status = 413, why = msg;
    }
    if (status != 200) {
        *body = error_body(status, why);
        goto out;
    }
    out = cJSON_CreateObject();
    if (!out || (!llama && (!cJSON_AddNumberToObject(out, "count", (double)n) ||
                            !cJSON_AddNumberToObject(out, "max_model_len", (double)max_model_len))))
        goto oom;
    cJSON *toks = cJSON_AddArrayToObject(out, "tokens");
    if (!toks)
        goto oom;
    for (long i = 0; i < n; i++) {
        cJSON *id = cJSON_CreateNumber((double)((unsigned long)(i + 1) * 2654435761u % 32000u));
        if (!id)
            goto oom;
        cJSON_AddItemToArray(toks, id);
    }
    *body = cJSON_PrintUnformatted(out);
    if (*body)
        goto out;
oom:
    status = 500;
    *body = error_body(500, "out of memory");
out:
    cJSON_Delete(in);
    cJSON_Delete(out);
    return status;
}
