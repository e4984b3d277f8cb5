/* sim.c - the embedded simulated OpenAI-compatible endpoint (docs/SIMULATOR.md).
 *
 * One libevent loop, one evhttp server, one timer per generation in
 * progress. A generation request is numbered at arrival (k = 0, 1, ...);
 * everything random about it (TTFT, natural length, words) comes from
 * rng_seed(seed, k) and its fault from an independent stream keyed the same
 * way, so a run is reproducible whatever the interleaving of connections.
 *
 * Timing: the role event goes out on arrival, content token 0 at arrival +
 * TTFT, token i at the previous token's due time + simmodel_tpot(active),
 * with `active` counted afresh at each token. Due times chain from the
 * previous due time, not from when the timer actually fired, so loop
 * latency does not accumulate into the throughput the client measures. */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "dynbuf.h"
#include "fileio.h"
#include "rng.h"
#include "simeval.h"
#include "simmodel.h"
#include "simtok.h"
#include "tsock.h"

#define SIM_MAX_BODY ((size_t)16 << 20)       /* larger request bodies get 413 */
#define SIM_CHAT_MSG_OVERHEAD 4               /* prompt tokens added per chat message */
#define SIM_DEFAULT_MAX_TOKENS_CHAT 256       /* when a chat request gives none */
#define SIM_DEFAULT_MAX_TOKENS_COMPLETIONS 16 /* when a completions request gives none */
#define SIM_NATURAL_MEDIAN 200.0              /* natural output length: lognormal median */
#define SIM_NATURAL_SIGMA 0.6                 /* ... and log-space sigma */
#define SIM_KEY_MAX 128                       /* longest request key kept for the log */
#define SIM_LOG_BUFSZ ((size_t)64 << 10)      /* send-log stdio buffer: flushed when full */
#define SIM_TEXT_MAX ((size_t)256 << 20)      /* cap on a non-streaming response's text */
#define SIM_FAULT_SALT 0x6661756c74736565ULL  /* separates the fault RNG from the latency RNG */

/* The words the simulator "generates": one word = one token = one event.
 * Plain ASCII, nothing to escape in JSON. */
static const char *const vocab[] = {
    "simulated", "bench", "token",  "stream", "latency", "model",  "answer", "the",
    "a",         "of",    "and",    "to",     "in",      "is",     "that",   "it",
    "quick",     "brown", "fox",    "jumps",  "over",    "lazy",   "dog",    "river",
    "stone",     "light", "window", "garden", "number",  "signal", "noise",  "result",
};
#define VOCAB_N (sizeof vocab / sizeof vocab[0])

/* ------------------------------------------------------------------------
 * Faults. A table, so that adding a kind is one row plus, if it behaves
 * unlike the existing ones, one case where its behaviour acts. */

typedef enum {
    FB_HTTP,            /* answer with an HTTP error status instead of a response */
    FB_MIDSTREAM_ERROR, /* after half the tokens: an error event, then end without [DONE] */
    FB_NO_DONE,         /* finish normally but omit [DONE] */
    FB_RESET,           /* after half the tokens: drop the connection (RST) */
    FB_STALL,           /* pause for `seconds` before the middle token */
    FB_JUNK,            /* before the middle token: one bad event (`junk`), then go on */
    FB_SLOW_FIRST_BYTE, /* hold the response headers back for `seconds` */
    FB_INVALID_UTF8,    /* the middle token's content starts with a 0xFF byte */
    FB_DUP_USAGE,       /* the usage event twice */
    FB_NO_USAGE,        /* no usage, even when asked for */
} fault_behaviour;

typedef struct {
    const char *name;
    fault_behaviour how;
    int status;          /* FB_HTTP: the status sent */
    const char *message; /* FB_HTTP: the error message sent; FB_JUNK: the payload (NULL:
                            an event line of SIM_OVERSIZED_CONTENT bytes of content) */
    int takes_seconds;   /* accepts ":SECONDS" after the probability or @N */
} fault_def;

static const fault_def fault_defs[] = {
    {"http500", FB_HTTP, 500, "simulated internal server error", 0},
    {"http503", FB_HTTP, 503, "simulated service unavailable", 0},
    {"http429", FB_HTTP, 429, NULL, 1}, /* seconds: its Retry-After */
    {"midstream_error", FB_MIDSTREAM_ERROR, 0, NULL, 0},
    {"no_done", FB_NO_DONE, 0, NULL, 0},
    {"reset", FB_RESET, 0, NULL, 0},
    {"stall", FB_STALL, 0, NULL, 1},
    {"malformed_json", FB_JUNK, 0, "{\"choices\": [", 0},
    {"non_json", FB_JUNK, 0, "<html><body><h1>502 Bad Gateway</h1></body></html>", 0},
    {"oversized_line", FB_JUNK, 0, NULL, 0},
    {"slow_first_byte", FB_SLOW_FIRST_BYTE, 0, NULL, 1},
    {"invalid_utf8", FB_INVALID_UTF8, 0, NULL, 0},
    {"dup_usage", FB_DUP_USAGE, 0, NULL, 0},
    {"no_usage", FB_NO_USAGE, 0, NULL, 0},
};
#define FAULT_DEFS_N (sizeof fault_defs / sizeof fault_defs[0])
#define FAULT_SECONDS_DEFAULT 1.0
/* oversized_line: content bytes in its one event line, 1.5 MiB, half again
 * the client's 1 MiB cap on an SSE line (worker.c's SSE_MAX_LINE). */
#define SIM_OVERSIZED_CONTENT ((size_t)3 << 19)

typedef struct {
    const fault_def *def; /* NULL: no fault */
    double seconds;       /* stall, slow_first_byte: the delay; http429: Retry-After */
} fault_choice;

typedef struct {
    fault_choice what;
    double p; /* probability per request */
} fault_rule;

typedef struct {
    fault_choice what;
    uint64_t at; /* arrival number it applies to */
} fault_pin;

typedef struct {
    fault_rule *rules; /* owned */
    size_t nrules;
    fault_pin *pins; /* owned */
    size_t npins;
} fault_plan;

static void fault_plan_free(fault_plan *fp)
{
    free(fp->rules);
    free(fp->pins);
    memset(fp, 0, sizeof *fp);
}

static const fault_def *fault_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < FAULT_DEFS_N; i++)
        if (strlen(fault_defs[i].name) == len && memcmp(fault_defs[i].name, name, len) == 0)
            return &fault_defs[i];
    return NULL;
}

