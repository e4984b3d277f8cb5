#include "worker.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dynbuf.h"
#include "h1.h"
#include "oai.h"
#include "rxring.h"
#include "sse.h"
#include "tsock.h"
#include "version.h"

/* Caps on what a peer controls. */
#define SSE_MAX_LINE (1u << 20)
#define SSE_MAX_EVENT (1u << 20)
#define ERR_BODY_MAX (64u << 10)
/* Response text kept for hooks (evaluations); a longer answer fails. */
#define HOOK_TEXT_MAX (4u << 20)
#define MAX_CHUNKS_PER_REQUEST (1u << 22)
/* Longest Retry-After header value looked at, and the largest delay
 * reported (a day: anything longer is a server's mistake or a refusal). */
#define RETRY_AFTER_VALUE_MAX 64
#define RETRY_AFTER_MAX_S 86400.0
/* Longest sleep in the event loop: bounds how late a stop request is
 * noticed. */
#define POLL_MAX_NS (20 * 1000 * 1000LL)
/* First-token and idle limits are checked at most this often (a scan of the
 * busy slots): they are seconds long, so this is their resolution. */
#define DEADLINE_SCAN_NS (10 * 1000 * 1000LL)
/* Transfers one libcurl easy handle makes before it is replaced by a copy
 * (curl_finish: libcurl 7.88's retry count). */
#define CURL_HANDLE_USES 4
/* Readiness events taken per epoll wait. */
#define EPOLL_BATCH 256
/* Native transport: one read's bytes at most (a worker's one buffer). */
#define RX_BUF (64u << 10)
/* epoll data of a native slot: this bit and the slot's index (libcurl's
 * sockets are registered by descriptor, below it). */
#define NATIVE_TAG (1ULL << 63)
/* epoll data of the receive ring's eventfd (rxring.h). */
#define RING_TAG (NATIVE_TAG | 0xffffffffULL)
/* Reaps of the receive ring a loop turn makes at most while receives keep
 * waiting (the kernel runs a bounded number per reap). */
#define RING_ROUNDS 8
/* Read coalescing (native transport with kernel stamps, docs/METRICS.md
 * "Timestamps"): the longest deliberate pause between event-loop turns;
 * the probe phase (no pause: the server's own pacing is measured) and the
 * coalescing phase that follows it; gaps between a connection's reads
 * shorter than BURST_NS are one burst of the server's (merging them costs
 * less than that in stamp error); and the fewest reads a pause must be
 * expected to gather to be worth taking. */
#define COALESCE_MAX_NS (250 * 1000LL)
#define COALESCE_PROBE_NS (20 * 1000 * 1000LL)
#define COALESCE_PHASE_NS (180 * 1000 * 1000LL)
#define COALESCE_BURST_NS (20 * 1000LL)
#define COALESCE_MIN_READS 4

/* Connection states of a native slot. */
enum { N_IDLE = 0, N_CONNECTING, N_SENDING, N_RECEIVING };

typedef struct slot slot;

struct slot {
    worker *w;
    int ready; /* slot_init done (slots are set up on first use) */
    CURL *easy;
    struct curl_slist *hdrs;
    sse_parser *sse;
    dynbuf body;    /* request body, must outlive the transfer */
    dynbuf prompt;  /* scratch for the prompt text */
    dynbuf errbody; /* body of a non-2xx response, capped */
    dynbuf text;    /* content text, kept only with hooks */
    oai_top top;    /* first position's top logprobs, with hooks */
    int busy;
    int http_checked;
    int http_status;
    int got_done;
    int fail_class; /* REQ_OK while nothing failed */
    char fail_msg[256];
    int64_t t_arrival_ns; /* absolute time of the bytes being parsed */
    int64_t t_last_byte_ns;
    int64_t t_send_abs_ns;
    int usage_prev;       /* last cumulative completion_tokens seen on a content chunk */
    int bad_utf8;         /* content chunks whose text was not valid UTF-8 */
    double retry_after_s; /* the response's Retry-After in seconds, -1 none */
    req_record rec;
    chunk_record *ch; /* this request's chunks until it completes */
    size_t nch, capch;
    char curl_err[CURL_ERROR_SIZE];
    char ctype[H1_CTYPE_MAX]; /* the response's Content-Type, for messages */
    int curl_uses;            /* transfers made with this easy handle */
    /* Native transport only. */
    int fd;              /* the slot's connection, kept alive across requests; -1 none */
    int nstate;          /* N_* */
    uint32_t evmask;     /* epoll interest registered for fd, 0 none */
    int reused;          /* this attempt went out on a kept-alive connection */
    int retried;         /* the request was sent again on a fresh connection */
    int ai;              /* address being connected to */
    int last_errno;      /* the last connect's failure */
    size_t req_off;      /* bytes of req sent */
    dynbuf req;          /* request line, headers and body */
    h1_resp resp;        /* the response being read */
    int64_t t_start_abs; /* the request was taken (curl's total timeout counts from here) */
    int64_t t_conn_abs;  /* the connect began */
    int64_t t_read_k;    /* kernel stamp of the connection's previous read, -1 none */
    uint32_t rgen;       /* receive ring: the connection's generation, in its tag */
    int armed;           /* receive ring: a multishot receive is armed on fd */
};

struct worker {
    worker_args a;
    pthread_t thread;
    int started;
    bench_status fatal;
    bench_err fatal_err;
    CURLM *multi;
    int epfd;
    int64_t curl_due; /* when curl wants CURL_SOCKET_TIMEOUT, -1 none */
    slot *slots;
    int *free_slots; /* stack of idle slot indices */
    int nfree;
    int nbusy;
    int exhausted; /* the level's requests are all taken */
    int native;    /* requests go through the built-in HTTP/1.1 client (tsock, h1) */
    tsock_target tgt;
    char *rxbuf;         /* native: RX_BUF bytes, one read at a time */
    int ring_mode;       /* native: WORKER_RING_* ($BENCH_IO_URING) */
    rxring *ring;        /* native: reads through io_uring; NULL: recvmsg per readiness */
    int64_t coalesce_ns; /* native: the current pause between loop turns, 0 none */
    int co_probing;      /* the phase under way is a probe (no pause) */
    int64_t co_t0;       /* its start */
    uint64_t co_reads, co_kreads, co_multi; /* its reads, kernel-stamped ones, ones with >1 token */
    uint64_t co_bursts;    /* its gaps between a connection's reads under COALESCE_BURST_NS */
    double co_probe_multi; /* share of reads with >1 token in the last probe */
    int co_skip;           /* the last coalescing phase merged events: no pause after the probe */
    stats_hist co_gaps;    /* a probe's longer gaps between a connection's reads */
    worker_self self;
    /* The tables below are filled by the worker and emptied by
     * worker_drain, under `lock`. */
    pthread_mutex_t lock;
    req_record *rows;
    size_t nrows, caprows;
    chunk_record *chunks;
    size_t nchunks, capchunks;
    worker_error *errors;
    size_t nerrors, caperrors;
    /* Written only by the worker; read by the progress display. */
    _Alignas(64) _Atomic uint64_t done;
    _Atomic uint64_t tokens;
    _Atomic int finished;
};

static void slot_fail(slot *s, int cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void slot_fail(slot *s, int cls, const char *fmt, ...)
{
    if (s->fail_class != REQ_OK)
        return; /* the first failure is the cause */
    s->fail_class = cls;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fail_msg, sizeof s->fail_msg, fmt, ap);
    va_end(ap);
    /* Servers may quote the request, Authorization header included, in an
     * error body: the key is never recorded nor printed. */
    config_redact(s->fail_msg, s->w->a.api_key);
}

