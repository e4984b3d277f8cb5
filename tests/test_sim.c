/* Integration tests: the simulated endpoint as a real HTTP server, started
 * as a child process with simproc (running the built bench, BENCH_EXE) and
 * driven with libcurl. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "cutest.h"
#include "dynbuf.h"
#include "catalog.h"
#include "sim.h"
#include "simproc.h"

#define MAX_CB 8192
#define MAX_EVENTS 4096

/* One HTTP exchange: status, headers, body and when each piece arrived. */
typedef struct {
    long status;
    CURLcode rc;
    dynbuf body, headers;
    int64_t cb_t[MAX_CB];  /* receive time of each write callback */
    size_t cb_end[MAX_CB]; /* body length after it */
    size_t ncb;
    size_t abort_after;     /* abort once this many body bytes arrived (0 = never) */
    long num_connects;      /* new connections curl made for this request */
    int64_t t_start, t_end; /* around curl_easy_perform */
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    int64_t t = clock_now_ns();
    if (dynbuf_add(&r->body, p, sz * n))
        return 0;
    if (r->ncb < MAX_CB) {
        r->cb_t[r->ncb] = t;
        r->cb_end[r->ncb++] = r->body.len;
    }
    if (r->abort_after && r->body.len >= r->abort_after)
        return 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    return dynbuf_add(&r->headers, p, sz * n) ? 0 : sz * n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t g_abort_after; /* copied into each new resp */

static resp *resp_new(void)
{
    resp *r = calloc(1, sizeof *r);
    r->abort_after = g_abort_after;
    dynbuf_init(&r->body, (size_t)64 << 20);
    dynbuf_init(&r->headers, 1 << 20);
    return r;
}

static void resp_free(resp *r)
{
    if (!r)
        return;
    dynbuf_free(&r->body);
    dynbuf_free(&r->headers);
    free(r);
}

/* The value of header name (case-insensitive) in r, copied into out; NULL
 * when absent. */
static const char *header(const resp *r, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *line = r->headers.p;
    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = ll - (size_t)(v - line);
            snprintf(out, outsz, "%.*s", (int)vl, v);
            return out;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

/* Perform method on url (POST when body is non-NULL, GET otherwise, or
 * `method`), reusing handle h. */
static resp *http_do(CURL *h, const char *method, const char *url, const char *body,
                     const char *req_id, long timeout_ms)
{
    resp *r = resp_new();
    struct curl_slist *hdrs = NULL;
    char idh[256];
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (req_id) {
        snprintf(idh, sizeof idh, "X-Request-Id: %s", req_id);
        hdrs = curl_slist_append(hdrs, idh);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    r->t_start = clock_now_ns();
    r->rc = curl_easy_perform(h);
    r->t_end = clock_now_ns();
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->num_connects);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_slist_free_all(hdrs);
    return r;
}

/* One SSE event: its data payload (NUL-terminated copy) and the body offset
 * just past it. */
typedef struct {
    char *data;
    size_t end;
} sse_ev;

static size_t parse_events(const resp *r, sse_ev *ev, size_t max)
{
    size_t n = 0;
    const char *b = r->body.p ? r->body.p : "";
    const char *p = b;
    while (*p && n < max) {
        const char *sep = strstr(p, "\n\n");
        if (!sep)
            break;
        CU_ASSERT(strncmp(p, "data: ", 6) == 0);
        ev[n].data = strndup(p + 6, (size_t)(sep - p) - 6);
        ev[n].end = (size_t)(sep + 2 - b);
        n++;
        p = sep + 2;
    }
    return n;
}

static void free_events(sse_ev *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ev[i].data);
}

/* When the byte just before offset end arrived. */
static int64_t arrival_of(const resp *r, size_t end)
{
    for (size_t i = 0; i < r->ncb; i++)
        if (r->cb_end[i] >= end)
            return r->cb_t[i];
    return INT64_MAX;
}

static char *url_of(const simproc *p, const char *path)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s%s", simproc_url(p), path);
    return buf[k];
}

static int is_simulated(const resp *r)
{
    char v[32];
    return header(r, "X-Bench-Simulated", v, sizeof v) && strcmp(v, "1") == 0;
}

/* The error object of an OpenAI-shaped error body, checked for shape. */
static void check_error_body(const resp *r, int status, const char *code)
{
    CU_ASSERT_EQUAL(r->status, status);
    CU_ASSERT(is_simulated(r));
    cJSON *j = cJSON_Parse(r->body.p ? r->body.p : "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    CU_ASSERT(cJSON_IsObject(e));
    CU_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
    CU_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type")));
    CU_ASSERT(cJSON_HasObjectItem(e, "param"));
    CU_ASSERT(cJSON_HasObjectItem(e, "code"));
    if (code) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        CU_ASSERT(cJSON_IsString(c) && strcmp(c->valuestring, code) == 0);
    }
    cJSON_Delete(j);
}

static void test_models(void)
{
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(strncmp(simproc_url(p), "http://127.0.0.1:", 17) == 0);
    CURL *h = curl_easy_init();
    resp *r = http_do(h, "GET", url_of(p, "/models"), NULL, NULL, 0);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT(is_simulated(r));
    cJSON *j = cJSON_Parse(r->body.p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "object")->valuestring, "list");
    const cJSON *data = cJSON_GetObjectItem(j, "data");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(data), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "id")->valuestring,
                           "mistralai/Mistral-7B-Instruct-v0.2");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(data, 1), "id")->valuestring,
                           "mistral-7b");
    CU_ASSERT_STRING_EQUAL(
        cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "owned_by")->valuestring, "bench-sim");
    cJSON_Delete(j);
    resp_free(r);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