/* Parse a whole string as a finite double; 0 on success. */
static int parse_double_full(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Parse a whole string of decimal digits as a uint64; 0 on success. */
static int parse_u64_full(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno)
        return -1;
    *out = v;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Parse "kind=P[:S],kind@N[:S],..." into fp (which the caller frees with
 * fault_plan_free, also on failure). */
static bench_status fault_plan_parse(const char *spec, fault_plan *fp, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *copy = NULL;
    memset(fp, 0, sizeof *fp);
    if (!spec || !*spec)
        return BENCH_OK;
    size_t items = 1;
    for (const char *c = spec; *c; c++)
        items += *c == ',';
    copy = strdup(spec);
    fp->rules = calloc(items, sizeof *fp->rules);
    fp->pins = calloc(items, sizeof *fp->pins);
    if (!copy || !fp->rules || !fp->pins) {
        st = bench_fail(err, BENCH_ENOMEM, "--faults: out of memory");
        goto out;
    }
    double psum = 0;
    char *save = NULL;
    for (char *raw = strtok_r(copy, ",", &save); raw; raw = strtok_r(NULL, ",", &save)) {
        char *item = trim(raw);
        if (!*item)
            continue;
        char shown[96];
        snprintf(shown, sizeof shown, "%s", item);
        size_t nl = strcspn(item, "=@");
        const fault_def *def = fault_lookup(item, nl);
        if (!def) {
            char known[256] = "";
            for (size_t i = 0; i < FAULT_DEFS_N; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                         fault_defs[i].name);
            st = bench_fail(err, BENCH_EUSAGE, "--faults: '%s': unknown fault kind (known: %s)",
                            shown, known);
            goto out;
        }
        if (item[nl] == '\0') {
            st = bench_fail(err, BENCH_EUSAGE,
                            "--faults: '%s': expected %s=PROBABILITY or %s@REQUEST", shown,
                            def->name, def->name);
            goto out;
        }
        char sep = item[nl];
        char *val = item + nl + 1;
        fault_choice what = {def, def->takes_seconds ? FAULT_SECONDS_DEFAULT : 0.0};
        char *colon = strchr(val, ':');
        if (colon) {
            *colon = '\0';
            if (!def->takes_seconds) {
                st = bench_fail(err, BENCH_EUSAGE, "--faults: '%s': %s takes no ':SECONDS'", shown,
                                def->name);
                goto out;
            }
            if (parse_double_full(colon + 1, &what.seconds) || what.seconds < 0) {
                st = bench_fail(err, BENCH_EUSAGE,
                                "--faults: '%s': '%s' is not a non-negative number of seconds",
                                shown, colon + 1);
                goto out;
            }
        }
        if (sep == '=') {
            double p;
            if (parse_double_full(val, &p) || p < 0 || p > 1) {
                st = bench_fail(err, BENCH_EUSAGE,
                                "--faults: '%s': '%s' is not a probability in [0, 1]", shown, val);
                goto out;
            }
            psum += p;
            if (psum > 1.0 + 1e-9) {
                st = bench_fail(err, BENCH_EUSAGE,
                                "--faults: '%s': the probabilities add up to more than 1", shown);
                goto out;
            }
            fp->rules[fp->nrules++] = (fault_rule){what, p};
        } else {
            uint64_t at;
            if (parse_u64_full(val, &at)) {
                st = bench_fail(err, BENCH_EUSAGE,
                                "--faults: '%s': '%s' is not a request number (0, 1, ...)", shown,
                                val);
                goto out;
            }
            for (size_t i = 0; i < fp->npins; i++)
                if (fp->pins[i].at == at) {
                    st = bench_fail(err, BENCH_EUSAGE,
                                    "--faults: '%s': request %" PRIu64 " already has a fault",
                                    shown, at);
                    goto out;
                }
            fp->pins[fp->npins++] = (fault_pin){what, at};
        }
    }
out:
    free(copy);
    return st;
}

bench_status sim_faults_check(const char *spec, bench_err *err)
{
    fault_plan fp;
    bench_status st = fault_plan_parse(spec, &fp, err);
    fault_plan_free(&fp);
    return st;
}

/* The fault for arrival k: a pinned one if any, else at most one drawn by
 * probability from an RNG stream that depends only on (seed, k). */
static fault_choice fault_decide(const fault_plan *fp, uint64_t seed, uint64_t k)
{
    fault_choice none = {NULL, 0};
    for (size_t i = 0; i < fp->npins; i++)
        if (fp->pins[i].at == k)
            return fp->pins[i].what;
    if (fp->nrules == 0)
        return none;
    rng r;
    rng_seed(&r, seed ^ SIM_FAULT_SALT, k);
    double u = rng_uniform(&r), acc = 0;
    for (size_t i = 0; i < fp->nrules; i++) {
        acc += fp->rules[i].p;
        if (u < acc)
            return fp->rules[i].what;
    }
    return none;
}

/* ------------------------------------------------------------------------
 * Server state. */

typedef struct sim_stream sim_stream;
typedef struct sim_conn sim_conn;

/* A gathered event's send-log line, waiting for its write. kind is a
 * string literal. */
typedef struct {
    int seq;
    const char *kind;
} sim_pending;
/* Events a batch holds beyond its tokens: finish, two usage events, [DONE]
 * (and slack). */
#define SIM_BATCH_EXTRA 8
#define SIM_EVENTS_PER_WRITE_MAX 4096

typedef struct {
    const sim_options *opt;
    simmodel sm;
    fault_plan faults;
    struct event_base *base;
    struct evhttp *http;
    struct evbuffer *scratch; /* reused for every write; evhttp drains it */
    dynbuf ev;                /* reused to build one event's JSON */
    char *models_body;        /* GET /v1/models response, built once */
    char *served_json;        /* JSON-escaped served_id, quotes included */
    char *name_json;          /* JSON-escaped catalog name, quotes included */
    FILE *log;
    int log_errno; /* first write error on the send log, 0 if none */
    uint64_t arrivals;
    int active;          /* generations in progress (streaming or not) */
    sim_stream *streams; /* in-progress generations, for shutdown */
    simeval *eval;       /* owned; NULL unless --data-dir: playing evaluations */
    /* --zero-delay: the stream whose events are being gathered into one
     * write (NULL: every event is written at once), and the send-log lines
     * of the gathered events, logged when the write has been made. */
    sim_stream *batch_of;
    sim_pending *pend; /* owned: room for cappend lines */
    size_t npend, cappend;
    dynbuf zd; /* reused: the token events of one batch */
    /* --log-sends: each connection's arrival watch ("Arrival times"),
     * indexed by its descriptor; the connections accepted but not yet set
     * up, and the event (priority 0) that sets them up. */
    sim_conn **conns; /* owned, nconns slots */
    size_t nconns;
    sim_conn *conn_new;
    struct event *conn_setup;
    uint64_t arrival_fallbacks; /* arrival lines without a kernel timestamp */
} sim_server;

/* --log-sends: one connection's watch for the kernel's receive time of its
 * next request's first byte ("Arrival times"). */
struct sim_conn {
    sim_server *srv;
    sim_conn *next_new;              /* on srv->conn_new until set up */
    struct bufferevent *bev;         /* evhttp's: names the connection */
    struct evhttp_connection *evcon; /* NULL until its first request */
    struct event *peek;              /* EV_READ, priority 0, one-shot */
    evutil_socket_t fd;
    int64_t arrival_ns; /* the next request's first byte (CLOCK_MONOTONIC); -1: none */
    sim_stream *stream; /* the generation using the connection, if any */
};

struct sim_stream {
    sim_server *srv;
    sim_stream *prev, *next;
    struct evhttp_request *req;      /* owned by evhttp until it detaches it */
    struct evhttp_connection *evcon; /* borrowed */
    sim_conn *conn;                  /* its connection's watch (--log-sends), else NULL */
    struct event *timer;
    rng r;
    uint64_t k;
    char key[SIM_KEY_MAX];
    char id[64];
    long long created;
    const char *model_json; /* borrowed from srv */
    int chat, streaming, include_usage;
    int prompt_tokens, n_out, mid;
    const char *finish_reason;
    int sent;            /* content tokens produced so far */
    int seq;             /* events written so far */
    int64_t deadline_ns; /* when token `sent` is due */
    int64_t head_due_ns; /* slow_first_byte: when the held-back headers go out */
    int head_pending;    /* slow_first_byte: headers (and role event) not sent yet */
    fault_choice fault;
    dynbuf text; /* non-streaming: the generated text */
    /* A scripted reply (evaluations, simeval.h): token i is
     * script[ends[i-1] .. min(ends[i], script_len)), ends[-1] being 0. */
    char *script; /* owned; NULL: vocabulary words drawn at each token */
    size_t script_len;
    size_t *ends;   /* owned: n_out piece ends */
    char *logprobs; /* owned JSON for token 0, or NULL */
    /* --zero-delay: every token event is zd_head + " word" + zd_tail. */
    char *zd_head; /* owned: "data: {...\"content\":\"" (or "text":") */
    size_t zd_head_len;
};

/* ------------------------------------------------------------------------
 * Send log. */

static void log_line(sim_server *srv, const char *key, int seq, int64_t t_ns, const char *kind)
{
    if (!srv->log)
        return;
    if (fprintf(srv->log, "%s\t%d\t%" PRId64 "\t%s\n", key, seq, t_ns, kind) < 0 && !srv->log_errno)
        srv->log_errno = errno ? errno : EIO;
}

static void log_fault(sim_server *srv, const char *key, int seq, const fault_def *def)
{
    char kind[64];
    snprintf(kind, sizeof kind, "fault:%s", def->name);
    log_line(srv, key, seq, clock_now_ns(), kind);
}

/* ------------------------------------------------------------------------
 * Plain responses. */

static void add_common_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "X-Bench-Simulated", "1");
    evhttp_add_header(h, "Server", "bench-sim");
}

/* Send a complete JSON response. When key is non-NULL the send is logged as
 * one event of the given kind. */
static void send_json(sim_server *srv, struct evhttp_request *req, int status, const char *reason,
                      const char *body, const char *key, const char *kind)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_remove_header(h, "Content-Type");
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(srv->scratch, body, strlen(body));
    int64_t t = clock_now_ns();
    evhttp_send_reply(req, status, reason, srv->scratch);
    evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
    if (key)
        log_line(srv, key, 0, t, kind);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/* An OpenAI-shaped error: {"error":{"message","type","param","code"}}.
 * code is a string, or when NULL the number code_num, or when that is 0 null. */
static void send_error(sim_server *srv, struct evhttp_request *req, int status, const char *type,
                       const char *param, const char *code, int code_num, const char *message,
                       const char *key)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    char *body = NULL;
    if (e) {
        cJSON_AddStringToObject(e, "message", message);
        cJSON_AddStringToObject(e, "type", type);
        if (param)
            cJSON_AddStringToObject(e, "param", param);
        else
            cJSON_AddNullToObject(e, "param");
        if (code)
            cJSON_AddStringToObject(e, "code", code);
        else if (code_num)
            cJSON_AddNumberToObject(e, "code", code_num);
        else
            cJSON_AddNullToObject(e, "code");
        body = cJSON_PrintUnformatted(root);
    }
    /* Out of memory: still answer, with a fixed body. */
    send_json(srv, req, status, reason_phrase(status),
              body ? body
                   : "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                     "\"param\":null,\"code\":null}}",
              key, "error");
    cJSON_free(body);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------------------
 * Generation streams. */

/* Arm the stream's timer for t_ns (its next token's due time, or when its
 * held-back headers go out). */
static void stream_schedule_at(sim_stream *s, int64_t t_ns)
{
    int64_t d = t_ns - clock_now_ns();
    if (d < 0)
        d = 0;
    int64_t us = (d + 999) / 1000; /* never fire before the due time */
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    /* libevent measures timeouts from its cached loop time; refresh it so
     * the timer counts from now, not from when this loop iteration began. */
    event_base_update_cache_time(s->srv->base);
    evtimer_add(s->timer, &tv);
}

static void stream_schedule(sim_stream *s)
{
    stream_schedule_at(s, s->head_pending ? s->head_due_ns : s->deadline_ns);
}

/* Forget the stream: off the list, out of the active count, timer and
 * buffers freed. Does not touch the request or its connection. */
static void stream_free(sim_stream *s)
{
    sim_server *srv = s->srv;
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->active--;
    if (srv->batch_of == s) { /* a --zero-delay batch it never wrote */
        evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
        srv->batch_of = NULL;
        srv->npend = 0;
    }
    if (s->timer)
        event_free(s->timer);
    free(s->zd_head);
    dynbuf_free(&s->text);
    free(s->script);
    free(s->ends);
    free(s->logprobs);
    free(s);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg);

/* The stream starts caring about its connection closing: through the
 * connection's watch when it has one (which owns the close callback), else
 * with a close callback of its own. */
static void stream_watch_conn(sim_stream *s)
{
    if (s->conn)
        s->conn->stream = s;
    else if (s->evcon)
        evhttp_connection_set_closecb(s->evcon, on_conn_close, s);
}

/* The stream stops caring about its connection closing. */
static void stream_release_conn(sim_stream *s)
{
    if (s->conn) {
        if (s->conn->stream == s)
            s->conn->stream = NULL;
    } else if (s->evcon) {
        evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    }
}

/* Drop the connection without a proper end. rst: send a TCP reset rather
 * than a FIN. The connection frees the request with itself. */