static int push_chunk(slot *s, const chunk_record *c)
{
    if (s->nch == s->capch) {
        size_t ncap = s->capch ? s->capch * 2 : 256;
        chunk_record *n = realloc(s->ch, ncap * sizeof *n);
        if (!n)
            return -1;
        s->ch = n;
        s->capch = ncap;
    }
    s->ch[s->nch++] = *c;
    return 0;
}

/* SSE event callback: interpret one data payload. */
static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    slot *s = ud;
    (void)event;
    oai_event ev;
    bench_err err;
    int hooked = s->w->a.hooks != NULL;
    if (oai_parse_event_top(data, len, &ev, hooked ? &s->text : NULL, hooked ? &s->top : NULL,
                            &err) != BENCH_OK) {
        slot_fail(s, REQ_PROTOCOL_ERROR, "%s", err.msg);
        return 1;
    }
    if (ev.is_done) {
        s->got_done = 1;
        return 0;
    }
    if (ev.is_error) {
        slot_fail(s, REQ_SERVER_ERROR_EVENT, "error event in stream: %s", ev.error_msg);
        return 0;
    }
    if (ev.finish_reason[0])
        memcpy(s->rec.finish_reason, ev.finish_reason, sizeof s->rec.finish_reason);
    if (ev.has_usage) {
        if (ev.prompt_tokens >= 0)
            s->rec.prompt_tokens = ev.prompt_tokens;
        if (ev.completion_tokens >= 0)
            s->rec.output_tokens = ev.completion_tokens;
    }
    if (ev.has_content) {
        if (s->nch >= MAX_CHUNKS_PER_REQUEST) {
            slot_fail(s, REQ_PROTOCOL_ERROR, "more than %u content chunks in one response",
                      MAX_CHUNKS_PER_REQUEST);
            return 1;
        }
        int64_t t = s->t_arrival_ns - s->w->a.t0;
        uint32_t tokens = 1;
        /* Servers that report cumulative usage on every chunk (vLLM's
         * continuous usage stats) tell exactly how many tokens each held. */
        if (ev.has_usage && ev.completion_tokens > s->usage_prev) {
            tokens = (uint32_t)(ev.completion_tokens - s->usage_prev);
            s->usage_prev = ev.completion_tokens;
        }
        /* Invalid UTF-8 in content is the server's bug, but the tokens did
         * arrive on time: the request stays a success and gets a warning
         * row (docs/FORMAT.md). */
        s->bad_utf8 += ev.content_bad_utf8;
        chunk_record c = {
            .request_id = s->rec.id, .t_ns = t, .bytes = (uint32_t)len, .tokens = tokens};
        if (push_chunk(s, &c)) {
            slot_fail(s, REQ_PROTOCOL_ERROR, "out of memory recording chunks");
            return 1;
        }
        if (s->rec.t_first_token_ns < 0)
            s->rec.t_first_token_ns = t;
        s->rec.t_last_token_ns = t;
        atomic_store_explicit(&s->w->tokens,
                              atomic_load_explicit(&s->w->tokens, memory_order_relaxed) + tokens,
                              memory_order_relaxed);
    }
    return 0;
}

/* Response body bytes that arrived at time `now` (absolute): the record's
 * times, then the SSE parser for a 2xx response or the capped error body.
 * s->http_status must be known. Returns 0 to go on, non-zero when the
 * transfer must be aborted (the cause recorded in s). */
static int slot_body(slot *s, const char *ptr, size_t n, int64_t now)
{
    s->t_last_byte_ns = now;
    if (s->rec.t_first_byte_ns < 0)
        s->rec.t_first_byte_ns = now - s->w->a.t0;
    if (s->http_status < 200 || s->http_status >= 300) {
        /* Keep what fits of the error body; the rest is dropped. */
        size_t room = s->errbody.max - s->errbody.len;
        dynbuf_add(&s->errbody, ptr, n < room ? n : room);
        return 0;
    }
    s->t_arrival_ns = now;
    bench_err err;
    bench_status st = sse_feed(s->sse, ptr, n, &err);
    if (st == BENCH_OK)
        return 0;
    if (st != BENCH_EINTR) /* EINTR: on_event already recorded why */
        slot_fail(s, REQ_PROTOCOL_ERROR, "%s", err.msg);
    return 1;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    int64_t now = clock_now_ns(); /* before any parsing */
    if (!s->http_checked) {
        long code = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        s->http_status = (int)code;
        s->http_checked = 1;
    }
    return slot_body(s, ptr, n, now) ? 0 : n;
}

static int on_prereq(void *ud, char *pip, char *lip, int pport, int lport)
{
    slot *s = ud;
    (void)pip;
    (void)lip;
    (void)pport;
    (void)lport;
    /* The connection is up and the request is about to be written: this is
     * the send time every latency is measured from. */
    s->t_send_abs_ns = clock_now_ns();
    s->rec.t_send_ns = s->t_send_abs_ns - s->w->a.t0;
    return CURL_PREREQFUNC_OK;
}

/* Seconds to wait from a Retry-After value (RFC 9110 10.2.3): delta-seconds,
 * or an HTTP-date less now (at least 0); at most RETRY_AFTER_MAX_S. -1 when
 * it is neither. */
static double retry_after_parse(const char *v)
{
    if (*v >= '0' && *v <= '9') {
        double d = 0;
        for (; *v >= '0' && *v <= '9'; v++)
            d = d * 10 + (*v - '0');
        if (*v)
            return -1;
        return d < RETRY_AFTER_MAX_S ? d : RETRY_AFTER_MAX_S;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d < RETRY_AFTER_MAX_S ? d : RETRY_AFTER_MAX_S;
}

/* A header of the final response: keep its Retry-After, which evaluations
 * honour when they retry (worker_hooks.done). */
static void note_header(slot *s, const char *name, size_t nl, const char *v, size_t vl)
{
    if (nl != 11 || strncasecmp(name, "retry-after", 11) != 0)
        return;
    char val[RETRY_AFTER_VALUE_MAX + 1];
    if (vl > RETRY_AFTER_VALUE_MAX)
        return; /* not a value we know */
    memcpy(val, v, vl);
    val[vl] = '\0';
    s->retry_after_s = retry_after_parse(val);
}

/* libcurl's header callback: raw lines, the status line of each response
 * (interim ones included) first. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    slot *s = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        s->retry_after_s = -1; /* a new response (after 1xx): forget the last one's */
        return n;
    }
    const char *colon = memchr(buf, ':', n), *e = buf + n;
    if (!colon)
        return n;
    const char *v = colon + 1;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    note_header(s, buf, (size_t)(colon - buf), v, (size_t)(e - v));
    return n;
}

/* h1's callbacks for the native transport. */
static int on_h1_header(void *ud, const char *name, size_t nl, const char *v, size_t vl)
{
    note_header(ud, name, nl, v, vl);
    return 0;
}

static int on_h1_body(void *ud, const char *p, size_t n)
{
    slot *s = ud;
    if (!s->http_checked) {
        s->http_status = s->resp.status;
        s->http_checked = 1;
    }
    return slot_body(s, p, n, s->t_arrival_ns);
}