static void test_nonstream_chat(void)
{
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    /* 2 + 3 words, 2 messages at 4 tokens of overhead each: 13 prompt tokens */
    resp *r = http_do(h, "POST", url_of(p, "/chat/completions"),
                      "{\"model\":\"mistralai/Mistral-7B-Instruct-v0.2\",\"messages\":["
                      "{\"role\":\"system\",\"content\":\"be brief\"},"
                      "{\"role\":\"user\",\"content\":\"say  something\\nnice\"}],"
                      "\"max_tokens\":12,\"ignore_eos\":true}",
                      NULL, 0);
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT(is_simulated(r));
    cJSON *j = cJSON_Parse(r->body.p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "model")->valuestring,
                           "mistralai/Mistral-7B-Instruct-v0.2");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "system_fingerprint")->valuestring, "bench-sim");
    CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetObjectItem(j, "id")->valuestring, "sim"));
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "completion_tokens")->valueint, 12);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 13);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "total_tokens")->valueint, 25);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "length");
    const cJSON *msg = cJSON_GetObjectItem(c0, "message");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
    const char *text = cJSON_GetObjectItem(msg, "content")->valuestring;
    int words = 0;
    for (const char *c = text; *c; c++)
        words += *c == ' ';
    CU_ASSERT_EQUAL(words, 12); /* one leading space per token */
    cJSON_Delete(j);
    resp_free(r);

    /* Without ignore_eos the natural length (median 200) ends it first. */
    r = http_do(h, "POST", url_of(p, "/completions"),
                "{\"model\":\"mistral-7b\",\"prompt\":\"a b c\",\"max_tokens\":5000}", NULL, 0);
    CU_ASSERT_EQUAL(r->status, 200);
    j = cJSON_Parse(r->body.p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "object")->valuestring, "text_completion");
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
    u = cJSON_GetObjectItem(j, "usage");
    int ct = cJSON_GetObjectItem(u, "completion_tokens")->valueint;
    CU_ASSERT(ct >= 1 && ct < 5000);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 3);
    cJSON_Delete(j);
    resp_free(r);

    /* Completions default to 16 tokens. */
    r = http_do(h, "POST", url_of(p, "/completions"),
                "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"ignore_eos\":true}", NULL, 0);
    j = cJSON_Parse(r->body.p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "completion_tokens")->valueint, 16);
    cJSON_Delete(j);
    resp_free(r);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* Check a complete chat stream: role, n tokens, finish, usage, [DONE]. */
static void check_chat_stream(const resp *r, int n)
{
    static sse_ev ev[MAX_EVENTS];
    char ct[128];
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT(is_simulated(r));
    CU_ASSERT(header(r, "Content-Type", ct, sizeof ct) && strcmp(ct, "text/event-stream") == 0);
    size_t ne = parse_events(r, ev, MAX_EVENTS);
    CU_ASSERT_EQUAL_FATAL(ne, (size_t)n + 4);
    for (size_t i = 0; i + 1 < ne; i++) {
        cJSON *j = cJSON_Parse(ev[i].data);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "object")->valuestring,
                               "chat.completion.chunk");
        const cJSON *choices = cJSON_GetObjectItem(j, "choices");
        const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
        const cJSON *delta = cJSON_GetObjectItem(c0, "delta");
        if (i == 0) {
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(delta, "role")->valuestring, "assistant");
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(delta, "content")->valuestring, "");
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(c0, "finish_reason")));
        } else if (i <= (size_t)n) {
            const char *t = cJSON_GetObjectItem(delta, "content")->valuestring;
            CU_ASSERT(t[0] == ' ' && t[1] && !strchr(t + 1, ' '));
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(c0, "finish_reason")));
        } else if (i == (size_t)n + 1) {
            CU_ASSERT(cJSON_IsObject(delta) && cJSON_GetArraySize(delta) == 0);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "length");
        } else {
            CU_ASSERT(cJSON_IsArray(choices) && cJSON_GetArraySize(choices) == 0);
            const cJSON *u = cJSON_GetObjectItem(j, "usage");
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "completion_tokens")->valueint, n);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 2 + 4);
        }
        cJSON_Delete(j);
    }
    CU_ASSERT_STRING_EQUAL(ev[ne - 1].data, "[DONE]");
    free_events(ev, ne);
}

#define CHAT_STREAM(n)                                                                             \
    "{\"model\":\"mistral-7b\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}],"    \
    "\"max_tokens\":" #n ",\"ignore_eos\":true,\"stream\":true,"                                   \
    "\"stream_options\":{\"include_usage\":true}}"

static void test_stream_chat_keepalive(void)
{
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    for (int i = 0; i < 3; i++) {
        resp *r = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(7), NULL, 0);
        CU_ASSERT_EQUAL(r->rc, CURLE_OK);
        check_chat_stream(r, 7);
        /* the first request opens the connection; the others reuse it */
        CU_ASSERT_EQUAL(r->num_connects, i == 0 ? 1 : 0);
        resp_free(r);
    }
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