static void stream_drop(sim_stream *s, int rst)
{
    stream_release_conn(s);
    if (s->evcon) {
        if (rst) {
            struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
            evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
            struct linger lg = {1, 0};
            if (fd >= 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        evhttp_connection_free(s->evcon);
    }
    stream_free(s);
}

/* evhttp tells us the connection is going away under a stream (client
 * disconnect, write error or timeout, or server shutdown). When evhttp has
 * detached the unfinished request from the connection, it is ours to free. */
static void stream_conn_gone(sim_stream *s)
{
    if (evhttp_request_get_connection(s->req) == NULL)
        evhttp_request_free(s->req);
    stream_free(s);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    stream_conn_gone(arg);
}

/* Non-streaming requests write nothing until the end, so evhttp would not
 * notice the client leaving; peek at the socket instead. */
static int peer_gone(sim_stream *s)
{
    if (!s->evcon)
        return 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return 0;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* Start one event's JSON in b (emptied first): everything before
 * "choices". */
static bench_status ev_head_into(sim_stream *s, dynbuf *b)
{
    dynbuf_reset(b);
    return dynbuf_addf(b,
                       "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":%s,"
                       "\"system_fingerprint\":\"bench-sim\",",
                       s->id, s->chat ? "chat.completion.chunk" : "text_completion", s->created,
                       s->model_json);
}

/* ev_head_into the reused event buffer. */
static bench_status ev_head(sim_stream *s)
{
    return ev_head_into(s, &s->srv->ev);
}

/* Write what evhttp has queued on s's connection to the socket now, rather
 * than when the loop next sees the socket writable, so that a send-log time
 * taken right before this call is when the bytes were handed to the kernel
 * (on loopback the client can read them during that write, so no chunk can
 * be stamped by the client before its logged time). What the socket does
 * not take (it is full) stays queued and evhttp writes it later; a write
 * error is left for evhttp to notice on its own write. Only for chunks of a
 * streaming response: evhttp learns that a whole reply was written from its
 * own write, never from this one.
 * A socket bufferevent keeps its output's front frozen, so that only its own
 * write callback drains it (it unfreezes around its write): a plain
 * evbuffer_write would write nothing, and did, but for a connection's first
 * response, until this was found; the log's times were then taken before a
 * write that came a loop turn later. This does as that callback does. */
static void conn_flush(sim_stream *s)
{
    struct bufferevent *bev = s->evcon ? evhttp_connection_get_bufferevent(s->evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return;
    struct evbuffer *out = bufferevent_get_output(bev);
    int frozen = evbuffer_get_length(out) > 0 && evbuffer_drain(out, 0) != 0;
    if (frozen)
        evbuffer_unfreeze(out, 1);
    evbuffer_write(out, fd);
    if (frozen)
        evbuffer_freeze(out, 1);
}

/* With --zero-delay: the events gathered since the batch began go out as one
 * HTTP chunk, in one write, and their send-log lines are written with the
 * time taken right before that write. drained (or NULL) is called by evhttp
 * when the connection's output has been written out, if it was not at
 * once. */
static void batch_end(sim_stream *s, void (*drained)(struct evhttp_connection *, void *))
{
    sim_server *srv = s->srv;
    if (srv->batch_of != s)
        return;
    srv->batch_of = NULL;
    int64_t t = clock_now_ns();
    if (evbuffer_get_length(srv->scratch) > 0) {
        evhttp_send_reply_chunk_with_cb(s->req, srv->scratch, drained, s);
        evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
        t = clock_now_ns();
        conn_flush(s);
    }
    for (size_t i = 0; i < srv->npend; i++)
        log_line(srv, s->key, srv->pend[i].seq, t, srv->pend[i].kind);
    srv->npend = 0;
}

/* Write one SSE event, in one HTTP chunk, and log it (kind: a string
 * literal). The log time is taken right before the write to the socket
 * (conn_flush). While a --zero-delay batch of s is open the event is only
 * gathered, and written and logged by batch_end. */
static bench_status ev_send_raw(sim_stream *s, const char *payload, size_t len, const char *kind)
{
    sim_server *srv = s->srv;
    struct evbuffer *eb = srv->scratch;
    if (evbuffer_add(eb, "data: ", 6) || evbuffer_add(eb, payload, len) ||
        evbuffer_add(eb, "\n\n", 2)) {
        evbuffer_drain(eb, evbuffer_get_length(eb));
        return BENCH_ENOMEM;
    }
    if (srv->batch_of == s) {
        srv->pend[srv->npend++] = (sim_pending){s->seq++, kind};
        if (srv->npend == srv->cappend) { /* never with the batches zd_pump makes */
            batch_end(s, NULL);
            srv->batch_of = s;
        }
        return BENCH_OK;
    }
    evhttp_send_reply_chunk(s->req, eb);
    evbuffer_drain(eb, evbuffer_get_length(eb));
    int64_t t = clock_now_ns();
    conn_flush(s);
    log_line(srv, s->key, s->seq++, t, kind);
    return BENCH_OK;
}

static bench_status ev_send(sim_stream *s, const char *kind)
{
    return ev_send_raw(s, s->srv->ev.p, s->srv->ev.len, kind);
}

static bench_status ev_role(sim_stream *s)
{
    bench_status st;
    if ((st = ev_head(s)) ||
        (st =
             dynbuf_adds(&s->srv->ev, "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                                      "\"content\":\"\"},\"finish_reason\":null}]}")))
        return st;
    return ev_send(s, "role");
}

/* What the invalid_utf8 fault puts at the start of the middle token's
 * content, raw inside the JSON string: a 0xFF byte, never valid in UTF-8
 * (JSON requires UTF-8; cJSON and most parsers pass such bytes through). */
static const char *bad_utf8_prefix(const sim_stream *s)
{
    return s->fault.def && s->fault.def->how == FB_INVALID_UTF8 && s->sent == s->mid ? "\xff" : "";
}

static bench_status ev_token(sim_stream *s, const char *word)
{
    bench_status st;
    if ((st = ev_head(s)))
        return st;
    if (s->chat)
        st = dynbuf_addf(&s->srv->ev,
                         "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s %s\"},"
                         "\"finish_reason\":null}]}",
                         bad_utf8_prefix(s), word);
    else
        st = dynbuf_addf(&s->srv->ev,
                         "\"choices\":[{\"index\":0,\"text\":\"%s %s\",\"logprobs\":null,"
                         "\"finish_reason\":null}]}",
                         bad_utf8_prefix(s), word);
    return st ? st : ev_send(s, "token");
}

/* Append n bytes of s as the inside of a JSON string literal. */
static bench_status add_json_escaped(dynbuf *b, const char *s, size_t n)
{
    bench_status st = BENCH_OK;
    size_t from = 0;
    for (size_t i = 0; i < n && !st; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((st = dynbuf_add(b, s + from, i - from)))
            break;
        from = i + 1;
        switch (c) {
        case '"':
            st = dynbuf_adds(b, "\\\"");
            break;
        case '\\':
            st = dynbuf_adds(b, "\\\\");
            break;
        case '\n':
            st = dynbuf_adds(b, "\\n");
            break;
        case '\r':
            st = dynbuf_adds(b, "\\r");
            break;
        case '\t':
            st = dynbuf_adds(b, "\\t");
            break;
        default:
            st = dynbuf_addf(b, "\\u%04x", c);
        }
    }
    return st ? st : dynbuf_add(b, s + from, n - from);
}

/* One token of a scripted reply; lp is its logprobs JSON or NULL. */
static bench_status ev_piece(sim_stream *s, const char *piece, size_t len, const char *lp)
{
    dynbuf *b = &s->srv->ev;
    bench_status st;
    if ((st = ev_head(s)) ||
        (st = dynbuf_adds(b, s->chat ? "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                                     : "\"choices\":[{\"index\":0,\"text\":\"")) ||
        (st = dynbuf_adds(b, bad_utf8_prefix(s))) || (st = add_json_escaped(b, piece, len)) ||
        (st = dynbuf_adds(b, s->chat ? "\"}" : "\"")))
        return st;
    if (lp || !s->chat)
        st = dynbuf_addf(b, ",\"logprobs\":%s", lp ? lp : "null");
    if (st || (st = dynbuf_adds(b, ",\"finish_reason\":null}]}")))
        return st;
    return ev_send(s, "token");
}

static bench_status ev_finish(sim_stream *s)
{
    bench_status st;
    if ((st = ev_head(s)))
        return st;
    if (s->chat)
        st = dynbuf_addf(&s->srv->ev,
                         "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}",
                         s->finish_reason);
    else
        st = dynbuf_addf(&s->srv->ev,
                         "\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,"
                         "\"finish_reason\":\"%s\"}]}",
                         s->finish_reason);
    return st ? st : ev_send(s, "finish");
}

static bench_status ev_usage(sim_stream *s)
{
    bench_status st;
    if ((st = ev_head(s)) ||
        (st = dynbuf_addf(&s->srv->ev,
                          "\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                          "\"total_tokens\":%d}}",
                          s->prompt_tokens, s->sent, s->prompt_tokens + s->sent)))
        return st;
    return ev_send(s, "usage");
}

/* The payload of a junk fault (malformed_json, non_json, oversized_line)
 * into b: its fixed text, or for oversized_line a valid event whose one
 * line carries SIM_OVERSIZED_CONTENT bytes of content. */
static bench_status junk_payload(sim_stream *s, dynbuf *b)
{
    const char *fixed = s->fault.def->message;
    if (fixed) {
        dynbuf_reset(b);
        return dynbuf_adds(b, fixed);
    }
    bench_status st = ev_head_into(s, b);
    if (!st)
        st = dynbuf_adds(b, s->chat ? "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                                    : "\"choices\":[{\"index\":0,\"text\":\"");
    for (size_t i = 0; i < SIM_OVERSIZED_CONTENT / 64 && !st; i++)
        st = dynbuf_adds(b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    if (!st)
        st = dynbuf_adds(b, s->chat ? "\"},\"finish_reason\":null}]}"
                                    : "\",\"logprobs\":null,\"finish_reason\":null}]}");
    return st;
}

/* Cap on a junk payload's size (the oversized line and its JSON around). */
#define SIM_JUNK_MAX (SIM_OVERSIZED_CONTENT + 4096)

/* The complete non-streaming body, chat.completion or text_completion;
 * caller frees. NULL when out of memory. The usage member is left out under
 * the no_usage fault. */
static char *full_body(sim_stream *s)
{
    dynbuf b;
    dynbuf_init(&b, SIM_TEXT_MAX + 4096);
    const char *text = s->text.p ? s->text.p : "";
    bench_status st = dynbuf_addf(&b,
                                  "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":%s,"
                                  "\"system_fingerprint\":\"bench-sim\",\"choices\":[{\"index\":0,",
                                  s->id, s->chat ? "chat.completion" : "text_completion",
                                  s->created, s->model_json);
    if (!st)
        st = dynbuf_adds(&b, s->chat ? "\"message\":{\"role\":\"assistant\",\"content\":\""
                                     : "\"text\":\"");
    if (!st)
        st = add_json_escaped(&b, text, s->text.len);
    if (!st)
        st = dynbuf_adds(&b, s->chat ? "\"}," : "\",");
    if (!st)
        st = dynbuf_addf(&b, "\"logprobs\":%s,\"finish_reason\":\"%s\"}]",
                         s->logprobs && s->sent > 0 ? s->logprobs : "null", s->finish_reason);
    if (!st && !(s->fault.def && s->fault.def->how == FB_NO_USAGE))
        st = dynbuf_addf(&b,
                         ",\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                         "\"total_tokens\":%d}",
                         s->prompt_tokens, s->sent, s->prompt_tokens + s->sent);
    if (!st)
        st = dynbuf_adds(&b, "}");
    if (st) {
        dynbuf_free(&b);
        return NULL;
    }
    return dynbuf_steal(&b);
}

/* All tokens produced: finish, usage, [DONE] and the end of the chunked
 * response (streaming) or the one JSON body (not). Frees the stream. */
static void stream_complete(sim_stream *s)
{
    sim_server *srv = s->srv;
    const fault_def *def = s->fault.def;
    fault_behaviour how = def ? def->how : FB_HTTP; /* FB_HTTP: none acts here */
    if (!s->streaming) {
        /* A junk fault's payload replaces the body; no_usage leaves usage out. */
        dynbuf junk;
        dynbuf_init(&junk, SIM_JUNK_MAX);
        int is_junk = how == FB_JUNK;
        char *body = is_junk ? (junk_payload(s, &junk) ? NULL : dynbuf_steal(&junk)) : full_body(s);
        dynbuf_free(&junk);
        stream_release_conn(s);
        if (is_junk || how == FB_NO_USAGE)
            log_fault(srv, s->key, 0, def);
        if (body)
            send_json(srv, s->req, 200, "OK", body, s->key, "finish");
        else
            send_error(srv, s->req, 500, "server_error", NULL, NULL, 500, "simulator out of memory",
                       s->key);
        free(body);
        stream_free(s);
        return;
    }
    /* Usage events: one when asked for; none under no_usage; two under
     * dup_usage (asked for or not). */
    int n_usage = how == FB_NO_USAGE ? 0 : how == FB_DUP_USAGE ? 2 : s->include_usage;
    if (ev_finish(s)) {
        stream_drop(s, 0);
        return;
    }
    for (int i = 0; i < n_usage; i++) {
        if (i == 1)
            log_fault(srv, s->key, s->seq, def);
        if (ev_usage(s)) {
            stream_drop(s, 0);
            return;
        }
    }
    if (how == FB_NO_USAGE)
        log_fault(srv, s->key, s->seq, def);
    if (how == FB_NO_DONE)
        log_fault(srv, s->key, s->seq, s->fault.def);
    else if (ev_send_raw(s, "[DONE]", 6, "done")) {
        stream_drop(s, 0);
        return;
    }
    batch_end(s, NULL);
    stream_release_conn(s);
    evhttp_send_reply_end(s->req);
    stream_free(s);
}

/* A mid-stream fault whose moment has come. Returns 1 when it ended the
 * stream (which is then freed). */
static int stream_mid_fault(sim_stream *s)
{
    sim_server *srv = s->srv;
    const fault_def *def = s->fault.def;
    if (!def || s->sent != s->mid)
        return 0;
    switch (def->how) {
    case FB_MIDSTREAM_ERROR:
        log_fault(srv, s->key, s->seq, def);
        if (s->streaming) {
            static const char payload[] = "{\"error\":{\"code\":500,\"message\":\"simulated "
                                          "mid-stream failure\",\"type\":\"server_error\"}}";
            if (ev_send_raw(s, payload, sizeof payload - 1, "error")) {
                stream_drop(s, 0);
                return 1;
            }
            stream_release_conn(s);
            evhttp_send_reply_end(s->req);
        } else {
            stream_release_conn(s);
            send_error(srv, s->req, 500, "server_error", NULL, NULL, 500,
                       "simulated mid-stream failure", s->key);
        }
        stream_free(s);
        return 1;
    case FB_RESET:
        log_fault(srv, s->key, s->seq, def);
        stream_drop(s, 1);
        return 1;
    case FB_JUNK:
        /* Streaming: one bad event, then the stream goes on as if nothing had
         * happened (the server does not know). Not streaming: the body is
         * replaced at the end (stream_complete). */
        if (s->streaming) {
            dynbuf junk;
            dynbuf_init(&junk, SIM_JUNK_MAX);
            log_fault(srv, s->key, s->seq, def);
            bench_status st = junk_payload(s, &junk);
            if (!st)
                st = ev_send_raw(s, junk.p, junk.len, "junk");
            dynbuf_free(&junk);
            if (st) {
                stream_drop(s, 0);
                return 1;
            }
        }
        break;
    case FB_INVALID_UTF8:
        /* the token about to go out carries the bad byte (bad_utf8_prefix) */
        log_fault(srv, s->key, s->seq, def);
        if (!s->streaming && dynbuf_adds(&s->text, bad_utf8_prefix(s))) {
            stream_release_conn(s);
            send_error(srv, s->req, 500, "server_error", NULL, NULL, 500,
                       "simulated response too large for the simulator", s->key);
            stream_free(s);
            return 1;
        }
        break;
    case FB_HTTP:
    case FB_NO_DONE:
    case FB_STALL:
    case FB_SLOW_FIRST_BYTE:
    case FB_DUP_USAGE:
    case FB_NO_USAGE:
        break;
    }
    return 0;
}

/* Token `sent` is due now: a stall due before it is added to its due time
 * when it is scheduled (here and at arrival). */
static void stream_add_stall(sim_stream *s)
{
    if (s->fault.def && s->fault.def->how == FB_STALL && s->sent == s->mid) {
        log_fault(s->srv, s->key, s->seq, s->fault.def);
        s->deadline_ns += (int64_t)(s->fault.seconds * 1e9);
    }
}

/* A streaming response begins: status, headers and, for chat, the
 * role-only event. Returns 1 when that failed and the stream was dropped. */
static int stream_start_reply(sim_stream *s)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(s->req, 200, "OK");
    /* Chat streams open with a role-only event, as real servers do;
     * completions have no roles. */
    if (s->chat && ev_role(s)) {
        stream_drop(s, 0);
        return 1;
    }
    return 0;
}

/* --zero-delay: the text around a token event's word, ev_token's bytes. */
#define ZD_CHOICES_CHAT "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
#define ZD_CHOICES_COMPL "\"choices\":[{\"index\":0,\"text\":\""
#define ZD_TAIL_CHAT "\"},\"finish_reason\":null}]}\n\n"
#define ZD_TAIL_COMPL "\",\"logprobs\":null,\"finish_reason\":null}]}\n\n"

/* --zero-delay: build s->zd_head once, so that each token event is three
 * copies ("data: " + head + choices up to the content's opening quote; the
 * word; the tail) instead of a formatted print. */
static bench_status zd_prepare(sim_stream *s)
{
    dynbuf h, z;
    dynbuf_init(&h, (size_t)1 << 16);
    dynbuf_init(&z, (size_t)1 << 16);
    bench_status st = ev_head_into(s, &h);
    if (!st && !(st = dynbuf_adds(&z, "data: ")) && !(st = dynbuf_add(&z, h.p, h.len)))
        st = dynbuf_adds(&z, s->chat ? ZD_CHOICES_CHAT : ZD_CHOICES_COMPL);
    if (!st) {
        s->zd_head_len = z.len;
        if (!(s->zd_head = dynbuf_steal(&z)))
            st = BENCH_ENOMEM;
    }
    dynbuf_free(&h);
    dynbuf_free(&z);
    return st;
}

static void zd_pump(sim_stream *s);

static void zd_on_drained(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    zd_pump(arg);
}

/* --zero-delay: write the stream's next events_per_write token events (and,
 * after its last token, the finish, usage and [DONE] events) in one write,
 * then come back as soon as the connection has taken them: at the next loop
 * iteration when the socket took everything, else when evhttp has written
 * the rest (zd_on_drained). So a stream goes exactly as fast as its client
 * reads, never queues more than one batch in the simulator, and the loop
 * serves every stream in turn. Words come from the stream's RNG as in
 * on_tick, so the text is the paced mode's. */
static void zd_pump(sim_stream *s)
{
    sim_server *srv = s->srv;
    int n = srv->opt->events_per_write > 0 ? srv->opt->events_per_write : 1;
    dynbuf *z = &srv->zd;
    const char *tail = s->chat ? ZD_TAIL_CHAT : ZD_TAIL_COMPL;
    size_t tail_len = strlen(tail);
    bench_status st = BENCH_OK;
    dynbuf_reset(z);
    srv->batch_of = s;
    srv->npend = 0;
    for (int i = 0; i < n && s->sent < s->n_out && !st; i++) {
        const char *word = vocab[rng_below(&s->r, VOCAB_N)];
        if ((st = dynbuf_add(z, s->zd_head, s->zd_head_len)) || (st = dynbuf_add(z, " ", 1)) ||
            (st = dynbuf_adds(z, word)) || (st = dynbuf_add(z, tail, tail_len)))
            break;
        srv->pend[srv->npend++] = (sim_pending){s->seq++, "token"};
        s->sent++;
    }
    if (!st && evbuffer_add(srv->scratch, z->p, z->len))
        st = BENCH_ENOMEM;
    if (st) {
        stream_drop(s, 0); /* discards the batch */
        return;
    }
    if (s->sent >= s->n_out) {
        stream_complete(s); /* adds finish, usage, [DONE]; writes the batch */
        return;
    }
    batch_end(s, zd_on_drained);
    struct bufferevent *bev = s->evcon ? evhttp_connection_get_bufferevent(s->evcon) : NULL;
    if (!bev || evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        static const struct timeval now = {0, 0};
        evtimer_add(s->timer, &now); /* the next loop iteration, after the others */
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    sim_stream *s = arg;
    sim_server *srv = s->srv;
    (void)fd;
    (void)what;
    if (s->head_pending) {
        /* slow_first_byte: the held-back headers go out now (unless the
         * client gave up meanwhile: nothing was written to notice it by). */
        s->head_pending = 0;
        if (peer_gone(s)) {
            stream_drop(s, 0);
            return;
        }
        if (stream_start_reply(s))
            return;
        stream_schedule(s);
        return;
    }
    if (s->zd_head) {
        zd_pump(s);
        return;
    }
    if (!s->streaming && peer_gone(s)) {
        stream_drop(s, 0);
        return;
    }
    if (stream_mid_fault(s))
        return;
    if (s->sent >= s->n_out) { /* a scripted reply cut to nothing by a stop sequence */
        stream_complete(s);
        return;
    }
    if (s->script) {
        size_t from = s->sent ? s->ends[s->sent - 1] : 0, to = s->ends[s->sent];
        const char *lp = s->sent == 0 ? s->logprobs : NULL;
        if (s->streaming ? ev_piece(s, s->script + from, to - from, lp)
                         : dynbuf_add(&s->text, s->script + from, to - from)) {
            if (s->streaming) {
                stream_drop(s, 0);
                return;
            }
            stream_release_conn(s);
            send_error(srv, s->req, 500, "server_error", NULL, NULL, 500,
                       "simulated response too large for the simulator", s->key);
            stream_free(s);
            return;
        }
    } else if (s->streaming) {
        const char *word = vocab[rng_below(&s->r, VOCAB_N)];
        if (ev_token(s, word)) {
            stream_drop(s, 0);
            return;
        }
    } else if (dynbuf_addf(&s->text, " %s", vocab[rng_below(&s->r, VOCAB_N)])) {
        stream_release_conn(s);
        send_error(srv, s->req, 500, "server_error", NULL, NULL, 500,
                   "simulated response too large for the simulator", s->key);
        stream_free(s);
        return;
    }
    s->sent++;
    if (s->sent >= s->n_out) {
        stream_complete(s);
        return;
    }
    if (!srv->opt->zero_delay)
        s->deadline_ns += (int64_t)(simmodel_tpot(&srv->sm, srv->active) * 1e9);
    stream_add_stall(s);
    stream_schedule(s);
}

/* ------------------------------------------------------------------------
 * Arrival times (--log-sends).
 *
 * Each generation request gets an "arrival" line: the kernel's software
 * receive timestamp of the request's first byte, so that the log's TTFT
 * can start where the client's ends (its send) minus only the loopback
 * transit, and not at the role event, which also carries the simulator's
 * own wake-up and parsing. The listening socket has SO_TIMESTAMPNS, which
 * accepted sockets inherit; a one-byte recvmsg(MSG_PEEK) then returns the
 * receive time (CLOCK_REALTIME) of the segment holding the first unread
 * byte, without consuming it.
 *
 * So the peek must come before evhttp reads that byte. libevent 2.1.12 has
 * no hook between one request and the next (evhttp_set_newreqcb is 2.2),
 * so every connection has a watch: a one-shot EV_READ event at priority 0,
 * the loop's other events (evhttp's, the streams' timers) being at the
 * default 1 (event_base_priority_init, done only with --log-sends). When a
 * segment makes the socket readable, the watch's callback runs before
 * evhttp's read in the same loop iteration. It is armed
 *   - when the connection is set up: evhttp_set_bevcb tells us of each new
 *     connection (its bufferevent, before evhttp gives it the descriptor),
 *     and activates conn_setup, a priority-0 event that runs before the
 *     connection's first read can; it peeks at once, then arms the watch;
 *   - by on_request, for the connection's next request (all of the current
 *     one has been read by then), unless evhttp already holds bytes beyond
 *     it (a pipelined request: its first byte is gone, and it falls back).
 * The watch is one-shot: it takes one stamp and stays disarmed until the
 * next on_request, so it never spins while evhttp is not reading (evhttp
 * stops reading a POST's socket until its response is done). A peeked
 * segment is not used when evhttp already holds unread bytes, which come
 * before it (it is then not the start of a request). evhttp's own reading
 * and buffers are untouched. on_request takes the request's stamp; a
 * request without one (no watch, a pipelined request, no timestamp in the
 * control message) gets the time on_request runs instead, and is counted;
 * sim_run says how many at exit. The kernel stamps segments only some
 * milliseconds after the first socket asks (tsock_stamps_on), so sim_run
 * waits for that before it reports ready.
 *
 * Cost with --log-sends: per connection one recvmsg and an event; per
 * request one recvmsg and an epoll_ctl, and one loop iteration in which
 * priority-1 callbacks due then wait for the next pass (an extra epoll
 * wait, about a microsecond). Without --log-sends none of this exists: no
 * priorities, no bevcb, no watches.
 *
 * What the stamp is: when the kernel received the segment holding the
 * request's first byte (loopback: at the sender's transmit, within
 * microseconds). A request written in several segments that the kernel
 * coalesced before the peek carries the latest one's time (TCP keeps the
 * newer stamp when it merges segments); on loopback a request of one write
 * is one segment.
 *
 * Conversion to CLOCK_MONOTONIC: tsock_recv's (tsock.h), the one the
 * client's native transport uses: an offset between the clocks sampled at
 * most 50 ms before (CLOCK_REALTIME between two CLOCK_MONOTONIC reads),
 * wrong only across a step of the wall clock, when the stamp is discarded.
 *
 * Lifetime: the watch of a connection that has had a request owns
 * evhttp's close callback for it (a stream then registers with the watch,
 * not with evhttp; on_watch_close ends both), so its event is freed before
 * evhttp closes the descriptor. Before its first request a connection ends
 * only by the client (evhttp's own closes, Connection: close and errors,
 * follow a request or are answered by evhttp alone after a byte arrived):
 * the socket is then readable, the watch fires first, sees the end or the
 * byte, and is left disarmed; its entry is replaced when the descriptor
 * comes back, or freed at exit. */

/* Peek at the first unread byte on fd. Returns 1 when there is one (*t_ns
 * then is the kernel's receive time of the segment holding it, on
 * CLOCK_MONOTONIC, or -1 when no usable timestamp came with it), 0 when
 * there is none yet, -1 at the end of the stream or on an error. */
static int peek_arrival(evutil_socket_t fd, int64_t *t_ns)
{
    char byte;
    ssize_t n = tsock_recv(fd, &byte, 1, MSG_PEEK, t_ns);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return n == 0 ? -1 : 1;
}

/* Stamp the connection's next request if its first byte is there, else
 * arm the watch. */
static void watch_take(sim_conn *c)
{
    int64_t t;
    int r = peek_arrival(c->fd, &t);
    if (r == 0) {
        event_add(c->peek, NULL);
        return;
    }
    /* r < 0: the connection is ending (evhttp sees it too). Bytes evhttp
     * already holds come before the peeked one, which is then not a
     * request's first. */
    if (r > 0 && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
        c->arrival_ns = t;
}

static void on_watch_peek(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_take(arg);
}

static void watch_free(sim_conn *c)
{
    sim_server *srv = c->srv;
    if (c->fd >= 0 && (size_t)c->fd < srv->nconns && srv->conns[c->fd] == c)
        srv->conns[c->fd] = NULL;
    if (c->peek)
        event_free(c->peek);
    free(c);
}

/* evhttp is closing a watched connection (its descriptor still open): the
 * stream on it, if any, ends as with on_conn_close. */
static void on_watch_close(struct evhttp_connection *evcon, void *arg)
{
    sim_conn *c = arg;
    sim_stream *s = c->stream;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    watch_free(c);
    if (s)
        stream_conn_gone(s);
}

/* evhttp_set_bevcb: a connection was accepted. The bufferevent is the one
 * evhttp makes itself without this callback (libevent 2.1.12,
 * evhttp_connection_base_bufferevent_new: no fd, no options). Its watch is
 * set up by on_conn_setup, once evhttp has given it the descriptor; the
 * extra reference keeps it valid until then. */
static struct bufferevent *on_conn_bev(struct event_base *base, void *arg)
{
    sim_server *srv = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    sim_conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (!c)
        return bev; /* no watch: this connection's arrival lines fall back */
    c->srv = srv;
    c->bev = bev;
    c->fd = -1;
    c->arrival_ns = -1;
    bufferevent_incref(bev);
    c->next_new = srv->conn_new;
    srv->conn_new = c;
    event_active(srv->conn_setup, EV_TIMEOUT, 0);
    return bev;
}

/* Put c in the table under fd, with its (unarmed) watch event. */
static int watch_register(sim_server *srv, sim_conn *c, evutil_socket_t fd)
{
    if ((size_t)fd >= srv->nconns) {
        size_t n = srv->nconns ? srv->nconns : 64;
        while (n <= (size_t)fd)
            n *= 2;
        sim_conn **p = realloc(srv->conns, n * sizeof *p);
        if (!p)
            return -1;
        memset(p + srv->nconns, 0, (n - srv->nconns) * sizeof *p);
        srv->conns = p;
        srv->nconns = n;
    }
    c->peek = event_new(srv->base, fd, EV_READ, on_watch_peek, c);
    if (!c->peek || event_priority_set(c->peek, 0))
        return -1;
    if (srv->conns[fd]) /* a connection that ended before its first request */
        watch_free(srv->conns[fd]);
    c->fd = fd;
    srv->conns[fd] = c;
    return 0;
}

/* conn_setup (priority 0): the connections accepted since it last ran now
 * have their descriptors, and none has been read from yet. */
static void on_conn_setup(evutil_socket_t fd, short what, void *arg)
{
    sim_server *srv = arg;
    (void)fd;
    (void)what;
    while (srv->conn_new) {
        sim_conn *c = srv->conn_new;
        srv->conn_new = c->next_new;
        /* evhttp reads with its read callback set; one it gave up on at
         * once (out of memory) has been freed, which clears it. */
        bufferevent_data_cb readcb = NULL;
        bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
        evutil_socket_t cfd = readcb ? bufferevent_getfd(c->bev) : -1;
        bufferevent_decref(c->bev);
        if (cfd < 0 || watch_register(srv, c, cfd)) {
            watch_free(c);
            continue;
        }
        watch_take(c);
    }
}

/* What on_request knows of a request's arrival. */
typedef struct {
    sim_conn *conn; /* its connection's watch, or NULL */
    int64_t t_ns;   /* the arrival line's time */
    int stamped;    /* t_ns is the kernel's stamp, not the fallback */
} req_arrival;

/* Take the stamp of req's first byte from its connection's watch (which
 * then takes over the connection's close callback, if it has not yet),
 * and arm the watch for the next request. */
static void request_arrival(sim_server *srv, struct evhttp_request *req, req_arrival *a)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    sim_conn *c = fd >= 0 && (size_t)fd < srv->nconns ? srv->conns[fd] : NULL;
    a->conn = NULL;
    a->t_ns = -1;
    if (c && c->bev == bev) {
        if (!c->evcon) {
            c->evcon = evcon;
            evhttp_connection_set_closecb(evcon, on_watch_close, c);
        }
        a->conn = c;
        a->t_ns = c->arrival_ns;
        c->arrival_ns = -1;
        if (evbuffer_get_length(bufferevent_get_input(bev)) == 0)
            event_add(c->peek, NULL);
    }
    /* No stamp: the time the request reached us, late by the simulator's
     * wake-up and parsing. */
    a->stamped = a->t_ns >= 0;
    if (!a->stamped)
        a->t_ns = clock_now_ns();
}

/* ------------------------------------------------------------------------
 * Request parsing. */

static long count_words(const char *s)
{
    long n = 0;
    int in = 0;
    for (; *s; s++) {
        if (isspace((unsigned char)*s))
            in = 0;
        else if (!in) {
            in = 1;
            n++;
        }
    }
    return n;
}

typedef struct {
    int streaming, include_usage, ignore_eos;
    int max_tokens;
    long prompt_tokens;
    const char *model_json; /* borrowed from the server */
} gen_params;

typedef struct {
    const char *param; /* offending field or NULL */
    const char *code;  /* OpenAI error code or NULL */
    char msg[256];
} req_problem;

static bench_status problem(req_problem *p, const char *param, const char *code, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

static bench_status problem(req_problem *p, const char *param, const char *code, const char *fmt,
                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    p->param = param;
    p->code = code;
    return BENCH_EINPUT;
}

/* An optional boolean member; absent or null leaves *out unchanged. */
static bench_status opt_bool(const cJSON *obj, const char *name, int *out, req_problem *p)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return BENCH_OK;
    if (!cJSON_IsBool(v))
        return problem(p, name, NULL, "'%s' must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return BENCH_OK;
}

/* Words of a chat message's content: a string, an array of parts (text
 * parts count, others do not) or null. */
static bench_status content_words(const cJSON *content, long *words, req_problem *p)
{
    if (!content || cJSON_IsNull(content))
        return BENCH_OK;
    if (cJSON_IsString(content)) {
        *words += count_words(content->valuestring);
        return BENCH_OK;
    }
    if (!cJSON_IsArray(content))
        return problem(p, "messages", NULL, "message content must be a string or an array");
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(text))
            *words += count_words(text->valuestring);
    }
    return BENCH_OK;
}

static bench_status prompt_words(const cJSON *prompt, long *words, req_problem *p)
{
    if (cJSON_IsString(prompt)) {
        *words = count_words(prompt->valuestring);
        return BENCH_OK;
    }
    if (!cJSON_IsArray(prompt))
        return problem(p, "prompt", NULL, "'prompt' must be a string or an array");
    const cJSON *e;
    cJSON_ArrayForEach(e, prompt)
    {
        if (cJSON_IsString(e))
            *words += count_words(e->valuestring);
        else if (cJSON_IsNumber(e))
            *words += 1; /* a token id */
        else if (cJSON_IsArray(e))
            *words += cJSON_GetArraySize(e); /* a list of token ids */
        else
            return problem(p, "prompt", NULL,
                           "'prompt' array elements must be strings, token ids or arrays");
    }
    return BENCH_OK;
}

/* Validate a generation request body into gp. BENCH_EINPUT with p filled
 * for the client's mistakes, BENCH_ENOMEM when parsing ran out of memory.
 * When playing evaluations, a valid request's scripted reply (if any),
 * stop sequences and logprobs request go to *er (the caller frees it with
 * simeval_reply_free in any case). */
static bench_status parse_generate(sim_server *srv, const char *body, size_t len, int chat,
                                   gen_params *gp, req_problem *p, simeval_reply *er)
{
    bench_status st = BENCH_OK;
    const catalog_model *cm = srv->opt->model;
    memset(gp, 0, sizeof *gp);
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(root)) {
        st = problem(p, NULL, NULL,
                     "We could not parse the JSON body of your request: expected a JSON object");
        goto out;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(model)) {
        st = problem(p, "model", NULL, "you must provide a model parameter (a string)");
        goto out;
    }
    if (strcmp(model->valuestring, cm->served_id) == 0)
        gp->model_json = srv->served_json;
    else if (strcmp(model->valuestring, cm->name) == 0)
        gp->model_json = srv->name_json;
    else {
        st = problem(p, "model", "model_not_found",
                     "The model '%.80s' does not exist: this simulator serves '%s' (also '%s')",
                     model->valuestring, cm->served_id, cm->name);
        goto out;
    }
    if ((st = opt_bool(root, "stream", &gp->streaming, p)) ||
        (st = opt_bool(root, "ignore_eos", &gp->ignore_eos, p)))
        goto out;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) {
            st = problem(p, "stream_options", NULL, "'stream_options' must be an object");
            goto out;
        }
        if ((st = opt_bool(so, "include_usage", &gp->include_usage, p)))
            goto out;
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "n");
    if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1)) {
        st = problem(p, "n", NULL, "the simulator supports only n = 1");
        goto out;
    }

    long words = 0;
    if (chat) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
        if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
            st = problem(p, "messages", NULL, "'messages' must be a non-empty array");
            goto out;
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            if (!cJSON_IsObject(m)) {
                st = problem(p, "messages", NULL, "each message must be an object");
                goto out;
            }
            if ((st = content_words(cJSON_GetObjectItemCaseSensitive(m, "content"), &words, p)))
                goto out;
            words += SIM_CHAT_MSG_OVERHEAD;
        }
    } else {
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (!prompt || cJSON_IsNull(prompt)) {
            st = problem(p, "prompt", NULL, "you must provide a 'prompt'");
            goto out;
        }
        if ((st = prompt_words(prompt, &words, p)))
            goto out;
    }
    gp->prompt_tokens = words;

    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "max_tokens");
    const char *mt_name = "max_tokens";
    if ((!mt || cJSON_IsNull(mt)) && chat) {
        mt = cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens");
        mt_name = "max_completion_tokens";
    }
    long ctx = cm->context;
    if (mt && !cJSON_IsNull(mt)) {
        double d = cJSON_IsNumber(mt) ? mt->valuedouble : 0;
        if (!cJSON_IsNumber(mt) || d < 1 || d > INT_MAX || d != floor(d)) {
            st = problem(p, mt_name, NULL, "'%s' must be a positive integer", mt_name);
            goto out;
        }
        gp->max_tokens = (int)d;
        if (words + gp->max_tokens > ctx) {
            st = problem(p, "messages", "context_length_exceeded",
                         "This model's maximum context length is %ld tokens. However, you "
                         "requested %ld tokens (%ld in the %s, %d in the completion). Please "
                         "reduce the length of the %s or completion.",
                         ctx, words + gp->max_tokens, words, chat ? "messages" : "prompt",
                         gp->max_tokens, chat ? "messages" : "prompt");
            p->param = chat ? "messages" : "prompt"; /* the part to shorten */
            goto out;
        }
    } else {
        /* No limit given: the default, cut to what the context leaves. */
        if (words >= ctx) {
            st = problem(p, chat ? "messages" : "prompt", "context_length_exceeded",
                         "This model's maximum context length is %ld tokens. However, your "
                         "%s resulted in %ld tokens. Please reduce the length of the %s.",
                         ctx, chat ? "messages" : "prompt", words, chat ? "messages" : "prompt");
            goto out;
        }
        long dflt = chat ? SIM_DEFAULT_MAX_TOKENS_CHAT : SIM_DEFAULT_MAX_TOKENS_COMPLETIONS;
        gp->max_tokens = (int)(dflt < ctx - words ? dflt : ctx - words);
    }
    if (srv->eval) {
        bench_err e;
        st = simeval_respond(srv->eval, root, chat, er, &e);
    }