static bench_status slot_init(worker *w, slot *s, bench_err *err)
{
    s->w = w;
    s->ready = 1;
    s->fd = -1;
    s->t_read_k = -1;
    dynbuf_init(&s->body, 64u << 20);
    dynbuf_init(&s->prompt, 64u << 20);
    dynbuf_init(&s->errbody, ERR_BODY_MAX);
    dynbuf_init(&s->text, HOOK_TEXT_MAX);
    dynbuf_init(&s->req, (64u << 20) + (16u << 10));
    bench_status st = sse_create(SSE_MAX_LINE, SSE_MAX_EVENT, on_event, s, &s->sse);
    if (st)
        return bench_fail(err, st, "worker %u: cannot create SSE parser", w->a.index);
    if (w->native)
        return BENCH_OK;
    s->easy = curl_easy_init();
    if (!s->easy)
        return bench_fail(err, BENCH_ENOMEM, "worker %u: curl_easy_init failed", w->a.index);
    const run_config *c = w->a.cfg;
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, w->a.url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout.connect_s * 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout.total_s * 1000));
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    /* Compression would delay events behind the decompressor's buffering. */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    /* HTTPS: the system store by default; --cacert replaces it with one
     * file; only --insecure turns verification off (config_tls_check has
     * refused the two together). A refused certificate is a connect_error
     * carrying curl's reason. */
    if (c->tls.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->tls.cacert) {
            curl_easy_setopt(e, CURLOPT_CAINFO, c->tls.cacert);
            curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        }
    }
    return BENCH_OK;
}

static void slot_free(slot *s)
{
    if (!s->ready)
        return;
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->fd >= 0)
        close(s->fd);
    dynbuf_free(&s->req);
    curl_slist_free_all(s->hdrs);
    sse_destroy(s->sse);
    dynbuf_free(&s->body);
    dynbuf_free(&s->prompt);
    dynbuf_free(&s->errbody);
    dynbuf_free(&s->text);
    free(s->ch);
}

static bench_status native_begin(worker *w, slot *s, bench_err *err);

/* Prepare request `id` and hand it to the multi handle, or send it on the
 * slot's own connection (native transport). */
static bench_status slot_start(worker *w, slot *s, uint64_t id, int64_t t_sched_abs, bench_err *err)
{
    const run_config *c = w->a.cfg;
    bench_status st;
    memset(&s->rec, 0, sizeof s->rec);
    s->rec.id = id;
    s->rec.worker = w->a.index;
    s->rec.warmup = id < w->a.n_warmup;
    s->rec.t_sched_ns = t_sched_abs - w->a.t0;
    s->rec.t_send_ns = s->rec.t_first_byte_ns = s->rec.t_first_token_ns = -1;
    s->rec.t_last_token_ns = s->rec.t_end_ns = -1;
    s->rec.prompt_tokens = s->rec.output_tokens = -1;
    s->http_checked = s->got_done = 0;
    s->http_status = 0;
    s->fail_class = REQ_OK;
    s->fail_msg[0] = '\0';
    s->curl_err[0] = '\0';
    s->t_send_abs_ns = 0;
    s->t_last_byte_ns = t_sched_abs;
    s->usage_prev = 0;
    s->bad_utf8 = 0;
    s->retry_after_s = -1;
    s->nch = 0;
    sse_reset(s->sse);
    dynbuf_reset(&s->body);
    dynbuf_reset(&s->prompt);
    dynbuf_reset(&s->errbody);
    dynbuf_reset(&s->text);
    s->top.n = 0;

    if (w->a.hooks) {
        int mt = 0;
        if ((st = w->a.hooks->build(w->a.hooks->ud, id, &s->body, &mt, err)))
            return bench_wrap(err, st, "request %llu", (unsigned long long)id);
        s->rec.max_tokens = mt;
    } else {
        prompt_item item;
        if ((st = prompt_source_item(w->a.prompts, s->rec.id, &item, &s->prompt)))
            return bench_fail(err, st, "request %llu: cannot build its prompt",
                              (unsigned long long)s->rec.id);
        s->rec.max_tokens = item.max_tokens;
        oai_request rq = {
            .api = c->api,
            .model = w->a.model_id,
            .prompt = item.messages_json ? NULL : s->prompt.p,
            .messages_json = item.messages_json,
            .max_tokens = item.max_tokens,
            .ignore_eos = c->ignore_eos,
            .stream = 1,
            .temperature = c->temperature,
            .seed = -1,
            .extra_json = NULL,
        };
        if ((st = oai_build_request(&rq, &s->body, err)))
            return bench_wrap(err, st, "request %llu", (unsigned long long)s->rec.id);
    }

    char rid[160];
    if (w->a.tag)
        snprintf(rid, sizeof rid, "%s-%llu", w->a.tag, (unsigned long long)s->rec.id);
    else
        snprintf(rid, sizeof rid, "c%d-%llu", w->a.level, (unsigned long long)s->rec.id);
    const char *key = w->a.api_key && *w->a.api_key ? w->a.api_key : NULL;
    if (w->native) {
        /* The whole request in one buffer, so that it leaves in one write. */
        dynbuf_reset(&s->req);
        if ((st = dynbuf_addf(&s->req,
                              "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench/" BENCH_VERSION
                              "\r\nContent-Type: application/json\r\nAccept: "
                              "text/event-stream\r\nX-Request-Id: %s\r\n",
                              w->tgt.path, w->tgt.hostport, rid)) ||
            (key && (st = dynbuf_addf(&s->req, "Authorization: Bearer %s\r\n", key))) ||
            (st = dynbuf_addf(&s->req, "Content-Length: %zu\r\n\r\n", s->body.len)) ||
            (st = dynbuf_add(&s->req, s->body.p ? s->body.p : "", s->body.len)))
            return bench_fail(err, st, "request %llu: cannot build the HTTP request",
                              (unsigned long long)s->rec.id);
    } else {
        curl_slist_free_all(s->hdrs);
        s->hdrs = NULL;
        char h[512];
        struct curl_slist *l = NULL;
        l = curl_slist_append(l, "Content-Type: application/json");
        l = l ? curl_slist_append(l, "Accept: text/event-stream") : NULL;
        snprintf(h, sizeof h, "X-Request-Id: %s", rid);
        l = l ? curl_slist_append(l, h) : NULL;
        l = l ? curl_slist_append(l, "Expect:") : NULL;
        if (l && key) {
            dynbuf auth;
            dynbuf_init(&auth, 8192);
            if (dynbuf_addf(&auth, "Authorization: Bearer %s", key) == BENCH_OK)
                l = curl_slist_append(l, auth.p);
            else
                l = NULL;
            dynbuf_free(&auth);
        }
        if (!l)
            return bench_fail(err, BENCH_ENOMEM, "out of memory building request headers");
        s->hdrs = l;
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.p);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
        CURLMcode mc = curl_multi_add_handle(w->multi, s->easy);
        if (mc != CURLM_OK)
            return bench_fail(err, BENCH_ESYS, "curl_multi_add_handle: %s",
                              curl_multi_strerror(mc));
    }
    s->busy = 1;
    w->nbusy++;
    if (w->a.inflight) {
        int now_in = atomic_fetch_add_explicit(w->a.inflight, 1, memory_order_relaxed) + 1;
        int pk = atomic_load_explicit(w->a.peak, memory_order_relaxed);
        while (now_in > pk &&
               !atomic_compare_exchange_weak_explicit(w->a.peak, &pk, now_in, memory_order_relaxed,
                                                      memory_order_relaxed))
            ;
    }
    if (w->native) {
        s->t_start_abs = clock_now_ns();
        s->retried = 0;
        return native_begin(w, s, err);
    }
    return BENCH_OK;
}

static bench_status grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return BENCH_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*p, ncap * elem);
    if (!n)
        return BENCH_ENOMEM;
    *p = n;
    *cap = ncap;
    return BENCH_OK;
}

static int classify_curl(CURLcode res, const slot *s)
{
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        return s->t_send_abs_ns ? REQ_TIMEOUT_TOTAL : REQ_TIMEOUT_CONNECT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return REQ_CONNECT_ERROR;
    case CURLE_WRITE_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
        return REQ_PROTOCOL_ERROR;
    default:
        return REQ_RESET;
    }
}