static void test_stream_completions(void)
{
    static sse_ev ev[MAX_EVENTS];
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    resp *r =
        http_do(h, "POST", url_of(p, "/completions"),
                "{\"model\":\"mistral-7b\",\"prompt\":\"one two three four\",\"max_tokens\":9,"
                "\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                NULL, 0);
    CU_ASSERT_EQUAL(r->status, 200);
    size_t ne = parse_events(r, ev, MAX_EVENTS);
    CU_ASSERT_EQUAL_FATAL(ne, 9 + 3u);
    for (size_t i = 0; i < 9; i++) {
        cJSON *j = cJSON_Parse(ev[i].data);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "object")->valuestring, "text_completion");
        const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const char *t = cJSON_GetObjectItem(c0, "text")->valuestring;
        CU_ASSERT(t[0] == ' ' && t[1]);
        cJSON_Delete(j);
    }
    cJSON *j = cJSON_Parse(ev[9].data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "length");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "text")->valuestring, "");
    cJSON_Delete(j);
    j = cJSON_Parse(ev[10].data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "completion_tokens")->valueint, 9);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 4);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(u, "total_tokens")->valueint, 13);
    cJSON_Delete(j);
    CU_ASSERT_STRING_EQUAL(ev[11].data, "[DONE]");
    free_events(ev, ne);
    resp_free(r);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