out:
    cJSON_Delete(root);
    return st;
}

/* The request's key in the send log: its X-Request-Id (tabs and line
 * breaks replaced, truncated), else "s<arrival>". */
static void request_key(struct evhttp_request *req, uint64_t k, char *key, size_t keysz)
{
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
    if (!id || !*id) {
        snprintf(key, keysz, "s%" PRIu64, k);
        return;
    }
    snprintf(key, keysz, "%s", id);
    for (char *c = key; *c; c++)
        if (*c == '\t' || *c == '\n' || *c == '\r')
            *c = '_';
}

/* Piece ends of text[0..len) cut at cut: every piece starting before cut,
 * the last one ending at cut. *ends is the caller's. */
static bench_status split_pieces(const char *text, size_t len, size_t cut, size_t **ends, size_t *n)
{
    size_t cap = 16, k = 0;
    size_t *e = malloc(cap * sizeof *e);
    if (!e)
        return BENCH_ENOMEM;
    for (size_t pos = 0; pos < cut;) {
        size_t end = simeval_piece_end(text, len, pos);
        if (k == cap) {
            size_t *g = realloc(e, 2 * cap * sizeof *e);
            if (!g) {
                free(e);
                return BENCH_ENOMEM;
            }
            e = g;
            cap *= 2;
        }
        e[k++] = end < cut ? end : cut;
        pos = end;
    }
    *ends = e;
    *n = k;
    return BENCH_OK;
}