/* Record the outcome of the request in slot s and free the slot: the
 * transport has set s->http_status, s->ctype and any failure (slot_fail). */
static bench_status slot_finish(worker *w, slot *s, bench_err *err)
{
    int64_t now = clock_now_ns();
    s->busy = 0;
    w->nbusy--;
    w->free_slots[w->nfree++] = (int)(s - w->slots);
    if (w->a.inflight)
        atomic_fetch_sub_explicit(w->a.inflight, 1, memory_order_relaxed);
    req_record *r = &s->rec;
    r->t_end_ns = now - w->a.t0;
    r->http_status = s->http_status;
    if (s->fail_class == REQ_OK && (s->http_status < 200 || s->http_status >= 300)) {
        char m[200];
        oai_error_message(s->errbody.p ? s->errbody.p : "", s->errbody.len, m, sizeof m);
        slot_fail(s, REQ_HTTP_ERROR, "HTTP %d: %s", s->http_status, m);
    }
    if (s->fail_class == REQ_OK && sse_event_count(s->sse) == 0)
        slot_fail(s, REQ_PROTOCOL_ERROR,
                  "HTTP %d response carried no SSE events (Content-Type: %s); does the server "
                  "support \"stream\": true?",
                  s->http_status, s->ctype[0] ? s->ctype : "none");
    if (s->fail_class == REQ_OK) {
        int pending = 0;
        sse_finish(s->sse, &pending);
        if (!s->got_done)
            slot_fail(s, REQ_NO_DONE, "stream ended without data: [DONE]%s",
                      pending ? " (partial event dropped)" : "");
    }
    if (s->fail_class == REQ_OK && !w->a.hooks) {
        int out = r->output_tokens >= 0 ? r->output_tokens : (int)s->nch;
        if (r->max_tokens > 0 && out < r->max_tokens) {
            s->fail_class = REQ_EARLY_STOP;
            snprintf(s->fail_msg, sizeof s->fail_msg,
                     "stopped after %d of %d tokens (finish_reason \"%s\")", out, r->max_tokens,
                     r->finish_reason);
        }
    }
    r->status = s->fail_class;
    r->chunk_count = (uint32_t)s->nch;
    if (w->a.hooks) {
        w->a.hooks->done(
            w->a.hooks->ud, r, s->text.p ? s->text.p : "", s->text.len, s->top.n ? &s->top : NULL,
            req_class_is_success(s->fail_class) ? NULL : s->fail_msg, s->retry_after_s);
    }

    int failed = !req_class_is_success(s->fail_class);
    int warn = !failed && s->bad_utf8 > 0; /* a success with a note in `errors` */
    pthread_mutex_lock(&w->lock);
    r->chunk_offset = w->nchunks;
    if (grow((void **)&w->rows, &w->caprows, w->nrows + 1, sizeof *w->rows) ||
        grow((void **)&w->chunks, &w->capchunks, w->nchunks + s->nch, sizeof *w->chunks) ||
        ((failed || warn) &&
         grow((void **)&w->errors, &w->caperrors, w->nerrors + 1, sizeof *w->errors))) {
        pthread_mutex_unlock(&w->lock);
        return bench_fail(err, BENCH_ENOMEM, "worker %u: out of memory recording results",
                          w->a.index);
    }
    memcpy(w->chunks + w->nchunks, s->ch, s->nch * sizeof *s->ch);
    w->nchunks += s->nch;
    w->rows[w->nrows++] = *r;
    if (failed) {
        worker_error *e = &w->errors[w->nerrors++];
        e->id = r->id;
        snprintf(e->message, sizeof e->message, "%s", s->fail_msg);
    } else if (warn) {
        worker_error *e = &w->errors[w->nerrors++];
        e->id = r->id;
        snprintf(e->message, sizeof e->message,
                 "warning: invalid UTF-8 in the content of %d chunk(s); recorded as %s",
                 s->bad_utf8, req_class_name(s->fail_class));
    }
    pthread_mutex_unlock(&w->lock);
    atomic_store_explicit(&w->done, atomic_load_explicit(&w->done, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return BENCH_OK;
}

/* libcurl's transfer of slot s ended: res is curl's result, or -1 when the
 * worker aborted it. */
static bench_status curl_finish(worker *w, slot *s, int res_or_abort, bench_err *err)
{
    curl_multi_remove_handle(w->multi, s->easy);
    if (!s->http_checked) {
        long code = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        s->http_status = (int)code;
    }
    if (res_or_abort >= 0 && res_or_abort != CURLE_OK) {
        CURLcode res = (CURLcode)res_or_abort;
        if (s->http_status >= 400 && res == CURLE_WRITE_ERROR)
            ; /* not ours: the HTTP error is recorded by slot_finish */
        else
            slot_fail(s, classify_curl(res, s), "%s",
                      s->curl_err[0] ? s->curl_err : curl_easy_strerror(res));
    }
    char *ctype = NULL;
    curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ctype);
    snprintf(s->ctype, sizeof s->ctype, "%s", ctype ? ctype : "");
    /* libcurl 7.88 counts the requests it re-sent on a fresh connection
     * (a kept-alive one the server had closed) per easy handle, never
     * resetting the count, and fails the transfer after the fifth: a slot
     * reusing one handle would fail every request after five such races.
     * A fresh copy every CURL_HANDLE_USES transfers keeps the count under
     * that (the connections stay in the multi handle's pool). */
    if (++s->curl_uses >= CURL_HANDLE_USES) {
        CURL *d = curl_easy_duphandle(s->easy);
        if (d) {
            curl_easy_cleanup(s->easy);
            s->easy = d;
            s->curl_uses = 0;
        }
    }
    return slot_finish(w, s, err);
}

/* ------------------------------------------------------------------------
 * The native transport: HTTP/1.1 over the slot's own TCP connection
 * (tsock.h, h1.h), read with the kernel's receive timestamps. One request
 * at a time per connection, kept alive across the slot's requests, as
 * libcurl keeps them. */

/* Watch slot s's connection for `events` (0: not at all; the receive
 * ring reads it, and epoll would keep reporting a hang-up regardless). */
static void native_watch(worker *w, slot *s, uint32_t events)
{
    if (s->evmask == events)
        return;
    if (!events) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->evmask = 0;
        return;
    }
    struct epoll_event ev = {.events = events, .data.u64 = NATIVE_TAG | (uint64_t)(s - w->slots)};
    if (epoll_ctl(w->epfd, s->evmask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) == 0)
        s->evmask = events;
}

/* The epoll interest of a connection waiting for its reply: none when the
 * receive ring reads it. */
static uint32_t native_rx_events(const worker *w)
{
    return w->ring ? 0 : EPOLLIN;
}

static uint64_t ring_tag(const worker *w, const slot *s)
{
    return (uint64_t)s->rgen << 32 | (uint64_t)(s - w->slots);
}

/* Arm the receive ring on slot s's connection, once per connection. */
static bench_status native_arm(worker *w, slot *s, bench_err *err)
{
    if (!w->ring || s->armed)
        return BENCH_OK;
    int rc = rxring_arm(w->ring, s->fd, ring_tag(w, s));
    if (rc < 0)
        return bench_fail(err, BENCH_ESYS, "io_uring: arming a receive: %s", strerror(-rc));
    s->armed = 1;
    return BENCH_OK;
}