static void test_errors(void)
{
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    const char *chat = url_of(p, "/chat/completions");
    const char *compl = url_of(p, "/completions");
    struct {
        const char *url, *body, *code;
        int status;
    } cases[] = {
        {chat, "{\"model\":\"mistral-7b\",\"messages\":[", NULL, 400},
        {chat, "", NULL, 400},
        {chat, "[1,2]", NULL, 400},
        {chat, "{\"model\":\"mistral-7b\"}", NULL, 400},
        {chat, "{\"model\":\"mistral-7b\",\"messages\":[]}", NULL, 400},
        {compl, "{\"model\":\"mistral-7b\"}", NULL, 400},
        {compl, "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":0}", NULL, 400},
        {compl, "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":2.5}", NULL, 400},
        {compl, "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":\"5\"}", NULL, 400},
        {compl, "{\"prompt\":\"x\"}", NULL, 400},
        {compl, "{\"model\":\"gpt-4\",\"prompt\":\"x\"}", "model_not_found", 400},
        {chat,
         "{\"model\":\"mistral-7b\",\"messages\":[{\"role\":\"user\",\"content\":\"a b\"}],"
         "\"max_tokens\":32763}",
         "context_length_exceeded", 400},
        {compl, "{\"model\":\"mistral-7b\",\"prompt\":\"a b\",\"max_tokens\":32767}",
         "context_length_exceeded", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp *r = http_do(h, "POST", cases[i].url, cases[i].body, NULL, 0);
        check_error_body(r, cases[i].status, cases[i].code);
        resp_free(r);
    }
    /* Exactly at the limit is fine: 2 words + 4 overhead + 32762 = 32768. */
    resp *r = http_do(h, "POST", chat,
                      "{\"model\":\"mistral-7b\",\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"a b\"}],\"max_tokens\":32762,\"stream\":true}",
                      NULL, 0);
    CU_ASSERT_EQUAL(r->status, 200);
    resp_free(r);

    r = http_do(h, "GET", url_of(p, "/nope"), NULL, NULL, 0);
    check_error_body(r, 404, NULL);
    resp_free(r);
    r = http_do(h, "GET", chat, NULL, NULL, 0);
    check_error_body(r, 405, NULL);
    resp_free(r);
    r = http_do(h, "DELETE", url_of(p, "/models"), NULL, NULL, 0);
    check_error_body(r, 405, NULL);
    resp_free(r);

    /* A body over the 16 MiB cap is refused with 413. */
    size_t big = ((size_t)16 << 20) + 100;
    char *body = malloc(big + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    memset(body, ' ', big);
    body[big] = '\0';
    memcpy(body, "{\"model\":\"mistral-7b\",\"prompt\":\"", 32);
    r = http_do(h, "POST", compl, body, NULL, 0);
    CU_ASSERT_EQUAL(r->status, 413);
    resp_free(r);
    free(body);

    /* Still serving after all that. */
    r = http_do(h, "POST", chat, CHAT_STREAM(3), NULL, 0);
    check_chat_stream(r, 3);
    resp_free(r);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

static char *tmp_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("BENCH_TEST_TMP");
    if (!dir || !*dir)
        dir = "/tmp";
    mkdir(dir, 0777);
    snprintf(buf, sizeof buf, "%s/%s.%d", dir, name, (int)getpid());
    return buf;
}

typedef struct {
    char key[64];
    int seq;
    int64_t t;
    char kind[32];
} log_row;

static size_t read_log(const char *path, log_row *rows, size_t max)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL(f);
    if (!f)
        return 0;
    size_t n = 0;
    char line[512];
    while (n < max && fgets(line, sizeof line, f)) {
        long long t;
        if (sscanf(line, "%63[^\t]\t%d\t%lld\t%31s", rows[n].key, &rows[n].seq, &t, rows[n].kind) !=
            4) {
            CU_FAIL("malformed send-log line");
            continue;
        }
        rows[n++].t = t;
    }
    fclose(f);
    return n;
}

static void test_log_sends(void)
{
    static sse_ev ev[MAX_EVENTS];
    static log_row rows[4096];
    char *path = strdup(tmp_path("sim_sends.log"));
    const char *args[] = {"--log-sends", path, "--seed", "3", NULL};
    simproc *p = cutest_sim_start("mistral-7b", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    resp *ra = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(20), "t-a", 0);
    resp *rb = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(5), "t-b", 0);
    resp *rc = http_do(h, "POST", url_of(p, "/completions"),
                       "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":4}", NULL, 0);
    resp *rd = http_do(h, "POST", url_of(p, "/completions"), "{oops", "t-d", 0);
    curl_easy_cleanup(h);
    cutest_sim_stop(p); /* flushes the log */

    size_t nr = read_log(path, rows, 4096);
    /* t-a: 1 role + 20 tokens + finish + usage + done; t-b: 5 + 4; the
     * third (no X-Request-Id, arrival 2) one body; t-d one error body;
     * and each of the four an arrival line. */
    CU_ASSERT_EQUAL(nr, 24 + 9 + 1 + 1 + 4);
    for (size_t i = 1; i < nr; i++)
        CU_ASSERT(rows[i].t >= rows[i - 1].t);

    /* Arrival: exactly one line per request (seq -1), the first of the
     * request's lines, at the kernel's receive time of its first byte: after
     * the client began sending, not after the request's first event (role,
     * or the one body), and on loopback well within a second of it. */
    const char *keys[] = {"t-a", "t-b", "s2", "t-d"};
    const resp *rs[] = {ra, rb, rc, rd};
    for (size_t q = 0; q < 4; q++) {
        int narr = 0, nfirst = 0;
        int64_t arr = -1, first = -1;
        for (size_t i = 0; i < nr; i++) {
            if (strcmp(rows[i].key, keys[q]) != 0)
                continue;
            if (strcmp(rows[i].kind, "arrival") == 0) {
                narr++;
                CU_ASSERT_EQUAL(rows[i].seq, -1);
                CU_ASSERT_EQUAL(nfirst, 0); /* before the request's events */
                arr = rows[i].t;
            } else if (rows[i].seq == 0 && nfirst++ == 0) {
                first = rows[i].t;
            }
        }
        CU_ASSERT_EQUAL(narr, 1);
        CU_ASSERT_EQUAL(nfirst, 1);
        CU_ASSERT(arr >= rs[q]->t_start);
        CU_ASSERT(arr <= first);
        CU_ASSERT(first - arr < 1000000000);
    }

    size_t ne = parse_events(ra, ev, MAX_EVENTS);
    CU_ASSERT_EQUAL(ne, 24u);
    size_t k = 0, nlag = 0;
    int64_t lag[64];
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(rows[i].key, "t-a") != 0 || rows[i].seq < 0)
            continue;
        CU_ASSERT_EQUAL(rows[i].seq, (int)k);
        const char *want = k == 0    ? "role"
                           : k <= 20 ? "token"
                           : k == 21 ? "finish"
                           : k == 22 ? "usage"
                                     : "done";
        CU_ASSERT_STRING_EQUAL(rows[i].kind, want);
        /* Causality: nothing arrives before it was sent, and on loopback
         * it arrives soon after. */
        if (k < ne) {
            int64_t arr = arrival_of(ra, ev[k].end);
            CU_ASSERT(arr >= rows[i].t);
            CU_ASSERT(arr - rows[i].t < 500000000);
            if (k < 64)
                lag[nlag++] = arr - rows[i].t;
        }
        k++;
    }
    CU_ASSERT_EQUAL(k, 24u);
    /* Typically tens of microseconds. Nagle's algorithm against the
     * client's delayed ACK would make it ~40 ms. */
    qsort(lag, nlag, sizeof lag[0], cmp_i64);
    CU_ASSERT(nlag > 0 && lag[nlag / 2] < 5000000);
    int saw_b = 0, saw_c = 0, saw_d = 0;
    for (size_t i = 0; i < nr; i++) {
        if (rows[i].seq < 0)
            continue;
        saw_b += strcmp(rows[i].key, "t-b") == 0;
        if (strcmp(rows[i].key, "s2") == 0) {
            saw_c++;
            CU_ASSERT_STRING_EQUAL(rows[i].kind, "finish");
        }
        if (strcmp(rows[i].key, "t-d") == 0) {
            saw_d++;
            CU_ASSERT_STRING_EQUAL(rows[i].kind, "error");
        }
    }
    CU_ASSERT_EQUAL(saw_b, 9);
    CU_ASSERT_EQUAL(saw_c, 1);
    CU_ASSERT_EQUAL(saw_d, 1);
    free_events(ev, ne);
    resp_free(ra);
    resp_free(rb);
    resp_free(rc);
    resp_free(rd);
    unlink(path);
    free(path);
}