/* Playing evaluations: give s its scripted reply. A recognised evaluation
 * prompt gets simeval's text; anything else the filler: the "[simulated
 * answer by NAME]" marker as its first token, then the vocabulary words
 * (n_out tokens as drawn for a plain request). Both stop before the first
 * stop sequence (finish_reason "stop"); scripted text is cut to max_tokens
 * pieces (finish_reason "length"). */
static bench_status stream_script(sim_stream *s, simeval_reply *er, int max_tokens)
{
    sim_server *srv = s->srv;
    size_t n = 0;
    if (er->kind != SIMEVAL_NONE) {
        s->script = er->text;
        er->text = NULL;
        s->script_len = strlen(s->script);
        size_t cut = simeval_stop_cut(er, s->script, s->script_len);
        if (split_pieces(s->script, s->script_len, cut, &s->ends, &n))
            return BENCH_ENOMEM;
        s->finish_reason = n > (size_t)max_tokens ? "length" : "stop";
        s->n_out = n > (size_t)max_tokens ? max_tokens : (int)n;
        if (er->kind == SIMEVAL_MMLU && er->logprobs >= 0) {
            dynbuf lp;
            dynbuf_init(&lp, (size_t)1 << 16);
            if (simeval_logprobs_json(er, s->chat, &lp) || !(s->logprobs = dynbuf_steal(&lp))) {
                dynbuf_free(&lp);
                return BENCH_ENOMEM;
            }
        }
        return BENCH_OK;
    }
    dynbuf t;
    dynbuf_init(&t, SIM_TEXT_MAX);
    s->ends = malloc((size_t)s->n_out * sizeof *s->ends);
    if (!s->ends || dynbuf_addf(&t, SIMEVAL_ANSWER_MARK "%s]", srv->opt->model->name)) {
        dynbuf_free(&t);
        return BENCH_ENOMEM;
    }
    s->ends[0] = t.len;
    for (int i = 1; i < s->n_out; i++) {
        if (dynbuf_addf(&t, " %s", vocab[rng_below(&s->r, VOCAB_N)])) {
            dynbuf_free(&t);
            return BENCH_ENOMEM;
        }
        s->ends[i] = t.len;
    }
    s->script_len = t.len;
    if (!(s->script = dynbuf_steal(&t)))
        return BENCH_ENOMEM;
    size_t cut = simeval_stop_cut(er, s->script, s->script_len);
    if (cut < s->script_len) {
        while (n < (size_t)s->n_out && (n == 0 || s->ends[n - 1] < cut))
            n++;
        if (cut == 0)
            n = 0;
        if (n > 0)
            s->ends[n - 1] = cut;
        s->n_out = (int)n;
        s->finish_reason = "stop";
    }
    return BENCH_OK;
}