static void native_close(slot *s)
{
    worker *w = s->w;
    if (s->armed)
        rxring_cancel(w->ring, ring_tag(w, s)); /* what it still posts has the old tag */
    s->armed = 0;
    s->rgen++;
    if (s->fd >= 0)
        close(s->fd); /* which also takes it out of the epoll set */
    s->fd = -1;
    s->evmask = 0;
    s->nstate = N_IDLE;
    s->t_read_k = -1;
}

/* The request in slot s ended; keep its connection for the next one when
 * `keep` (the response ended cleanly and the server allows it). */
static bench_status native_finish(worker *w, slot *s, int keep, bench_err *err)
{
    if (keep)
        s->nstate = N_IDLE; /* still watched for reading: a close is noticed */
    else
        native_close(s);
    if (!s->http_checked && h1_headers_done(&s->resp))
        s->http_status = s->resp.status;
    snprintf(s->ctype, sizeof s->ctype, "%s", s->resp.ctype);
    return slot_finish(w, s, err);
}

static bench_status native_fail(worker *w, slot *s, bench_err *err, int cls, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fail the request of slot s (the first failure recorded is its cause) and
 * drop its connection. Returns only a fatal status. */
static bench_status native_fail(worker *w, slot *s, bench_err *err, int cls, const char *fmt, ...)
{
    char m[sizeof s->fail_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    slot_fail(s, cls, "%s", m);
    return native_finish(w, s, 0, err);
}

static bench_status native_connect(worker *w, slot *s, bench_err *err);

/* The connection broke (error e) while the request of slot s was being
 * sent or its reply read. A kept-alive connection the server had already
 * closed, before any of the reply came, gets the request once more on a
 * fresh connection, as libcurl does; anything else is a reset. */
static bench_status native_broken(worker *w, slot *s, const char *op, int e, bench_err *err)
{
    if (s->reused && !s->retried && h1_empty(&s->resp)) {
        native_close(s);
        s->retried = 1;
        s->reused = 0;
        s->ai = 0;
        return native_connect(w, s, err);
    }
    return native_fail(w, s, err, REQ_RESET, "%s: %s", op, e ? strerror(e) : "connection closed");
}

/* Send what is left of the request; then wait for the reply. */
static bench_status native_send(worker *w, slot *s, bench_err *err)
{
    if (s->req_off == 0) {
        /* The request's first byte is about to be written: the send time
         * every latency is measured from (libcurl: on_prereq). */
        s->t_send_abs_ns = clock_now_ns();
        s->rec.t_send_ns = s->t_send_abs_ns - w->a.t0;
    }
    while (s->req_off < s->req.len) {
        ssize_t r = send(s->fd, s->req.p + s->req_off, s->req.len - s->req_off, MSG_NOSIGNAL);
        if (r > 0) {
            s->req_off += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Reading too: a server may answer (an error) before it has
             * read the whole request. */
            s->nstate = N_SENDING;
            native_watch(w, s, native_rx_events(w) | EPOLLOUT);
            return native_arm(w, s, err);
        }
        return native_broken(w, s, "send", r < 0 ? errno : 0, err);
    }
    s->nstate = N_RECEIVING;
    native_watch(w, s, native_rx_events(w));
    return native_arm(w, s, err);
}

/* Connect slot s to the target's address s->ai or the next ones. */
static bench_status native_connect(worker *w, slot *s, bench_err *err)
{
    h1_reset(&s->resp, on_h1_header, on_h1_body, s);
    s->req_off = 0;
    if (w->tgt.n == 0)
        return native_fail(w, s, err, REQ_CONNECT_ERROR, "%s", w->tgt.resolve_error);
    for (; s->ai < w->tgt.n; s->ai++) {
        int rc = tsock_connect(&w->tgt, s->ai, &s->fd);
        s->t_conn_abs = clock_now_ns();
        if (rc == 0)
            return native_send(w, s, err);
        if (rc == EINPROGRESS) {
            s->nstate = N_CONNECTING;
            native_watch(w, s, EPOLLOUT);
            return BENCH_OK;
        }
        s->last_errno = rc;
    }
    return native_fail(w, s, err, REQ_CONNECT_ERROR, "connect to %s port %d: %s", w->tgt.host,
                       w->tgt.port, strerror(s->last_errno));
}

/* Send the request just prepared in slot s: on its kept-alive connection
 * when the server has not closed it meanwhile, else on a new one. */
static bench_status native_begin(worker *w, slot *s, bench_err *err)
{
    s->reused = 0;
    s->ai = 0;
    if (s->fd >= 0) {
        char b;
        ssize_t r = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            h1_reset(&s->resp, on_h1_header, on_h1_body, s);
            s->req_off = 0;
            s->reused = 1;
            return native_send(w, s, err);
        }
        native_close(s); /* closed by the server, or bytes nobody asked for */
    }
    return native_connect(w, s, err);
}

/* What one read on slot s's connection gave: r bytes at buf stamped kt by
 * the kernel (-1: not stamped), the end of the stream (r = 0), or error e
 * (r < 0); through the HTTP/1.1 parser to the SSE parser. */
static bench_status native_got(worker *w, slot *s, const char *buf, ssize_t r, int e, int64_t kt,
                               bench_err *err)
{
    if (r < 0)
        return native_broken(w, s, "recv", e, err);
    if (r == 0) {
        bench_err ee;
        if (h1_eof(&s->resp, &ee) == BENCH_OK)
            return native_finish(w, s, 0, err);
        if (s->reused && !s->retried && h1_empty(&s->resp))
            return native_broken(w, s, "recv", 0, err);
        return native_fail(w, s, err, REQ_RESET, "%s", ee.msg);
    }
    w->co_reads++;
    if (kt >= 0) {
        w->co_kreads++;
        if (w->co_probing && s->t_read_k >= 0) {
            int64_t gap = kt - s->t_read_k;
            if (gap < COALESCE_BURST_NS)
                w->co_bursts++;
            else
                stats_hist_add(&w->co_gaps, gap);
        }
        s->t_read_k = kt;
        w->self.reads_kernel++;
    } else {
        kt = clock_now_ns();
    }
    /* A read's bytes came after the previous read's: its time is not
     * earlier, whatever moved a stamp (a read without one, stamped at the
     * read; the clocks' offset sampled again; docs/METRICS.md
     * "Timestamps"). */
    if (kt < s->t_arrival_ns) {
        kt = s->t_arrival_ns;
    }
    w->self.reads++;
    s->t_arrival_ns = kt;
    size_t before = s->nch, used = 0;
    bench_err pe;
    bench_status st = h1_feed(&s->resp, buf, (size_t)r, &used, &pe);
    if (s->nch - before > 1)
        w->co_multi++;
    if (st == BENCH_EINTR) /* a callback stopped it; the cause is recorded */
        return native_fail(w, s, err, REQ_PROTOCOL_ERROR, "stopped reading the response");
    if (st)
        return native_fail(w, s, err, REQ_PROTOCOL_ERROR, "%s", pe.msg);
    if (h1_done(&s->resp))
        return native_finish(w, s, s->resp.keep_alive && used == (size_t)r, err);
    return BENCH_OK;
}

/* One read on slot s's connection with recvmsg (no receive ring). */
static bench_status native_read(worker *w, slot *s, bench_err *err)
{
    int64_t kt;
    ssize_t r = tsock_recv(s->fd, w->rxbuf, RX_BUF, 0, &kt);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return BENCH_OK;
    return native_got(w, s, w->rxbuf, r, r < 0 ? errno : 0, kt, err);
}

/* Hand out what the receive ring read, while receives keep waiting (a few
 * rounds at most: the loop's other work must not starve). A completion of
 * a connection since closed (its generation is past) is dropped; an idle
 * kept-alive connection that gets anything was closed by the server (or
 * sent bytes nobody asked for) and is dropped; a receive that ended on a
 * connection still open (the ring's buffers ran out) is armed again. */
static bench_status ring_drain(worker *w, int force, bench_err *err)
{
    for (int round = 0; round < RING_ROUNDS && (force || rxring_pending(w->ring)); round++) {
        force = 0;
        int rc = rxring_reap(w->ring);
        if (rc < 0)
            return bench_fail(err, BENCH_ESYS, "io_uring_enter: %s", strerror(-rc));
        rxring_cqe c;
        while (rxring_next(w->ring, &c)) {
            uint32_t i = (uint32_t)c.tag, gen = (uint32_t)(c.tag >> 32);
            if (i >= (uint32_t)w->a.slots)
                continue;
            slot *s = &w->slots[i];
            if (s->fd < 0 || s->rgen != gen)
                continue;
            if (!c.more)
                s->armed = 0;
            bench_status st = BENCH_OK;
            /* -ENOBUFS read nothing: the receive is armed again below. */
            if (c.res != -ENOBUFS) {
                if (!s->busy) {
                    native_close(s);
                } else {
                    if (c.res > 0)
                        w->self.reads_ring++;
                    st = native_got(w, s, c.data, c.res, c.res < 0 ? -c.res : 0, c.t_ns, err);
                }
            }
            if (!st && s->fd >= 0 && s->rgen == gen)
                st = native_arm(w, s, err);
            if (st)
                return st;
        }
    }
    return BENCH_OK;
}

/* Readiness of slot s's connection. An idle kept-alive connection that
 * becomes readable was closed by the server (or sent bytes nobody asked
 * for): it is dropped. */
static bench_status native_io(worker *w, slot *s, uint32_t events, bench_err *err)
{
    if (!s->busy) {
        native_close(s);
        return BENCH_OK;
    }
    if (s->nstate == N_CONNECTING) {
        int e = tsock_connect_result(s->fd);
        if (e == 0)
            return native_send(w, s, err);
        native_close(s);
        s->last_errno = e;
        s->ai++;
        return native_connect(w, s, err);
    }
    if (s->nstate == N_SENDING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        bench_status st = native_send(w, s, err);
        if (st || !s->busy || s->nstate != N_RECEIVING)
            return st;
    }
    /* With the receive ring, only the ring reads: a read here would take
     * bytes out of order with its completions. */
    if (!w->ring && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return native_read(w, s, err);
    return BENCH_OK;
}

/* Read coalescing (docs/METRICS.md "Timestamps"). With every read
 * stamped by the kernel, reading later changes no recorded time, so the
 * loop may pause between turns and take many connections' events per
 * wake-up, which is where a paced server's cost per chunk goes. What a
 * pause must not do is merge two of one connection's events that the
 * server sent apart: the earlier would get the later one's stamp. So the
 * loop alternates a short probe without pauses, which measures the gaps
 * between each connection's reads, and a longer phase pausing at most a
 * quarter of the probe's 10th-percentile gap (bursts the server writes
 * within COALESCE_BURST_NS excepted). No pause when bursts dominate (the
 * reads are large anyway), when some read was not kernel-stamped, when a
 * pause would gather fewer than COALESCE_MIN_READS reads, or for the next
 * phase when the last one saw more reads carrying several tokens than its
 * probe did (the server's pace changed under the pause). */
static void coalesce_decide(worker *w, int64_t now)
{
    int64_t len = now - w->co_t0;
    if (len < (w->co_probing ? COALESCE_PROBE_NS : COALESCE_PHASE_NS))
        return;
    double multi = w->co_reads ? (double)w->co_multi / (double)w->co_reads : 0;
    int64_t win = 0;
    if (!w->co_probing) {
        /* A coalescing phase ended: probe next, and skip the pause after
         * that probe if this phase merged events its probe did not. */
        w->co_skip = multi > w->co_probe_multi + 0.05;
    } else {
        w->co_probe_multi = multi;
        if (w->co_reads > 0 && w->co_kreads == w->co_reads && w->co_gaps.n > w->co_bursts &&
            !w->co_skip && !w->a.cfg->busy_poll) {
            win = (int64_t)(stats_hist_quantile_ns(&w->co_gaps, 10) / 4);
            if (win > COALESCE_MAX_NS)
                win = COALESCE_MAX_NS;
            if ((double)w->co_reads * (double)win / (double)len < COALESCE_MIN_READS)
                win = 0;
        }
        w->co_skip = 0;
    }
    w->co_probing = win == 0;
    w->coalesce_ns = win;
    w->co_t0 = now;
    w->co_reads = w->co_kreads = w->co_multi = w->co_bursts = 0;
    memset(&w->co_gaps, 0, sizeof w->co_gaps);
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in a socket into the
 * worker's epoll set. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    worker *w = userp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = 0, .data.fd = fd};
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->epfd, op, fd, &ev) != 0) {
        /* A socket number curl closed and reopened, or one we never saw. */
        op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(w->epfd, op, fd, &ev) != 0)
            return -1;
    }
    if (!socketp)
        curl_multi_assign(w->multi, fd, w);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when curl wants its timeout action. */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    worker *w = userp;
    (void)m;
    w->curl_due = timeout_ms < 0 ? -1 : clock_now_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