static void test_faults(void)
{
    static sse_ev ev[MAX_EVENTS];
    static log_row rows[4096];
    char *path = strdup(tmp_path("sim_faults.log"));
    const char *args[] = {"--faults",
                          "http500@0,http429@1,midstream_error@2,no_done@3,reset@4,stall@5:0.3,"
                          "http503@7",
                          "--log-sends", path, NULL};
    simproc *p = cutest_sim_start("mistral-7b", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    const char *chat = url_of(p, "/chat/completions");
    char v[64];

    resp *r = http_do(h, "POST", chat, CHAT_STREAM(10), "f0", 0); /* http500@0 */
    check_error_body(r, 500, NULL);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f1", 0); /* http429@1 */
    check_error_body(r, 429, NULL);
    CU_ASSERT(header(r, "Retry-After", v, sizeof v) && strcmp(v, "1") == 0);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f2", 0); /* midstream_error@2 */
    CU_ASSERT_EQUAL(r->status, 200);
    CU_ASSERT_EQUAL(r->rc, CURLE_OK);
    size_t ne = parse_events(r, ev, MAX_EVENTS);
    CU_ASSERT_EQUAL_FATAL(ne, 1 + 5 + 1u); /* role, half the tokens, error */
    CU_ASSERT_PTR_NOT_NULL(strstr(ev[6].data, "\"error\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(ev[6].data, "simulated mid-stream failure"));
    free_events(ev, ne);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f3", 0); /* no_done@3 */
    CU_ASSERT_EQUAL(r->rc, CURLE_OK);
    ne = parse_events(r, ev, MAX_EVENTS);
    CU_ASSERT_EQUAL(ne, 1 + 10 + 2u); /* role, tokens, finish, usage: no [DONE] */
    CU_ASSERT(ne > 0 && strcmp(ev[ne - 1].data, "[DONE]") != 0);
    free_events(ev, ne);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f4", 0); /* reset@4 */
    CU_ASSERT_NOT_EQUAL(r->rc, CURLE_OK);
    ne = parse_events(r, ev, MAX_EVENTS);
    CU_ASSERT(ne <= 6u);
    free_events(ev, ne);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f5", 0); /* stall@5:0.3 */
    check_chat_stream(r, 10);
    CU_ASSERT(r->t_end - r->t_start >= 300000000);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f6", 0); /* no fault */
    check_chat_stream(r, 10);
    CU_ASSERT(r->t_end - r->t_start < 300000000);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f7", 0); /* http503@7 */
    check_error_body(r, 503, NULL);
    resp_free(r);

    r = http_do(h, "POST", chat, CHAT_STREAM(10), "f8", 0);
    check_chat_stream(r, 10);
    resp_free(r);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);

    size_t nr = read_log(path, rows, 4096);
    const char *want[][2] = {{"f0", "fault:http500"},         {"f1", "fault:http429"},
                             {"f2", "fault:midstream_error"}, {"f3", "fault:no_done"},
                             {"f4", "fault:reset"},           {"f5", "fault:stall"},
                             {"f7", "fault:http503"}};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (size_t i = 0; i < nr; i++)
            found += strcmp(rows[i].key, want[w][0]) == 0 && strcmp(rows[i].kind, want[w][1]) == 0;
        CU_ASSERT_EQUAL(found, 1);
    }
    int faults = 0;
    for (size_t i = 0; i < nr; i++)
        faults += strncmp(rows[i].kind, "fault:", 6) == 0;
    CU_ASSERT_EQUAL(faults, 7);
    unlink(path);
    free(path);
}

/* Probabilistic faults: http500=1 fails every request. */
static void test_fault_probability(void)
{
    const char *args[] = {"--faults", "http500=1", NULL};
    simproc *p = cutest_sim_start("mistral-7b", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    for (int i = 0; i < 3; i++) {
        resp *r = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(3), NULL, 0);
        check_error_body(r, 500, NULL);
        resp_free(r);
    }
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

static void test_bad_args(void)
{
    simproc *p = NULL;
    bench_err e = {""};
    simproc_set_exe(cutest_bench_exe());
    const char *bad_faults[] = {"--faults", "bogus=0.5", NULL};
    CU_ASSERT_NOT_EQUAL(simproc_start("mistral-7b", bad_faults, &p, &e), BENCH_OK);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "status 2"));
    CU_ASSERT_NOT_EQUAL(simproc_start("no-such-model", NULL, &p, &e), BENCH_OK);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "status 2"));
}

static int port_of(const char *url)
{
    const char *c = strrchr(url, ':');
    return c ? atoi(c + 1) : -1;
}

static int g_raw_fds[8];
static int g_nraw;

/* A connection to the simulator that sends nothing. */
static int raw_connect_only(const simproc *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port_of(simproc_url(p)));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Send a POST by hand on a socket kept open (and never read) until the
 * end of the program: a request still in flight when the server stops. */
static void raw_request(const simproc *p, const char *body)
{
    int fd = raw_connect_only(p);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /v1/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     strstr(body, "messages") ? "chat/completions" : "completions", strlen(body));
    CU_ASSERT_EQUAL(write(fd, head, (size_t)n), n);
    CU_ASSERT_EQUAL(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    if (g_nraw < 8)
        g_raw_fds[g_nraw++] = fd;
    else
        close(fd);
}

/* Same seed, same text; and the client leaving mid-response (streaming or
 * not) must not disturb the server (ASan builds check it frees cleanly),
 * with the send log's arrival watches (run 2) as without. */