static void handle_generate(sim_server *srv, struct evhttp_request *req, int chat,
                            const req_arrival *ra)
{
    uint64_t k = srv->arrivals++;
    int64_t t_arrival = clock_now_ns();
    char key[SIM_KEY_MAX];
    request_key(req, k, key, sizeof key);
    if (srv->log) {
        log_line(srv, key, -1, ra->t_ns, "arrival");
        srv->arrival_fallbacks += !ra->stamped;
    }

    fault_choice fault = fault_decide(&srv->faults, srv->opt->seed, k);
    if (fault.def && fault.def->how == FB_HTTP) {
        char msg[96];
        log_fault(srv, key, 0, fault.def);
        if (fault.def->status == 429) {
            /* Retry-After takes whole seconds: the fault's, rounded up. */
            char v[32];
            snprintf(v, sizeof v, "%.0f", ceil(fault.seconds));
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
            snprintf(msg, sizeof msg, "simulated rate limit: retry after %s s", v);
        } else {
            snprintf(msg, sizeof msg, "%s", fault.def->message);
        }
        send_error(srv, req, fault.def->status,
                   fault.def->status == 429 ? "rate_limit_error" : "server_error", NULL, NULL,
                   fault.def->status, msg, key);
        return;
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    gen_params gp;
    req_problem prob = {NULL, NULL, ""};
    simeval_reply er;
    memset(&er, 0, sizeof er);
    er.logprobs = -1;
    bench_status st = parse_generate(srv, body, len, chat, &gp, &prob, &er);
    if (st == BENCH_EINPUT) {
        simeval_reply_free(&er);
        send_error(srv, req, 400, "invalid_request_error", prob.param, prob.code, 0,
                   prob.msg[0] ? prob.msg : "invalid request", key);
        return;
    }
    sim_stream *s = st ? NULL : calloc(1, sizeof *s);
    if (s)
        s->timer = evtimer_new(srv->base, on_tick, s);
    if (!s || !s->timer) {
        free(s);
        simeval_reply_free(&er);
        send_error(srv, req, 500, "server_error", NULL, NULL, 500, "simulator out of memory", key);
        return;
    }

    s->srv = srv;
    s->req = req;
    s->evcon = evhttp_request_get_connection(req);
    s->conn = ra->conn;
    s->k = k;
    memcpy(s->key, key, sizeof key);
    snprintf(s->id, sizeof s->id, "%s-sim-%" PRIu64 "-%" PRIu64, chat ? "chatcmpl" : "cmpl",
             srv->opt->seed, k);
    s->created = (long long)time(NULL);
    s->model_json = gp.model_json;
    s->chat = chat;
    s->streaming = gp.streaming;
    s->include_usage = gp.include_usage;
    s->prompt_tokens = (int)gp.prompt_tokens;
    s->fault = fault;
    dynbuf_init(&s->text, SIM_TEXT_MAX);
    s->next = srv->streams;
    if (srv->streams)
        srv->streams->prev = s;
    srv->streams = s;
    srv->active++;

    /* Draw order is fixed (TTFT, natural length, then one word per token)
     * so request k's output does not depend on anything but (seed, k). */
    rng_seed(&s->r, srv->opt->seed, k);
    double ttft = simmodel_ttft(&srv->sm, &s->r, srv->active);
    double natural = rng_lognormal(&s->r, log(SIM_NATURAL_MEDIAN), SIM_NATURAL_SIGMA);
    long nat = lround(natural);
    if (nat < 1)
        nat = 1;
    if (gp.ignore_eos || nat >= gp.max_tokens) {
        s->n_out = gp.max_tokens;
        s->finish_reason = "length";
    } else {
        s->n_out = (int)nat;
        s->finish_reason = "stop";
    }
    if (srv->eval) {
        st = stream_script(s, &er, gp.max_tokens);
        simeval_reply_free(&er);
        if (st) {
            stream_free(s);
            send_error(srv, req, 500, "server_error", NULL, NULL, 500, "simulator out of memory",
                       key);
            return;
        }
    }
    s->mid = s->n_out / 2;
    s->deadline_ns = t_arrival + (srv->opt->zero_delay ? 0 : (int64_t)(ttft * 1e9));
    if (srv->opt->zero_delay && s->streaming && !s->script && zd_prepare(s)) {
        stream_free(s);
        send_error(srv, req, 500, "server_error", NULL, NULL, 500, "simulator out of memory", key);
        return;
    }

    if (fault.def && fault.def->how == FB_SLOW_FIRST_BYTE) {
        /* Everything comes SECONDS late: the headers (streaming) and so every
         * event, or the whole response (not streaming). */
        log_fault(srv, key, 0, fault.def);
        int64_t delay = (int64_t)(fault.seconds * 1e9);
        s->deadline_ns += delay;
        s->head_due_ns = t_arrival + delay;
        s->head_pending = s->streaming;
    }

    stream_watch_conn(s);
    if (s->streaming && !s->head_pending && stream_start_reply(s))
        return;
    stream_add_stall(s);
    stream_schedule(s);
}

/* Send every event the moment it is written. Without TCP_NODELAY, Nagle
 * holds a token back until the client ACKs the previous segment, and with
 * the client's delayed ACK that puts a ~40 ms floor under TTFT and
 * inter-token gaps. evhttp offers no accept hook, so this is done on each
 * request, before anything is written (setting it again is harmless). */
static void set_nodelay(struct evhttp_request *req, int log)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (log) {
        /* The send log's time is taken right before the write
         * (conn_flush); a congestion control that paces (BBR without the
         * fq qdisc paces in TCP itself) could send a segment later than
         * that: cubic does not pace. Best effort. */
        static const char cc[] = "cubic";
        setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, sizeof cc - 1);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    sim_server *srv = arg;
    req_arrival ra = {NULL, 0, 0};
    if (srv->log) /* first: the watch is re-armed for the next request */
        request_arrival(srv, req, &ra);
    set_nodelay(req, srv->log != NULL);
    add_common_headers(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path)
        path = "";
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    int chat = strcmp(path, "/v1/chat/completions") == 0;
    if (chat || strcmp(path, "/v1/completions") == 0) {
        if (method == EVHTTP_REQ_POST) {
            handle_generate(srv, req, chat, &ra);
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_error(srv, req, 405, "invalid_request_error", NULL, "method_not_allowed", 0,
                   "Only POST is allowed on this path", NULL);
        return;
    }
    if (strcmp(path, "/v1/models") == 0) {
        if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD) {
            send_json(srv, req, 200, "OK", srv->models_body, NULL, NULL);
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        send_error(srv, req, 405, "invalid_request_error", NULL, "method_not_allowed", 0,
                   "Only GET is allowed on this path", NULL);
        return;
    }
    if (strcmp(path, "/tokenize") == 0 && method == EVHTTP_REQ_POST) {
        /* llama.cpp's and vLLM's tokenizer endpoint, counting as usage does (simtok.h). */
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *body = NULL;
        int status =
            simtok_answer(len ? (const char *)evbuffer_pullup(in, -1) : NULL, len, count_words,
                          SIM_CHAT_MSG_OVERHEAD, srv->opt->model->context, (long)1 << 22, &body);
        send_json(srv, req, status, reason_phrase(status), body ? body : "{}", NULL, NULL);
        free(body);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg,
             "Unknown path %.200s: the simulator serves /v1/models, "
             "/v1/chat/completions, /v1/completions and POST /tokenize",
             path);
    send_error(srv, req, 404, "invalid_request_error", NULL, "not_found", 0, msg, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    sim_server *srv = arg;
    (void)sig;
    (void)what;
    event_base_loopbreak(srv->base);
}

/* JSON string literal for s, quotes included; caller frees. */
static char *json_quote(const char *s)
{
    cJSON *str = cJSON_CreateString(s);
    char *out = str ? cJSON_PrintUnformatted(str) : NULL;
    cJSON_Delete(str);
    return out;
}

/* The GET /v1/models body listing the served id and the catalog name (once
 * when they are equal); caller frees. NULL when out of memory. */
static char *models_json(const catalog_model *cm, long long created)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    const char *ids[2] = {cm->served_id, cm->name};
    for (int i = 0; i < 2 && data; i++) {
        if (i == 1 && strcmp(ids[0], ids[1]) == 0)
            break;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", ids[i]);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", (double)created);
        cJSON_AddStringToObject(m, "owned_by", "bench-sim");
        cJSON_AddItemToArray(data, m);
    }
    char *out = data ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return out;
}