/* Abort in-flight transfers that passed the first-token or idle limit, or
 * all of them (as cancelled) when cancel_all is set. */
static bench_status check_deadlines(worker *w, int64_t now, int cancel_all, bench_err *err)
{
    const config_timeouts *t = &w->a.cfg->timeout;
    int64_t ft = (int64_t)(t->first_token_s * 1e9), idle = (int64_t)(t->idle_s * 1e9);
    int64_t conn = (int64_t)(t->connect_s * 1e9), total = (int64_t)(t->total_s * 1e9);
    for (int i = 0; i < w->a.slots && w->nbusy > 0; i++) {
        slot *s = &w->slots[i];
        if (!s->busy)
            continue;
        if (cancel_all)
            slot_fail(s, REQ_CANCELLED, "cancelled: the run was interrupted");
        /* libcurl keeps its own connect and total limits; the native
         * transport's are kept here. */
        else if (w->native && s->nstate == N_CONNECTING && now - s->t_conn_abs > conn)
            slot_fail(s, REQ_TIMEOUT_CONNECT, "connect to %s port %d: timed out after %.3g s",
                      w->tgt.host, w->tgt.port, t->connect_s);
        else if (w->native && now - s->t_start_abs > total)
            slot_fail(s, s->t_send_abs_ns ? REQ_TIMEOUT_TOTAL : REQ_TIMEOUT_CONNECT,
                      "request timed out after %.3g s", t->total_s);
        else if (s->rec.t_first_token_ns < 0 && s->t_send_abs_ns && now - s->t_send_abs_ns > ft)
            slot_fail(s, REQ_TIMEOUT_FIRST_TOKEN, "no content token within %.3g s of sending",
                      t->first_token_s);
        /* The idle limit starts with the first token: until then the
         * first-token limit alone governs. Otherwise a slow first byte
         * (prefill, a queue) would be cut as idle whenever idle is the
         * shorter limit, as with the defaults (60 s against 120 s). */
        else if (s->rec.t_first_token_ns >= 0 && now - s->t_last_byte_ns > idle)
            slot_fail(s, REQ_TIMEOUT_IDLE, "no bytes for %.3g s", t->idle_s);
        else
            continue;
        bench_status st = w->native ? native_finish(w, s, 0, err) : curl_finish(w, s, -1, err);
        if (st)
            return st;
    }
    return BENCH_OK;
}