static void test_determinism_and_disconnect(void)
{
    const char *body = "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":30,"
                       "\"ignore_eos\":true}";
    char *texts[3] = {NULL, NULL, NULL};
    char *log = strdup(tmp_path("sim_disconnect.log"));
    for (int run = 0; run < 3; run++) {
        const char *args[] = {"--seed", "77", NULL, NULL, NULL};
        if (run == 2) {
            args[2] = "--log-sends";
            args[3] = log;
        }
        simproc *p = cutest_sim_start("mistral-7b", args);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (run == 2) {
            /* Connections that end, or stay silent, before any request. */
            int fd = raw_connect_only(p);
            close(fd);
            if (g_nraw < 8)
                g_raw_fds[g_nraw++] = raw_connect_only(p);
        }
        CURL *h = curl_easy_init();
        resp *r = http_do(h, "POST", url_of(p, "/completions"), body, NULL, 0);
        CU_ASSERT_EQUAL(r->status, 200);
        texts[run] = strdup(r->body.p ? r->body.p : "");
        resp_free(r);
        if (run >= 1) {
            CURL *h2 = curl_easy_init();
            for (int i = 0; i < 3; i++) {
                /* streaming: hang up after a few events */
                g_abort_after = 2000;
                resp *x =
                    http_do(h2, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(3000), NULL, 0);
                g_abort_after = 0;
                CU_ASSERT_EQUAL(x->rc, CURLE_WRITE_ERROR);
                resp_free(x);
                /* streaming: give up before the first token */
                x = http_do(h2, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(3000), NULL, 5);
                CU_ASSERT_EQUAL(x->rc, CURLE_OPERATION_TIMEDOUT);
                resp_free(x);
                /* non-streaming: give up while it is still generating */
                x = http_do(h2, "POST", url_of(p, "/completions"),
                            "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":3000,"
                            "\"ignore_eos\":true}",
                            NULL, 150);
                CU_ASSERT_EQUAL(x->rc, CURLE_OPERATION_TIMEDOUT);
                resp_free(x);
            }
            curl_easy_cleanup(h2);
            struct timespec ts = {0, 300000000};
            nanosleep(&ts, NULL);
            resp *r2 = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(5), NULL, 0);
            check_chat_stream(r2, 5);
            resp_free(r2);
            /* Shut down with generations in flight (a client that sent a
             * request and never reads): the server must still exit 0. */
            raw_request(p, CHAT_STREAM(30000));
            raw_request(p, "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":30000,"
                           "\"ignore_eos\":true}");
            nanosleep(&ts, NULL);
        }
        curl_easy_cleanup(h);
        cutest_sim_stop(p);
    }
    for (int run = 0; run < 3; run++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(texts[run]);
    /* The bodies differ only in "created"; compare the text. */
    const char *a = strstr(texts[0], "\"text\":");
    for (int run = 1; run < 3; run++) {
        const char *b = strstr(texts[run], "\"text\":");
        CU_ASSERT(a && b && strncmp(a, b, 120) == 0);
    }
    for (int run = 0; run < 3; run++)
        free(texts[run]);
    unlink(log);
    free(log);
}

/* At concurrency 1 the client sees the catalog's TTFT (p50 35 ms). */
static void test_ttft_median(void)
{
    static sse_ev ev[MAX_EVENTS];
    simproc *p = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    enum { N = 40 };
    int64_t ttft[N];
    size_t got = 0;
    for (int i = 0; i < N; i++) {
        resp *r = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(2), NULL, 0);
        size_t ne = parse_events(r, ev, MAX_EVENTS);
        if (ne >= 2)
            ttft[got++] = arrival_of(r, ev[1].end) - r->t_start;
        free_events(ev, ne);
        resp_free(r);
    }
    CU_ASSERT_EQUAL_FATAL(got, (size_t)N);
    qsort(ttft, N, sizeof ttft[0], cmp_i64);
    double med_ms = (ttft[N / 2 - 1] + ttft[N / 2]) / 2e6;
    printf("\n    TTFT median over %d requests: %.1f ms\n", N, med_ms);
    CU_ASSERT(med_ms > 25 && med_ms < 40);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* 1 when something accepts connections on 127.0.0.1:port. */
static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* The child dies with its parent, even when the parent gets SIGKILL. */
static void test_dies_with_parent(void)
{
    int pfd[2];
    CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
    simproc_set_exe(cutest_bench_exe());
    fflush(NULL);
    pid_t mid = fork();
    CU_ASSERT_FATAL(mid >= 0);
    if (mid == 0) {
        /* The intermediary: start the simulator, report its URL, wait. */
        close(pfd[0]);
        simproc *p = NULL;
        bench_err e;
        char line[300];
        int n = simproc_start("mistral-7b", NULL, &p, &e)
                    ? snprintf(line, sizeof line, "ERR %s\n", e.msg)
                    : snprintf(line, sizeof line, "%s\n", simproc_url(p));
        if (write(pfd[1], line, (size_t)n) != n)
            _exit(1);
        for (;;)
            pause();
    }
    close(pfd[1]);
    char buf[300] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(pfd[0], buf + n, sizeof buf - 1 - n)) > 0) {
        n += (size_t)r;
        if (memchr(buf, '\n', n))
            break;
    }
    buf[n] = '\0';
    close(pfd[0]);
    int port = port_of(buf);
    CU_ASSERT(strncmp(buf, "http://127.0.0.1:", 17) == 0);
    CU_ASSERT(port > 0 && port_open(port) == 1);

    kill(mid, SIGKILL);
    int status;
    waitpid(mid, &status, 0);
    int64_t t0 = clock_now_ns();
    int closed = 0;
    while (clock_now_ns() - t0 < 2000000000LL) {
        if (port > 0 && port_open(port) == 0) {
            closed = 1;
            break;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    CU_ASSERT(closed);
}

/* sim_run in-process (in a forked child): ready_fd gets the URL, SIGTERM
 * ends it with BENCH_OK. */
static void test_sim_run_ready_fd(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/suites/models.json", cutest_root());
    catalog *cat = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(catalog_load(path, &cat, &e), BENCH_OK);
    int pfd[2];
    CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        sim_options o = {.model = catalog_find(cat, "llama3-70b"),
                         .host = "127.0.0.1",
                         .port = 0,
                         .seed = 5,
                         .slowdown = 1.0,
                         .ready_fd = pfd[1]};
        bench_status st = sim_run(&o, &e);
        if (st)
            fprintf(stderr, "sim_run: %s\n", e.msg);
        fflush(NULL);
        _exit(st == BENCH_OK ? 0 : 1);
    }
    close(pfd[1]);
    char buf[300] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(pfd[0], buf + n, sizeof buf - 1 - n)) > 0) {
        n += (size_t)r;
        if (memchr(buf, '\n', n))
            break;
    }
    buf[n] = '\0';
    close(pfd[0]);
    CU_ASSERT(strncmp(buf, "http://127.0.0.1:", 17) == 0);
    char *nl = strchr(buf, '\n');
    CU_ASSERT_PTR_NOT_NULL(nl);
    if (nl) {
        *nl = '\0';
        char url[400];
        snprintf(url, sizeof url, "%s/models", buf);
        CURL *h = curl_easy_init();
        resp *rr = http_do(h, "GET", url, NULL, NULL, 0);
        CU_ASSERT_EQUAL(rr->status, 200);
        CU_ASSERT_PTR_NOT_NULL(strstr(rr->body.p ? rr->body.p : "", "llama3-70b"));
        resp_free(rr);
        curl_easy_cleanup(h);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    catalog_destroy(cat);
}