static bench_status write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return BENCH_EIO;
        s += w;
        n -= (size_t)w;
    }
    return BENCH_OK;
}

bench_status sim_run(const sim_options *opt, bench_err *err)
{
    bench_status st = BENCH_OK;
    sim_server srv;
    memset(&srv, 0, sizeof srv);
    srv.opt = opt;
    dynbuf_init(&srv.ev, (size_t)1 << 20);
    struct event_config *cfg = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    struct sigaction old_pipe, ign;
    int pipe_saved = 0;
    const char *host = opt->host ? opt->host : "127.0.0.1";

    if (!opt->model) {
        st = bench_fail(err, BENCH_EUSAGE, "no model to simulate");
        goto out;
    }
    if (opt->port < 0 || opt->port > 65535) {
        st = bench_fail(err, BENCH_EUSAGE, "--port: %d is not a port number", opt->port);
        goto out;
    }
    if ((st = simmodel_init(&srv.sm, opt->model, opt->slowdown, err)))
        goto out;
    if (opt->zero_delay && ((opt->faults && *opt->faults) || opt->data_dir)) {
        st = bench_fail(err, BENCH_EUSAGE, "--zero-delay cannot be combined with %s",
                        opt->data_dir ? "--data-dir" : "--faults");
        goto out;
    }
    if (opt->events_per_write > SIM_EVENTS_PER_WRITE_MAX) {
        st = bench_fail(err, BENCH_EUSAGE, "--events-per-write: %d is over %d",
                        opt->events_per_write, SIM_EVENTS_PER_WRITE_MAX);
        goto out;
    }
    srv.cappend = (size_t)(opt->events_per_write > 0 ? opt->events_per_write : 1) + SIM_BATCH_EXTRA;
    dynbuf_init(&srv.zd, (size_t)256 << 20);
    if (!(srv.pend = calloc(srv.cappend, sizeof *srv.pend))) {
        st = bench_fail(err, BENCH_ENOMEM, "simulator: out of memory");
        goto out;
    }
    if ((st = fault_plan_parse(opt->faults, &srv.faults, err)))
        goto out;
    simeval_quality q = {opt->model->sim.mmlu, opt->model->sim.humaneval, opt->model->sim.mtbench};
    if ((st = simeval_quality_parse(opt->quality, &q, err)))
        goto out;
    if (opt->data_dir) {
        if ((st = simeval_open(opt->data_dir, opt->cat, opt->model, &q, opt->seed, &srv.eval, err)))
            goto out;
        printf("bench-sim: playing %s in evaluations (MMLU %g%%, HumanEval %g%%, MT-Bench %g): "
               "%zu MMLU items, %zu HumanEval problems from %s\n",
               opt->model->name, q.mmlu, q.humaneval, q.mtbench, simeval_mmlu_items(srv.eval),
               simeval_humaneval_problems(srv.eval), opt->data_dir);
    }
    srv.served_json = json_quote(opt->model->served_id);
    srv.name_json = json_quote(opt->model->name);
    srv.models_body = models_json(opt->model, (long long)time(NULL));
    if (!srv.served_json || !srv.name_json || !srv.models_body) {
        st = bench_fail(err, BENCH_ENOMEM, "simulator: out of memory");
        goto out;
    }
    if (opt->log_sends) {
        srv.log = fopen(opt->log_sends, "w");
        if (!srv.log) {
            st = bench_fail(err, BENCH_EIO, "--log-sends %s: cannot open: %s", opt->log_sends,
                            strerror(errno));
            goto out;
        }
        setvbuf(srv.log, NULL, _IOFBF, SIM_LOG_BUFSZ);
    }

    /* Precise timers: epoll waits on a timerfd, so sub-millisecond token
     * intervals are kept instead of being rounded up to 1 ms. */
    cfg = event_config_new();
    if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) ||
        !(srv.base = event_base_new_with_config(cfg)) ||
        /* --log-sends: arrival watches at priority 0, everything else at
         * the default 1 ("Arrival times"); before any event exists. */
        (srv.log && event_base_priority_init(srv.base, 2)) || !(srv.http = evhttp_new(srv.base)) ||
        !(srv.scratch = evbuffer_new())) {
        st = bench_fail(err, BENCH_ESYS, "simulator: cannot create the event loop");
        goto out;
    }
    evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(srv.http, (ev_ssize_t)SIM_MAX_BODY);
    evhttp_set_gencb(srv.http, on_request, &srv);
    if (srv.log) {
        srv.conn_setup = event_new(srv.base, -1, 0, on_conn_setup, &srv);
        if (!srv.conn_setup || event_priority_set(srv.conn_setup, 0)) {
            st = bench_fail(err, BENCH_ESYS, "simulator: cannot create the event loop");
            goto out;
        }
        evhttp_set_bevcb(srv.http, on_conn_bev, &srv);
    }

    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(srv.http, host, (ev_uint16_t)opt->port);
    if (!bound) {
        st = bench_fail(err, BENCH_EIO, "simulator: cannot listen on %s:%d: %s", host, opt->port,
                        strerror(errno));
        goto out;
    }
    if (srv.log) {
        /* Inherited by the accepted sockets: their segments' receive
         * times, for the arrival lines. Without it they fall back. */
        int one = 1;
        if (setsockopt(evhttp_bound_socket_get_fd(bound), SOL_SOCKET, SO_TIMESTAMPNS, &one,
                       sizeof one))
            fprintf(stderr,
                    "bench-sim: SO_TIMESTAMPNS: %s; the send log's arrival lines will be the "
                    "simulator's own times\n",
                    strerror(errno));
        else if (tsock_stamps_on())
            fprintf(stderr, "bench-sim: the kernel gives no receive timestamps yet; the send "
                            "log's first arrival lines may be the simulator's own times\n");
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int port = opt->port;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }

    sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
    sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) || evsignal_add(sigterm, NULL)) {
        st = bench_fail(err, BENCH_ESYS, "simulator: cannot install signal handlers");
        goto out;
    }
    /* A client that leaves mid-stream must cost a write error, not the
     * process. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, &old_pipe) == 0)
        pipe_saved = 1;

    char url[300];
    snprintf(url, sizeof url, strchr(host, ':') ? "http://[%s]:%d/v1" : "http://%s:%d/v1", host,
             port);
    printf("bench-sim: listening on %s (simulated %s)\n", url, opt->model->name);
    fflush(stdout);
    if (opt->ready_fd >= 0) {
        char line[320];
        int n = snprintf(line, sizeof line, "%s\n", url);
        if (write_all(opt->ready_fd, line, (size_t)n)) {
            st = bench_fail(err, BENCH_EIO, "simulator: cannot write to ready fd %d: %s",
                            opt->ready_fd, strerror(errno));
            goto out;
        }
    }

    if (event_base_dispatch(srv.base) < 0)
        st = bench_fail(err, BENCH_ESYS, "simulator: event loop failed");

out:
    /* Generations still running are abandoned; evhttp_free then closes
     * their connections and frees their requests. */
    while (srv.streams) {
        stream_release_conn(srv.streams);
        stream_free(srv.streams);
    }
    /* Arrival watches, before evhttp_free closes their connections. A
     * watch with a connection has its close callback. */
    for (size_t i = 0; i < srv.nconns; i++) {
        sim_conn *c = srv.conns[i];
        if (!c)
            continue;
        if (c->evcon)
            evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        watch_free(c);
    }
    while (srv.conn_new) {
        sim_conn *c = srv.conn_new;
        srv.conn_new = c->next_new;
        bufferevent_decref(c->bev);
        watch_free(c);
    }
    free(srv.conns);
    if (srv.conn_setup)
        event_free(srv.conn_setup);
    if (srv.log && srv.arrival_fallbacks)
        fprintf(stderr,
                "bench-sim: %" PRIu64 " of %" PRIu64 " arrival lines are the simulator's own "
                "time (no kernel timestamp of the request's first byte)\n",
                srv.arrival_fallbacks, srv.arrivals);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (srv.http)
        evhttp_free(srv.http);
    if (srv.scratch)
        evbuffer_free(srv.scratch);
    if (srv.base)
        event_base_free(srv.base);
    if (cfg)
        event_config_free(cfg);
    if (pipe_saved)
        sigaction(SIGPIPE, &old_pipe, NULL);
    if (srv.log) {
        int ferr = ferror(srv.log);
        if (fclose(srv.log) != 0 || ferr || srv.log_errno) {
            int e = srv.log_errno ? srv.log_errno : errno;
            if (st == BENCH_OK)
                st = bench_fail(err, BENCH_EIO, "--log-sends %s: write failed: %s", opt->log_sends,
                                strerror(e ? e : EIO));
        }
    }
    fault_plan_free(&srv.faults);
    simeval_free(srv.eval);
    free(srv.models_body);
    free(srv.served_json);
    free(srv.name_json);
    free(srv.pend);
    dynbuf_free(&srv.zd);
    dynbuf_free(&srv.ev);
    return st;
}