/* A free slot, set up on first use; NULL when all are busy. */
static slot *slot_take(worker *w, bench_status *st, bench_err *err)
{
    *st = BENCH_OK;
    if (w->nfree == 0)
        return NULL;
    slot *s = &w->slots[w->free_slots[w->nfree - 1]];
    if (!s->ready && (*st = slot_init(w, s, err)))
        return NULL;
    w->nfree--;
    return s;
}

/* Send every request that is due and has a slot. Closed loop: one per free
 * slot, scheduled now. Open loop: those whose due time has passed, taken in
 * id order from the shared counter; *next_due is set to the next one's due
 * time when a slot is free but it is not due yet (else left alone). */
static bench_status start_due(worker *w, int64_t now, int64_t *next_due, bench_err *err)
{
    bench_status st = BENCH_OK;
    while (!w->exhausted && w->nfree > 0) {
        uint64_t id;
        int64_t sched = now;
        if (!w->a.arrival_ns) {
            id = atomic_fetch_add_explicit(w->a.next_id, 1, memory_order_relaxed);
        } else {
            id = atomic_load_explicit(w->a.next_id, memory_order_relaxed);
            if (id < w->a.n_requests) {
                sched = w->a.t_level + w->a.arrival_ns[id];
                if (sched > now) {
                    *next_due = sched;
                    return BENCH_OK;
                }
                if (!atomic_compare_exchange_weak_explicit(
                        w->a.next_id, &id, id + 1, memory_order_relaxed, memory_order_relaxed))
                    continue; /* another worker took it: look again */
            }
        }
        if (id >= w->a.n_requests) {
            w->exhausted = 1;
            break;
        }
        slot *s = slot_take(w, &st, err);
        if (!s)
            return st; /* cannot happen with nfree > 0 but for slot_init failing */
        if ((st = slot_start(w, s, id, sched, err)))
            return st;
    }
    return st;
}

/* Feed curl the readiness of one socket, or its timeout, and record every
 * transfer that ended. */
static bench_status drive(worker *w, curl_socket_t fd, int flags, bench_err *err)
{
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(w->multi, fd, flags, &running);
    if (mc != CURLM_OK)
        return bench_fail(err, BENCH_ESYS, "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        bench_status st = curl_finish(w, s, (int)msg->data.result, err);
        if (st)
            return st;
    }
    return BENCH_OK;
}

/* Wait for readiness until `until` (absolute ns) at the latest, with
 * nanosecond resolution where the kernel has epoll_pwait2. */
static int wait_events(worker *w, struct epoll_event *evs, int64_t until, int64_t now)
{
    int64_t d = until - now;
    if (d < 0)
        d = 0;
    static _Atomic int no_pwait2;
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts = {(time_t)(d / 1000000000LL), (long)(d % 1000000000LL)};
        int n = epoll_pwait2(w->epfd, evs, EPOLL_BATCH, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
    }
    return epoll_wait(w->epfd, evs, EPOLL_BATCH, (int)((d + 999999) / 1000000));
}

static double thread_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Set up the receive ring in the worker's own thread (it is the ring's
 * one submitter), as $BENCH_IO_URING asks: "auto" falls back to a recvmsg
 * per readiness when io_uring cannot be had, "on" fails instead. */
static bench_status ring_open(worker *w, bench_err *err)
{
    if (w->ring_mode == WORKER_RING_OFF)
        return BENCH_OK;
    bench_err e;
    if (rxring_create((unsigned)w->a.slots, &w->ring, &e)) {
        if (w->ring_mode == WORKER_RING_ON)
            return bench_fail(err, BENCH_ESYS, "$BENCH_IO_URING=on: %s", e.msg);
        return BENCH_OK;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = RING_TAG};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, rxring_event_fd(w->ring), &ev) != 0) {
        rxring_destroy(w->ring);
        w->ring = NULL;
        return bench_fail(err, BENCH_ESYS, "epoll_ctl: %s", strerror(errno));
    }
    return BENCH_OK;
}

/* The event loop. Each iteration: send what is due, wait for readiness or
 * the earliest deadline (curl's timer, the next open-loop arrival, the
 * deadline scan, the stop poll), hand each ready socket to curl, then run
 * curl's timeout action if due. Loop lag (docs/METRICS.md "Client") is
 * sampled twice an iteration: how late the wait returned past the deadline
 * it slept for, and how long the iteration's work kept the loop from
 * waiting again (the longest a socket that became ready meanwhile waited
 * to be noticed). */
static void *worker_main(void *arg)
{
    worker *w = arg;
    bench_err *err = &w->fatal_err;
    bench_status st = BENCH_OK;
    int64_t grace_deadline = 0, next_scan = 0;
    struct epoll_event evs[EPOLL_BATCH];
    int64_t t_begin = clock_now_ns();
    int64_t woke = t_begin;
    double cpu_begin = thread_cpu_s();
    if (w->native && (st = ring_open(w, err)))
        goto out;

    for (;;) {
        int64_t now = clock_now_ns();
        int stop = atomic_load_explicit(w->a.stop, memory_order_relaxed);
        if (stop >= WORKER_STOP_GRACEFUL && !grace_deadline)
            grace_deadline = now + (int64_t)(w->a.grace_s * 1e9);
        int64_t next_due = -1;
        if (stop == WORKER_RUN && (st = start_due(w, now, &next_due, err)))
            goto out;
        if (w->nbusy == 0 && (w->exhausted || stop != WORKER_RUN))
            break;
        now = clock_now_ns();
        int cancel = stop == WORKER_STOP_NOW || (grace_deadline && now > grace_deadline);
        if (cancel || now >= next_scan) {
            if ((st = check_deadlines(w, now, cancel, err)))
                goto out;
            next_scan = now + DEADLINE_SCAN_NS;
            if (w->nbusy == 0 && (w->exhausted || stop != WORKER_RUN))
                break;
        }
        /* Sleep until the earliest thing due. */
        int64_t until = now + POLL_MAX_NS;
        if (next_scan < until && w->nbusy > 0)
            until = next_scan;
        if (w->curl_due >= 0 && w->curl_due < until)
            until = w->curl_due;
        if (next_due >= 0 && next_due < until)
            until = next_due;
        /* --busy-poll: never sleep while a response may arrive, so no
         * bytes wait for the kernel to wake this thread (docs/METRICS.md,
         * "Client"): timestamps within the loop's turn of the arrival, at
         * the cost of the thread's whole core. */
        if (w->a.cfg->busy_poll && w->nbusy > 0)
            until = now;
        /* Receives the last turn's reaps left waiting (the kernel runs a
         * bounded number per reap) signal no new edge: do not sleep on them. */
        if (w->ring && rxring_pending(w->ring))
            until = now;
        int64_t t_work = clock_now_ns();
        stats_hist_add(&w->self.lag, t_work - woke);
        if (w->native) {
            coalesce_decide(w, t_work);
            /* Read coalescing: pause until the turn's window is over, so
             * the next wait finds many connections' events at once. */
            int64_t pause_to = woke + w->coalesce_ns;
            if (pause_to > until)
                pause_to = until;
            if (w->coalesce_ns > 0 && w->nbusy > 0 && pause_to > t_work) {
                struct timespec ts = {(time_t)(pause_to / 1000000000LL),
                                      (long)(pause_to % 1000000000LL)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                w->self.pauses++;
                now = clock_now_ns();
            }
        }
        int n = wait_events(w, evs, until, now);
        woke = clock_now_ns();
        w->self.wakeups++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = bench_fail(err, BENCH_ESYS, "epoll_wait: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            stats_hist_add(&w->self.lag, woke - until);
        int ring_woke = 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == RING_TAG) {
                ring_woke = 1;
                continue;
            }
            if (evs[i].data.u64 & NATIVE_TAG) {
                slot *s = &w->slots[evs[i].data.u64 & ~NATIVE_TAG];
                if ((st = native_io(w, s, evs[i].events, err)))
                    goto out;
                continue;
            }
            int flags = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            if ((st = drive(w, evs[i].data.fd, flags, err)))
                goto out;
        }
        /* The ring is reaped when its eventfd said so, when the kernel
         * flags receives waiting, and after a wait that timed out (a
         * safety net: a receive left waiting keeps its kernel stamp). */
        if (w->ring && (st = ring_drain(w, ring_woke || n == 0, err)))
            goto out;
        if (w->curl_due >= 0 && clock_now_ns() >= w->curl_due) {
            w->curl_due = -1; /* curl re-arms it through on_timer if needed */
            if ((st = drive(w, CURL_SOCKET_TIMEOUT, 0, err)))
                goto out;
        }
    }
out:
    w->self.wall_s = (double)(clock_now_ns() - t_begin) / 1e9;
    w->self.cpu_s = thread_cpu_s() - cpu_begin;
    w->fatal = st;
    atomic_store_explicit(&w->finished, 1, memory_order_release);
    return NULL;
}