/* The body with every "created":<digits> removed (the only bytes that
 * differ between two runs of the same seed); caller frees. */
static char *without_created(const char *body)
{
    char *out = strdup(body ? body : ""), *w = out;
    for (const char *r = body ? body : ""; *r;) {
        if (strncmp(r, "\"created\":", 10) == 0) {
            r += 10;
            while (*r >= '0' && *r <= '9')
                r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
    return out;
}

/* --zero-delay (docs/SIMULATOR.md): the paced mode's bytes, as fast as the
 * client reads, N events per write (one send-log time per write), a client
 * leaving mid-stream, and the flags it refuses. */
static void test_zero_delay(void)
{
    static log_row rows[4096];
    char *path = strdup(tmp_path("sim_zero_delay.log"));
    char *bodies[2] = {NULL, NULL};
    for (int zd = 0; zd < 2; zd++) {
        const char *paced[] = {"--seed", "9", NULL};
        const char *fast[] = {"--seed", "9",           "--zero-delay", "--events-per-write",
                              "5",      "--log-sends", path,           NULL};
        simproc *p = cutest_sim_start("mistral-7b", zd ? fast : paced);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CURL *h = curl_easy_init();
        resp *r = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(23), "z", 0);
        CU_ASSERT_EQUAL(r->rc, CURLE_OK);
        check_chat_stream(r, 23);
        bodies[zd] = without_created(r->body.p);
        resp_free(r);
        if (zd) {
            /* A client leaving mid-stream, then the server still serves. */
            g_abort_after = 20000;
            r = http_do(h, "POST", url_of(p, "/chat/completions"), CHAT_STREAM(3000), NULL, 0);
            g_abort_after = 0;
            CU_ASSERT_EQUAL(r->rc, CURLE_WRITE_ERROR);
            resp_free(r);
            r = http_do(h, "POST", url_of(p, "/completions"),
                        "{\"model\":\"mistral-7b\",\"prompt\":\"x\",\"max_tokens\":40,"
                        "\"ignore_eos\":true}",
                        NULL, 0);
            CU_ASSERT_EQUAL(r->status, 200);
            CU_ASSERT_PTR_NOT_NULL(r->body.p && strstr(r->body.p, "\"completion_tokens\":40"));
            resp_free(r);
        }
        curl_easy_cleanup(h);
        cutest_sim_stop(p);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(bodies[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bodies[1]);
    CU_ASSERT_STRING_EQUAL(bodies[0], bodies[1]);
    free(bodies[0]);
    free(bodies[1]);

    /* Request z: role (own write), then tokens 1-5, 6-10, 11-15, 16-20 a
     * write each, then tokens 21-23 with finish, usage and [DONE]. */
    size_t nr = read_log(path, rows, 4096), k = 0;
    int64_t batch_t = -1;
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(rows[i].key, "z") != 0 || strcmp(rows[i].kind, "arrival") == 0)
            continue;
        CU_ASSERT_EQUAL(rows[i].seq, (int)k);
        if (k >= 1 && (k - 1) % 5 != 0) {
            CU_ASSERT_EQUAL(rows[i].t, batch_t); /* same write as the one before */
        } else if (k >= 1) {
            CU_ASSERT(rows[i].t >= batch_t);
        }
        batch_t = rows[i].t;
        k++;
    }
    CU_ASSERT_EQUAL(k, 27u);
    unlink(path);
    free(path);

    /* Refused: --events-per-write alone, --zero-delay with faults. */
    simproc *p = NULL;
    bench_err e = {""};
    simproc_set_exe(cutest_bench_exe());
    const char *alone[] = {"--events-per-write", "8", NULL};
    const char *with_faults[] = {"--zero-delay", "--faults", "http500=0.5", NULL};
    const char *too_many[] = {"--zero-delay", "--events-per-write", "5000", NULL};
    const char *const *bad[] = {alone, with_faults, too_many};
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_NOT_EQUAL(simproc_start("mistral-7b", bad[i], &p, &e), BENCH_OK);
        CU_ASSERT_PTR_NULL(p);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "status 2"));
    }
}