/* ------------------------------------------------------------------------
 * `bench serve` command line. */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench serve --simulate MODEL [--host H] [--port P] [--seed N]\n"
               "                   [--slowdown F] [--log-sends FILE] [--faults SPEC]\n"
               "                   [--catalog FILE] [--data-dir DIR]\n"
               "                   [--zero-delay [--events-per-write N]]\n"
               "\n"
               "Run the simulated OpenAI-compatible endpoint for a catalog model until\n"
               "SIGINT/SIGTERM. Every latency and token is simulated (docs/SIMULATOR.md).\n"
               "\n"
               "  --simulate MODEL  catalog model to play (its name or served id)\n"
               "  --host H          address to listen on (default 127.0.0.1)\n"
               "  --port P          port, 0 = ephemeral (default 8000)\n"
               "  --seed N          RNG seed; request k uses stream k (default 1)\n"
               "  --slowdown F      multiply every latency by F (default 1)\n"
               "  --log-sends FILE  log every event written: key, seq, t_ns, kind; and each\n"
               "                    generation request's arrival (kind arrival, seq -1): the\n"
               "                    kernel's receive time of its first byte\n"
               "  --faults SPEC     inject faults: kind=P[:S] or kind@N[:S], comma-separated;\n"
               "                    kinds http500 http503 http429 midstream_error no_done\n"
               "                    reset stall malformed_json non_json oversized_line\n"
               "                    slow_first_byte invalid_utf8 dup_usage no_usage; :S is\n"
               "                    seconds for stall, slow_first_byte and http429's\n"
               "                    Retry-After (default 1)\n"
               "  --catalog FILE    model catalog (default suites/models.json)\n"
               "  --data-dir DIR    play the model in evaluations: load MMLU (test, val) and\n"
               "                    HumanEval from DIR and answer their prompts (and MT-Bench\n"
               "                    judge prompts) at the catalog's sim quality figures\n"
               "  --zero-delay      no TTFT and no per-token delay: every stream's tokens as\n"
               "                    fast as its client reads them (for benchmarks/; not with\n"
               "                    --faults or --data-dir)\n"
               "  --events-per-write N  with --zero-delay: SSE events per write, 1-4096\n"
               "                    (default 1)\n");
}

int sim_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"simulate", required_argument, NULL, 'm'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"slowdown", required_argument, NULL, 'S'},
        {"log-sends", required_argument, NULL, 'l'},
        {"faults", required_argument, NULL, 'f'},
        {"catalog", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"sim-quality", required_argument, NULL, 'q'},
        {"zero-delay", no_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},
        {"events-per-write", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    bench_status st = BENCH_OK;
    bench_err err = {""};
    catalog *cat = NULL;
    char *names = NULL;
    const char *model_name = NULL, *catalog_path = NULL;
    char catbuf[4096];
    sim_options opt = {
        .host = "127.0.0.1", .port = 8000, .seed = 1, .slowdown = 1.0, .ready_fd = -1};

    optind = 0; /* reinitialise getopt: the caller may have used it */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm':
            model_name = optarg;
            break;
        case 'H':
            opt.host = optarg;
            break;
        case 'p': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || v < 0 || v > 65535) {
                st = bench_fail(&err, BENCH_EUSAGE, "--port: '%s' is not a port number (0-65535)",
                                optarg);
                goto out;
            }
            opt.port = (int)v;
            break;
        }
        case 's':
            if (parse_u64_full(optarg, &opt.seed)) {
                st = bench_fail(&err, BENCH_EUSAGE, "--seed: '%s' is not a non-negative integer",
                                optarg);
                goto out;
            }
            break;
        case 'S':
            if (parse_double_full(optarg, &opt.slowdown) || !(opt.slowdown > 0)) {
                st = bench_fail(&err, BENCH_EUSAGE, "--slowdown: '%s' is not a positive number",
                                optarg);
                goto out;
            }
            break;
        case 'l':
            opt.log_sends = optarg;
            break;
        case 'f':
            opt.faults = optarg;
            break;
        case 'c':
            catalog_path = optarg;
            break;
        case 'd':
            opt.data_dir = optarg;
            break;
        case 'q': /* for tests; docs/SIMULATOR.md */
            opt.quality = optarg;
            break;
        case 'z':
            opt.zero_delay = 1;
            break;
        case 'e': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || v < 1 || v > SIM_EVENTS_PER_WRITE_MAX) {
                st = bench_fail(&err, BENCH_EUSAGE, "--events-per-write: '%s' is not in 1-%d",
                                optarg, SIM_EVENTS_PER_WRITE_MAX);
                goto out;
            }
            opt.events_per_write = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            goto out;
        case ':':
            st = bench_fail(&err, BENCH_EUSAGE, "%s needs a value", argv[optind - 1]);
            goto out;
        default:
            st = bench_fail(&err, BENCH_EUSAGE, "unknown option '%s' (see bench serve --help)",
                            argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        st = bench_fail(&err, BENCH_EUSAGE, "unexpected argument '%s' (see bench serve --help)",
                        argv[optind]);
        goto out;
    }
    if ((st = sim_faults_check(opt.faults, &err)))
        goto out;
    if (opt.events_per_write && !opt.zero_delay) {
        st = bench_fail(&err, BENCH_EUSAGE, "--events-per-write needs --zero-delay");
        goto out;
    }
    if (opt.zero_delay && ((opt.faults && *opt.faults) || opt.data_dir)) {
        st = bench_fail(&err, BENCH_EUSAGE, "--zero-delay cannot be combined with %s",
                        opt.data_dir ? "--data-dir" : "--faults");
        goto out;
    }
    simeval_quality qcheck = {0, 0, 1};
    if ((st = simeval_quality_parse(opt.quality, &qcheck, &err)))
        goto out;
    if (!catalog_path)
        catalog_path = file_in_root("suites/models.json", catbuf, sizeof catbuf);
    if ((st = catalog_load(catalog_path, &cat, &err)))
        goto out;
    if (!model_name) {
        names = catalog_names(cat);
        st = bench_fail(&err, BENCH_EUSAGE, "--simulate MODEL is required (catalog: %s)",
                        names ? names : "?");
        goto out;
    }
    opt.model = catalog_find(cat, model_name);
    for (size_t i = 0; !opt.model && i < catalog_count(cat); i++)
        if (strcmp(catalog_at(cat, i)->served_id, model_name) == 0)
            opt.model = catalog_at(cat, i);
    if (!opt.model) {
        names = catalog_names(cat);
        st = bench_fail(&err, BENCH_EUSAGE, "--simulate: unknown model '%s' (catalog: %s)",
                        model_name, names ? names : "?");
        goto out;
    }
    opt.cat = cat;
    st = sim_run(&opt, &err);
out:
    if (st)
        fprintf(stderr, "bench serve: %s\n", err.msg);
    free(names);
    catalog_destroy(cat);
    return bench_exit_code(st);
}