/* A proxy libcurl would go through for url (its environment variables);
 * libcurl then keeps the requests, since the native transport speaks to
 * the server directly. */
static int proxy_set(void)
{
    static const char *const vars[] = {"http_proxy", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return 1;
    }
    return 0;
}

bench_status worker_transport(const run_config *cfg, const char *url, int *native, int *ring_mode,
                              bench_err *err)
{
    int t = cfg->transport;
    const char *env = getenv("BENCH_TRANSPORT");
    if (t == CONFIG_TRANSPORT_AUTO && env && *env) {
        if (strcmp(env, "native") == 0)
            t = CONFIG_TRANSPORT_NATIVE;
        else if (strcmp(env, "libcurl") == 0)
            t = CONFIG_TRANSPORT_LIBCURL;
        else if (strcmp(env, "auto") != 0)
            return bench_fail(err, BENCH_EUSAGE,
                              "$BENCH_TRANSPORT: '%s' is not auto, native or libcurl", env);
    }
    if (t == CONFIG_TRANSPORT_NATIVE && strncasecmp(url, "http://", 7) != 0)
        return bench_fail(err, BENCH_EUSAGE,
                          "%s: the built-in client speaks plain http:// only, not '%s' (use auto "
                          "or libcurl)",
                          cfg->transport == CONFIG_TRANSPORT_NATIVE ? "--transport native"
                                                                    : "$BENCH_TRANSPORT=native",
                          url);
    *native = t == CONFIG_TRANSPORT_NATIVE ||
              (t == CONFIG_TRANSPORT_AUTO && strncasecmp(url, "http://", 7) == 0 && !proxy_set());
    int ring;
    return worker_ring_mode(ring_mode ? ring_mode : &ring, err);
}

bench_status worker_ring_mode(int *mode, bench_err *err)
{
    const char *env = getenv("BENCH_IO_URING");
    *mode = WORKER_RING_AUTO;
    if (!env || !*env || strcmp(env, "auto") == 0)
        return BENCH_OK;
    if (strcmp(env, "on") == 0)
        *mode = WORKER_RING_ON;
    else if (strcmp(env, "off") == 0)
        *mode = WORKER_RING_OFF;
    else
        return bench_fail(err, BENCH_EUSAGE, "$BENCH_IO_URING: '%s' is not auto, on or off", env);
    return BENCH_OK;
}

bench_status worker_create(const worker_args *a, worker **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    *out = NULL;
    if (a->slots < 1)
        return bench_fail(err, BENCH_EUSAGE, "worker %u: needs at least one slot", a->index);
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    w->a = *a;
    w->epfd = -1;
    w->curl_due = -1;
    w->co_probing = 1;
    if ((st = worker_transport(a->cfg, a->url, &w->native, &w->ring_mode, err)))
        goto out;
    w->self.native = w->native;
    if (w->native) {
        if ((st = tsock_target_init(&w->tgt, a->url, err)))
            goto out;
        tsock_stamps_on(); /* when it fails, reads are stamped at the read */
        if (!(w->rxbuf = malloc(RX_BUF))) {
            st = bench_fail(err, BENCH_ENOMEM, "worker %u: out of memory", a->index);
            goto out;
        }
    }
    pthread_mutex_init(&w->lock, NULL);
    w->multi = curl_multi_init();
    w->slots = calloc((size_t)a->slots, sizeof *w->slots);
    w->free_slots = calloc((size_t)a->slots, sizeof *w->free_slots);
    if (!w->multi || !w->slots || !w->free_slots) {
        st = bench_fail(err, BENCH_ENOMEM, "worker %u: out of memory", a->index);
        goto out;
    }
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        st = bench_fail(err, BENCH_ESYS, "worker %u: epoll_create1: %s", a->index, strerror(errno));
        goto out;
    }
    /* Slots are handed out from the top of the stack: slot 0 first, so a
     * level that never fills its slots never sets the rest up. */
    for (int i = 0; i < a->slots; i++)
        w->free_slots[i] = a->slots - 1 - i;
    w->nfree = a->slots;
    /* One connection per slot, kept alive across its requests. */
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)a->slots);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    *out = w;
    w = NULL;
out:
    worker_destroy(w);
    return st;
}

bench_status worker_start(worker *w, bench_err *err)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc)
        return bench_fail(err, BENCH_ESYS, "cannot start worker thread %u: %s", w->a.index,
                          strerror(rc));
    w->started = 1;
    return BENCH_OK;
}

bench_status worker_join(worker *w, bench_err *err)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
    if (w->fatal && err)
        *err = w->fatal_err;
    return w->fatal;
}

uint64_t worker_progress_done(const worker *w)
{
    return atomic_load_explicit(&w->done, memory_order_relaxed);
}

int worker_finished(const worker *w)
{
    return atomic_load_explicit(&w->finished, memory_order_acquire);
}

const worker_self *worker_self_stats(const worker *w)
{
    return &w->self;
}

uint64_t worker_progress_tokens(const worker *w)
{
    return atomic_load_explicit(&w->tokens, memory_order_relaxed);
}

void worker_drain(worker *w, worker_batch *b)
{
    pthread_mutex_lock(&w->lock);
    *b = (worker_batch){w->rows, w->nrows, w->chunks, w->nchunks, w->errors, w->nerrors};
    w->rows = NULL;
    w->chunks = NULL;
    w->errors = NULL;
    w->nrows = w->caprows = w->nchunks = w->capchunks = w->nerrors = w->caperrors = 0;
    pthread_mutex_unlock(&w->lock);
}

void worker_batch_free(worker_batch *b)
{
    free(b->rows);
    free(b->chunks);
    free(b->errors);
    memset(b, 0, sizeof *b);
}

void worker_destroy(worker *w)
{
    if (!w)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    if (w->slots) {
        for (int i = 0; i < w->a.slots; i++) {
            if (w->slots[i].ready && w->slots[i].busy && w->multi && w->slots[i].easy)
                curl_multi_remove_handle(w->multi, w->slots[i].easy);
            slot_free(&w->slots[i]);
        }
    }
    if (w->multi)
        curl_multi_cleanup(w->multi);
    if (w->epfd >= 0)
        close(w->epfd);
    rxring_destroy(w->ring); /* after the sockets: their receives end with it */
    free(w->slots);
    free(w->free_slots);
    free(w->rxbuf);
    free(w->rows);
    free(w->chunks);
    free(w->errors);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