/* A connection of our own to the simulator, with a read timeout. */
static int raw_connect(const simproc *p)
{
    int fd = raw_connect_only(p);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* A streaming chat request with X-Request-Id id, into out (NUL-terminated);
 * returns its length. */
static size_t raw_chat(const char *id, char *out, size_t outsz)
{
    const char *body = CHAT_STREAM(3);
    int n = snprintf(out, outsz,
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     id, strlen(body), body);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < outsz);
    return (size_t)n;
}

/* Read from fd until `ends` chunked responses have ended. */
static void raw_read_responses(int fd, int ends)
{
    dynbuf b;
    dynbuf_init(&b, (size_t)1 << 24);
    char buf[65536];
    int seen = 0;
    while (seen < ends) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0 || dynbuf_add(&b, buf, (size_t)n)) {
            CU_FAIL("the response did not come");
            break;
        }
        seen = 0;
        for (const char *q = b.p; (q = strstr(q, "\r\n0\r\n\r\n")) != NULL; q += 7)
            seen++;
    }
    dynbuf_free(&b);
}

/* The send log's arrival line is the kernel's receive time of the
 * request's first byte: with a request sent in two parts 150 ms apart, it
 * is the first part's time (the simulator's own time on reading the
 * request would be after the second), on a connection's first request and
 * on the next one (keep-alive). Pipelined requests still get one arrival
 * line each, never after their first event. */
static void test_log_sends_arrival(void)
{
    static log_row rows[512];
    char *path = strdup(tmp_path("sim_arrival.log"));
    const char *args[] = {"--log-sends", path, NULL};
    simproc *p = cutest_sim_start("mistral-7b", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int fd = raw_connect(p);
    char req[1024], req2[1024];
    int64_t before[2], second[2];
    for (int i = 0; i < 2; i++) {
        size_t n = raw_chat(i ? "k1" : "k0", req, sizeof req);
        before[i] = clock_now_ns();
        CU_ASSERT_EQUAL(write(fd, req, 10), 10);
        struct timespec ts = {0, 150000000};
        nanosleep(&ts, NULL);
        second[i] = clock_now_ns();
        CU_ASSERT_EQUAL(write(fd, req + 10, n - 10), (ssize_t)(n - 10));
        raw_read_responses(fd, 1);
    }
    size_t n = raw_chat("k2", req, sizeof req);
    size_t n2 = raw_chat("k3", req2, sizeof req2);
    CU_ASSERT_FATAL(n + n2 < sizeof req);
    memcpy(req + n, req2, n2 + 1);
    CU_ASSERT_EQUAL(write(fd, req, n + n2), (ssize_t)(n + n2));
    raw_read_responses(fd, 2);
    close(fd);
    cutest_sim_stop(p);

    size_t nr = read_log(path, rows, 512);
    const char *keys[] = {"k0", "k1", "k2", "k3"};
    for (size_t q = 0; q < 4; q++) {
        int narr = 0, nrole = 0;
        int64_t arr = -1, role = -1;
        for (size_t i = 0; i < nr; i++) {
            if (strcmp(rows[i].key, keys[q]) != 0)
                continue;
            if (strcmp(rows[i].kind, "arrival") == 0) {
                narr++;
                CU_ASSERT_EQUAL(rows[i].seq, -1);
                arr = rows[i].t;
            } else if (strcmp(rows[i].kind, "role") == 0) {
                nrole++;
                role = rows[i].t;
            }
        }
        CU_ASSERT_EQUAL(narr, 1);
        CU_ASSERT_EQUAL(nrole, 1);
        CU_ASSERT(arr <= role && role - arr < 1000000000);
        if (q < 2) {
            CU_ASSERT(arr >= before[q]);
            CU_ASSERT(arr < second[q]);
            CU_ASSERT(role >= second[q]);
        }
    }
    unlink(path);
    free(path);
}

static CU_TestInfo tests[] = {
    {"GET /v1/models", test_models},
    {"non-streaming chat and completions", test_nonstream_chat},
    {"streaming chat, keep-alive over 3 requests", test_stream_chat_keepalive},
    {"streaming completions", test_stream_completions},
    {"OpenAI-shaped errors", test_errors},
    {"--log-sends: one line per event, causal times", test_log_sends},
    {"--log-sends: arrival is the kernel's time of the first byte", test_log_sends_arrival},
    {"--faults: scheduled faults", test_faults},
    {"--faults: probabilistic fault", test_fault_probability},
    {"bad arguments fail the start", test_bad_args},
    {"seeded output, client disconnects", test_determinism_and_disconnect},
    {"TTFT median at concurrency 1", test_ttft_median},
    {"the child dies with its SIGKILLed parent", test_dies_with_parent},
    {"sim_run reports on ready_fd, stops on SIGTERM", test_sim_run_ready_fd},
    {"--zero-delay: same bytes, batched writes, refused flags", test_zero_delay},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cutest_run("sim", tests);
    for (int i = 0; i < g_nraw; i++)
        close(g_raw_fds[i]);
    curl_global_cleanup();
    return rc;
}
