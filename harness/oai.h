/* oai.h - OpenAI-compatible request bodies and streamed event payloads.
 *
 * Understands both /v1/chat/completions (choices[].delta.content) and
 * /v1/completions (choices[].text) shapes, usage objects (on the last event,
 * on a usage-only event with "choices": [], or cumulative on every event as
 * vLLM's continuous usage stats do), finish_reason, and error objects
 * ({"error": {"message", "type", "code"}}) both as HTTP bodies and mid-stream.
 * A role-only delta, a null content and an empty string are not content. */
#ifndef BENCH_OAI_H
#define BENCH_OAI_H

#include <stddef.h>
#include "dynbuf.h"
#include "status.h"

typedef enum { OAI_CHAT = 0, OAI_COMPLETIONS = 1 } oai_api;

/* Path below the base URL: "/chat/completions" or "/completions" (static
 * string; any value other than OAI_COMPLETIONS means chat). */
const char *oai_api_path(oai_api api);

typedef struct {
    int is_done;            /* payload was the literal [DONE] */
    int is_error;           /* payload carried an "error" object */
    char error_msg[256];    /* its message (or the raw payload, truncated) */
    int has_content;        /* carried non-empty content text */
    size_t content_len;     /* bytes of content text */
    int content_bad_utf8;   /* that text is not valid UTF-8 (JSON requires it; the
                               parser passes such bytes through) */
    char finish_reason[16]; /* "" when absent/null */
    int has_usage;          /* carried a usage object */
    int prompt_tokens;      /* usage.prompt_tokens, -1 absent */
    int completion_tokens;  /* usage.completion_tokens, -1 absent */
} oai_event;

/* Parse one SSE data payload (len bytes, need not be NUL-terminated;
 * borrowed for the call). *ev is fully overwritten. When text (owned by the
 * caller) is non-NULL the content text is appended to it (capped buffer:
 * BENCH_ETOOBIG if it is full). "[DONE]" may have surrounding whitespace. A
 * payload that is not a JSON object (and not [DONE]) fails with BENCH_EPROTO
 * and a message quoting its first 60 bytes, non-printable ones as '.'. An
 * error object is not a failure: it sets is_error and returns BENCH_OK. */
bench_status oai_parse_event(const char *data, size_t len, oai_event *ev, dynbuf *text,
                             bench_err *err);

/* The most likely tokens at the first generated position, with their
 * logprobs, as a server returns them when asked for logprobs: completions
 * (choices[].logprobs.top_logprobs[0], an object token -> logprob) or chat
 * (choices[].logprobs.content[0].top_logprobs, an array of {token,
 * logprob}). Tokens longer than OAI_TOP_TOKEN_LEN-1 bytes are skipped. */
#define OAI_TOP_MAX 20
#define OAI_TOP_TOKEN_LEN 32
typedef struct {
    int n; /* 0: no logprobs seen yet */
    char token[OAI_TOP_MAX][OAI_TOP_TOKEN_LEN];
    double logprob[OAI_TOP_MAX];
} oai_top;

/* oai_parse_event, and when top is non-NULL (caller-owned) and top->n is 0,
 * fill it from the first event that carries top logprobs. */
bench_status oai_parse_event_top(const char *data, size_t len, oai_event *ev, dynbuf *text,
                                 oai_top *top, bench_err *err);

/* Extract the message of an error response body ({"error": {...}} or
 * {"error": "..."} or {"message": ...} or {"detail": "..."}); falls back to
 * the body's first bytes, printable only. body is borrowed and need not be
 * NUL-terminated; writes a NUL-terminated (possibly cut) string into the
 * caller's msg[msgsz]. */
void oai_error_message(const char *body, size_t len, char *msg, size_t msgsz);

typedef struct {
    oai_api api;
    const char *model;         /* model id sent in requests */
    const char *prompt;        /* plain prompt text, or NULL when messages_json is set */
    const char *messages_json; /* a JSON array of chat messages, or NULL */
    int max_tokens;            /* <= 0: not sent */
    int ignore_eos;            /* send "ignore_eos": true */
    int stream;                /* send "stream": true with include_usage */
    double temperature;        /* < 0: not sent */
    long long seed;            /* < 0: not sent */
    const char *extra_json;    /* a JSON object whose members are merged in, or NULL */
} oai_request;

/* Build the JSON request body into out (appended; out and rq's strings stay
 * the caller's). For OAI_COMPLETIONS with messages_json, the messages'
 * contents (strings, or the "text" of content parts) are joined with '\n'
 * into a prompt. extra_json members override the built ones, except that an
 * object member merges into an object member recursively (so extra
 * stream_options keep include_usage). Fails with BENCH_EINPUT when
 * messages_json/extra_json is not valid JSON of the right kind (an array of
 * objects / an object) or neither prompt nor messages_json is set,
 * BENCH_EUSAGE for a non-finite temperature, BENCH_ETOOBIG when out is full;
 * out is unchanged on failure. */
bench_status oai_build_request(const oai_request *rq, dynbuf *out, bench_err *err);

#endif
