/* Unit tests: OpenAI-compatible event payloads (synthetic and from the real
 * llama.cpp transcripts), error bodies and request bodies. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "dynbuf.h"
#include "fileio.h"
#include "oai.h"
#include "oai_fast.h"
#include "sse.h"

/* Parse a payload from an exactly-sized heap copy (no NUL after it), so
 * the sanitizer build catches any read past len. */
static bench_status parse(const char *s, oai_event *ev, dynbuf *text, bench_err *e)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    memcpy(copy, s, n);
    bench_status st = oai_parse_event(copy, n, ev, text, e);
    free(copy);
    return st;
}

/* The data of the index-th "data: " line of a transcript (copy, caller
 * frees); index -1 = the last one. */
static char *sample_event(const char *name, int index)
{
    size_t n;
    char *s = cutest_load_sample(name, &n);
    char *found = NULL;
    int k = 0;
    if (!s)
        return NULL;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "data: ", 6) != 0)
            continue;
        if (k++ == index || index < 0) {
            free(found);
            found = strdup(line + 6);
            if (index >= 0)
                break;
        }
    }
    free(s);
    return found;
}

static void test_api_path(void)
{
    CU_ASSERT_STRING_EQUAL(oai_api_path(OAI_CHAT), "/chat/completions");
    CU_ASSERT_STRING_EQUAL(oai_api_path(OAI_COMPLETIONS), "/completions");
}

static void test_role_only_and_empty_content(void)
{
    oai_event ev;
    bench_err e;
    dynbuf text;
    dynbuf_init(&text, 1024);

    /* llama.cpp's first chat event: role with null content */
    char *first = sample_event("sse_llamacpp_sample.txt", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_EQUAL(parse(first, &ev, &text, &e), BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_EQUAL(ev.content_len, 0);
    CU_ASSERT_FALSE(ev.is_done);
    CU_ASSERT_FALSE(ev.is_error);
    CU_ASSERT_FALSE(ev.has_usage);
    CU_ASSERT_EQUAL(ev.prompt_tokens, -1);
    CU_ASSERT_EQUAL(ev.completion_tokens, -1);
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "");
    free(first);

    /* role-only without content at all, and an empty string */
    CU_ASSERT_EQUAL(
        parse("{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}", &ev, &text, &e),
        BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_EQUAL(parse("{\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":null}]}",
                          &ev, &text, &e),
                    BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "");
    CU_ASSERT_EQUAL(text.len, 0);

    /* a content chunk (llama.cpp's second event, content "\"") */
    char *second = sample_event("sse_llamacpp_sample.txt", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL(parse(second, &ev, &text, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.has_content);
    CU_ASSERT_EQUAL(ev.content_len, 1);
    CU_ASSERT_STRING_EQUAL(text.p, "\"");
    free(second);

    /* role and content together (mock-llm) is content */
    char *mock = sample_event("sse_mockllm_sample.txt", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mock);
    CU_ASSERT_EQUAL(parse(mock, &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.has_content);
    CU_ASSERT_EQUAL(ev.content_len, strlen("Hello there, this is a test of the mock llm server"));
    free(mock);
    dynbuf_free(&text);
}

static void test_finish_and_usage_only(void)
{
    oai_event ev;
    bench_err e;

    /* finish event: empty delta, finish_reason "length" */
    char *fin = sample_event("sse_llamacpp_sample.txt", 13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fin);
    CU_ASSERT_PTR_NOT_NULL(strstr(fin, "\"delta\":{}"));
    CU_ASSERT_EQUAL(parse(fin, &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "length");
    CU_ASSERT_FALSE(ev.has_usage);
    free(fin);

    /* usage-only event: "choices": [], usage and timings */
    char *usage = sample_event("sse_llamacpp_sample.txt", 14);
    CU_ASSERT_PTR_NOT_NULL_FATAL(usage);
    CU_ASSERT_PTR_NOT_NULL(strstr(usage, "\"choices\":[]"));
    CU_ASSERT_EQUAL(parse(usage, &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_TRUE(ev.has_usage);
    CU_ASSERT_EQUAL(ev.prompt_tokens, 50);
    CU_ASSERT_EQUAL(ev.completion_tokens, 12);
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "");
    free(usage);

    /* OpenAI sends "usage": null on every chunk: not a usage object */
    CU_ASSERT_EQUAL(
        parse("{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}", &ev, NULL, &e),
        BENCH_OK);
    CU_ASSERT_FALSE(ev.has_usage);
    CU_ASSERT_TRUE(ev.has_content);
    /* usage with only one count */
    CU_ASSERT_EQUAL(parse("{\"choices\":[],\"usage\":{\"completion_tokens\":3}}", &ev, NULL, &e),
                    BENCH_OK);
    CU_ASSERT_TRUE(ev.has_usage);
    CU_ASSERT_EQUAL(ev.prompt_tokens, -1);
    CU_ASSERT_EQUAL(ev.completion_tokens, 3);
}

/* The whole llama.cpp chat transcript through the SSE parser and oai. */
typedef struct {
    dynbuf text;
    int content_events, done, usage_completion, errors;
    char finish[16];
} stream_state;

static int stream_cb(void *ud, const char *type, const char *data, size_t len)
{
    stream_state *s = ud;
    oai_event ev;
    bench_err e;
    (void)type;
    if (oai_parse_event(data, len, &ev, &s->text, &e) != BENCH_OK) {
        s->errors++;
        return 1;
    }
    s->content_events += ev.has_content;
    s->done += ev.is_done;
    if (ev.has_usage)
        s->usage_completion = ev.completion_tokens;
    if (ev.finish_reason[0])
        snprintf(s->finish, sizeof s->finish, "%s", ev.finish_reason);
    return 0;
}

static void test_llamacpp_chat_stream(void)
{
    size_t n;
    char *s = cutest_load_sample("sse_llamacpp_sample.txt", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    stream_state st = {0};
    dynbuf_init(&st.text, 4096);
    sse_parser *p;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(sse_create(65536, 65536, stream_cb, &st, &p), BENCH_OK);
    CU_ASSERT_EQUAL(sse_feed(p, s, n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(st.errors, 0);
    CU_ASSERT_EQUAL(st.content_events, 12);
    CU_ASSERT_EQUAL(st.done, 1);
    CU_ASSERT_EQUAL(st.usage_completion, 12);
    CU_ASSERT_STRING_EQUAL(st.finish, "length");
    CU_ASSERT_STRING_EQUAL(st.text.p, "\"Here?\" Annab");
    sse_destroy(p);
    dynbuf_free(&st.text);
    free(s);
}

static void test_completions_and_midstream_error(void)
{
    oai_event ev;
    bench_err e;
    dynbuf text;
    dynbuf_init(&text, 1024);

    char *first = sample_event("sse_llamacpp_midstream_error_sample.txt", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_EQUAL(parse(first, &ev, &text, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.has_content);
    CU_ASSERT_EQUAL(ev.content_len, 5);
    CU_ASSERT_STRING_EQUAL(text.p, " rail");
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "");
    CU_ASSERT_FALSE(ev.is_error);
    free(first);

    char *last = sample_event("sse_llamacpp_midstream_error_sample.txt", -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(last);
    CU_ASSERT_EQUAL(parse(last, &ev, &text, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.is_error);
    CU_ASSERT_STRING_EQUAL(ev.error_msg, "The model produced output that does not match the "
                                         "expected Content-only format");
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_FALSE(ev.is_done);
    free(last);

    /* completions finish with usage on the last event */
    CU_ASSERT_EQUAL(parse("{\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"stop\"}],"
                          "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9}}",
                          &ev, &text, &e),
                    BENCH_OK);
    CU_ASSERT_FALSE(ev.has_content);
    CU_ASSERT_STRING_EQUAL(ev.finish_reason, "stop");
    CU_ASSERT_EQUAL(ev.prompt_tokens, 4);
    CU_ASSERT_EQUAL(ev.completion_tokens, 9);

    /* error as a string, and vLLM's {"object":"error"} shape */
    CU_ASSERT_EQUAL(parse("{\"error\":\"boom\"}", &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.is_error);
    CU_ASSERT_STRING_EQUAL(ev.error_msg, "boom");
    CU_ASSERT_EQUAL(parse("{\"object\":\"error\",\"message\":\"bad\",\"code\":400}", &ev, NULL, &e),
                    BENCH_OK);
    CU_ASSERT_TRUE(ev.is_error);
    CU_ASSERT_STRING_EQUAL(ev.error_msg, "bad");
    dynbuf_free(&text);
}

static void test_done_and_not_json(void)
{
    oai_event ev;
    bench_err e;
    CU_ASSERT_EQUAL(parse("[DONE]", &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.is_done);
    CU_ASSERT_EQUAL(parse(" \t[DONE]\r\n", &ev, NULL, &e), BENCH_OK);
    CU_ASSERT_TRUE(ev.is_done);
    CU_ASSERT_FALSE(ev.has_content);

    e.msg[0] = '\0';
    CU_ASSERT_EQUAL(parse("[DONE]x", &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(parse("<html>502 Bad Gateway</html>", &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'<html>502 Bad Gateway</html>'"));
    CU_ASSERT_EQUAL(parse("{\"choices\":[]} trailing", &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(parse("{\"choices\":[", &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(parse("42", &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_EQUAL(parse("", &ev, NULL, &e), BENCH_EPROTO);

    /* a long payload with control bytes: quoted, cut, one printable line */
    char big[400];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[3] = '\x01';
    big[4] = '\n';
    CU_ASSERT_EQUAL(parse(big, &ev, NULL, &e), BENCH_EPROTO);
    CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
    CU_ASSERT_PTR_NULL(strchr(e.msg, '\x01'));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "zzz..zzz"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "...'"));
    CU_ASSERT(strlen(e.msg) < 140);

    /* a payload larger than the internal stack copy */
    char *huge = malloc(10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    int k = snprintf(huge, 10000, "{\"choices\":[{\"text\":\"");
    memset(huge + k, 'a', 9000);
    strcpy(huge + k + 9000, "\"}]}");
    dynbuf text;
    dynbuf_init(&text, 100);
    CU_ASSERT_EQUAL(parse(huge, &ev, &text, &e), BENCH_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "100"));
    dynbuf_free(&text);
    dynbuf_init(&text, 100000);
    CU_ASSERT_EQUAL(parse(huge, &ev, &text, &e), BENCH_OK);
    CU_ASSERT_EQUAL(ev.content_len, 9000);
    CU_ASSERT_EQUAL(text.len, 9000);
    dynbuf_free(&text);
    free(huge);
}

static void test_error_message(void)
{
    char msg[256];
    const char *l400 = "{\"error\":{\"code\":400,\"message\":\"the request exceeds the available "
                       "context size\",\"type\":\"exceed_context_size_error\"}}";
    oai_error_message(l400, strlen(l400), msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "the request exceeds the available context size");
    const char *str = "{\"error\":\"nope\"}";
    oai_error_message(str, strlen(str), msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "nope");
    const char *top = "{\"message\":\"vllm says\"}";
    oai_error_message(top, strlen(top), msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "vllm says");
    const char *typ = "{\"error\":{\"type\":\"not_found_error\"}}";
    oai_error_message(typ, strlen(typ), msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "not_found_error");
    const char *html = "  <html>\r\n<b>502</b>\x7f</html>\n";
    oai_error_message(html, strlen(html), msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "<html>..<b>502</b>.</html>");
    oai_error_message("", 0, msg, sizeof msg);
    CU_ASSERT_STRING_EQUAL(msg, "(empty body)");
    /* truncation to a small buffer stays terminated */
    char tiny[8];
    oai_error_message(l400, strlen(l400), tiny, sizeof tiny);
    CU_ASSERT_STRING_EQUAL(tiny, "the req");
    oai_error_message("0123456789abcdef", 16, tiny, sizeof tiny);
    CU_ASSERT_EQUAL(strlen(tiny), 7);
}

/* Build a request and parse it back (caller deletes the tree). */
static cJSON *build(const oai_request *rq, bench_status *st, bench_err *e)
{
    dynbuf out;
    dynbuf_init(&out, 1 << 20);
    *st = oai_build_request(rq, &out, e);
    cJSON *j = *st == BENCH_OK ? cJSON_Parse(out.p) : NULL;
    if (*st == BENCH_OK)
        CU_ASSERT_PTR_NOT_NULL(j);
    dynbuf_free(&out);
    return j;
}

static oai_request base_request(void)
{
    oai_request rq = {0};
    rq.api = OAI_CHAT;
    rq.model = "tiny";
    rq.prompt = "Say \"hi\"\n";
    rq.max_tokens = 64;
    rq.ignore_eos = 1;
    rq.stream = 1;
    rq.temperature = 0.5;
    rq.seed = 9007199254740993LL; /* 2^53 + 1: not exact as a double */
    return rq;
}

static void test_build_chat(void)
{
    bench_err e;
    bench_status st;
    oai_request rq = base_request();
    cJSON *j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "model")->valuestring, "tiny");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    CU_ASSERT_FATAL(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) == 1);
    cJSON *m0 = cJSON_GetArrayItem(msgs, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(m0, "role")->valuestring, "user");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(m0, "content")->valuestring, "Say \"hi\"\n");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "prompt"));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "max_tokens")->valueint, 64);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    CU_ASSERT_TRUE(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream_options"), "include_usage")));
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "ignore_eos")));
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "temperature")->valuedouble, 0.5, 1e-12);
    CU_ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(j, "seed")));
    cJSON_Delete(j);

    /* the seed is sent digit for digit */
    dynbuf out;
    dynbuf_init(&out, 4096);
    CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.p, "\"seed\":9007199254740993"));
    dynbuf_free(&out);

    /* optional members left out */
    rq.max_tokens = 0;
    rq.ignore_eos = 0;
    rq.stream = 0;
    rq.temperature = -1;
    rq.seed = -1;
    j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(j), 2); /* model, messages */
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "stream_options"));
    cJSON_Delete(j);
}

static void test_build_completions(void)
{
    bench_err e;
    bench_status st;
    oai_request rq = base_request();
    rq.api = OAI_COMPLETIONS;
    rq.temperature = 0;
    rq.seed = 0;
    cJSON *j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "prompt")->valuestring, "Say \"hi\"\n");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "messages"));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "max_tokens")->valueint, 64);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "temperature")->valuedouble, 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "seed")->valueint, 0);
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    cJSON_Delete(j);

    /* messages for /completions: contents joined with '\n' */
    rq.prompt = NULL;
    rq.messages_json =
        "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \"},{\"type\":\"text\","
        "\"text\":\"there\"}]},{\"role\":\"assistant\",\"content\":null}]";
    j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "prompt")->valuestring, "Be brief.\nHi there");
    cJSON_Delete(j);
}

static void test_build_messages_json(void)
{
    bench_err e;
    bench_status st;
    oai_request rq = base_request();
    rq.prompt = NULL;
    const char *msgs =
        "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"U\"}]";
    rq.messages_json = msgs;
    cJSON *j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *want = cJSON_Parse(msgs);
    CU_ASSERT_TRUE(cJSON_Compare(cJSON_GetObjectItem(j, "messages"), want, 1));
    cJSON_Delete(want);
    cJSON_Delete(j);

    /* invalid: not JSON, not an array, an element that is not an object */
    const char *bad[] = {"[{\"role\":", "{\"role\":\"user\"}", "[\"hi\"]", "[] x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rq.messages_json = bad[i];
        dynbuf out;
        dynbuf_init(&out, 4096);
        e.msg[0] = '\0';
        CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_EINPUT);
        CU_ASSERT_EQUAL(out.len, 0);
        CU_ASSERT(strlen(e.msg) > 0);
        dynbuf_free(&out);
    }
    /* neither prompt nor messages */
    rq.messages_json = NULL;
    dynbuf out;
    dynbuf_init(&out, 4096);
    CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_EINPUT);
    dynbuf_free(&out);
}

static void test_build_extra_json(void)
{
    bench_err e;
    bench_status st;
    oai_request rq = base_request();
    rq.extra_json = "{\"top_p\":0.9,\"max_tokens\":5,\"stop\":[\"\\n\"],"
                    "\"stream_options\":{\"continuous_usage_stats\":true},\"ignore_eos\":false}";
    cJSON *j = build(&rq, &st, &e);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "top_p")->valuedouble, 0.9, 1e-12);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "max_tokens")->valueint, 5); /* overridden */
    CU_ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(j, "ignore_eos")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "stop"), 0)->valuestring,
                           "\n");
    cJSON *so = cJSON_GetObjectItem(j, "stream_options");
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(so, "include_usage"))); /* kept */
    CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(so, "continuous_usage_stats")));
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "model")->valuestring, "tiny");
    /* each key exactly once */
    int n_max = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, j) n_max += strcmp(it->string, "max_tokens") == 0;
    CU_ASSERT_EQUAL(n_max, 1);
    cJSON_Delete(j);

    const char *bad[] = {"[1]", "{\"a\":", "\"x\"", "{} {}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rq.extra_json = bad[i];
        dynbuf out;
        dynbuf_init(&out, 4096);
        CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_EINPUT);
        CU_ASSERT_EQUAL(out.len, 0);
        dynbuf_free(&out);
    }
}

static void test_build_caps(void)
{
    bench_err e;
    oai_request rq = base_request();
    dynbuf out;
    dynbuf_init(&out, 20);
    e.msg[0] = '\0';
    CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "20"));
    CU_ASSERT_EQUAL(out.len, 0);
    dynbuf_free(&out);

    /* appends to what is already there */
    dynbuf_init(&out, 4096);
    CU_ASSERT_EQUAL(dynbuf_adds(&out, "X"), BENCH_OK);
    CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_OK);
    CU_ASSERT_EQUAL(out.p[0], 'X');
    CU_ASSERT_EQUAL(out.p[1], '{');
    dynbuf_free(&out);

    /* a non-finite temperature is a configuration error */
    rq.temperature = INFINITY;
    dynbuf_init(&out, 4096);
    CU_ASSERT_EQUAL(oai_build_request(&rq, &out, &e), BENCH_EUSAGE);
    dynbuf_free(&out);
}

/* Content that is not valid UTF-8 is still content, flagged. */
static void test_content_utf8(void)
{
    static const struct {
        const char *content; /* raw bytes inside the JSON string */
        int bad;
    } cases[] = {
        {" river", 0},
        {"caf\xc3\xa9 \xe2\x84\xa2 \xf0\x9f\x98\x80", 0}, /* 2, 3 and 4 bytes */
        {"caf\\u00e9", 0},                                /* an escape, decoded */
        {"\xff river", 1},                                /* never valid */
        {"\xc0\xaf", 1},                                  /* overlong '/' */
        {"\xed\xa0\x80", 1},                              /* a surrogate */
        {"\xe2\x84", 1},                                  /* cut short */
        {"\xf4\x90\x80\x80", 1},                          /* above U+10FFFF */
        {"a\x80", 1},                                     /* lone continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char payload[256];
        snprintf(payload, sizeof payload,
                 "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}", cases[i].content);
        oai_event ev;
        bench_err e;
        CU_ASSERT_EQUAL_FATAL(parse(payload, &ev, NULL, &e), BENCH_OK);
        CU_ASSERT_TRUE(ev.has_content);
        if (ev.content_bad_utf8 != cases[i].bad)
            fprintf(stderr, "case %zu: content_bad_utf8 %d\n", i, ev.content_bad_utf8);
        CU_ASSERT_EQUAL(ev.content_bad_utf8, cases[i].bad);
    }
    /* llama.cpp's transcript, multibyte text throughout, is all valid */
    for (int k = 0;; k++) {
        char *d = sample_event("sse_llamacpp_midstream_error_sample.txt", k);
        if (!d)
            break;
        oai_event ev;
        bench_err e;
        CU_ASSERT_EQUAL(parse(d, &ev, NULL, &e), BENCH_OK);
        CU_ASSERT_EQUAL(ev.content_bad_utf8, 0);
        free(d);
    }
}


/* The fast path must read every payload it takes exactly as cJSON does,
 * and must take the ordinary ones (else the client pays cJSON per chunk).
 * Cases: the real transcripts' events, plus payloads aimed at the places
 * where the two could part: duplicate keys, escapes, numbers, nesting,
 * non-object values where objects are expected, error events. */
static void test_fast_path_agrees(void)
{
    static const char *cases[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\\u0000y\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud83d\\ude00\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud83d\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
        "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\"}}]}",
        "{\"choices\":[{\"delta\":{},\"text\":\"t\"}]}",
        "{\"choices\":[{\"delta\":5,\"text\":\"t\"}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"d\"},\"delta\":{\"content\":\"e\"}}]}",
        "{\"choices\":[{\"text\":\"one\"},{\"text\":\"two\"}],\"choices\":[{\"text\":\"x\"}]}",
        "{\"choices\":[1,null,\"s\",[],{\"text\":\"ok\"}]}",
        "{\"choices\":{\"text\":\"not an array\"}}",
        "{\"choices\":[{\"finish_reason\":\"\"},{\"finish_reason\":\"length\"}]}",
        "{\"choices\":[{\"finish_reason\":\"a_very_long_finish_reason_value\"}]}",
        "{\"choices\":[{\"finish_reason\":\"st\\u006fp\"}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34}}",
        "{\"usage\":{\"prompt_tokens\":12.5,\"completion_tokens\":1e2}}",
        "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":-0}}",
        "{\"usage\":{\"prompt_tokens\":99999999999,\"completion_tokens\":2147483648}}",
        "{\"usage\":{\"prompt_tokens\":2147483647,\"completion_tokens\":0}}",
        "{\"usage\":{\"prompt_tokens\":\"7\",\"completion_tokens\":null}}",
        "{\"usage\":{},\"usage\":{\"prompt_tokens\":1}}",
        "{\"usage\":null}",
        "{\"usage\":{\"prompt_tokens\":01}}",
        "{\"error\":{\"message\":\"boom\"}}",
        "{\"error\":null,\"choices\":[{\"text\":\"t\"}]}",
        "{\"object\":\"error\",\"message\":\"old vllm\"}",
        "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"text\":\"t\"}]}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"a\":tru}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":1}x",
        "{\"a\":1} ",
        "{\"a\":\x01 1}",
        "{\"a\":\"raw\ttab\"}",
        "{\"choices\":[{\"text\":\"\xc3\x28\"}]}",
        "{\"choices\":[{\"text\":\"caf\xc3\xa9\"}]}",
        "{\"x\":-1.5e-3,\"y\":[true,false,null],\"z\":{}}",
        "{\"x\":-}",
        "{\"x\":1.}",
        "{\"x\":.5}",
        "{}",
        "{",
        "[1]",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!oai_fast_agrees(cases[i], strlen(cases[i]), 1 << 20))
            fprintf(stderr, "fast path disagrees on case %zu: %s\n", i, cases[i]);
        CU_ASSERT_TRUE(oai_fast_agrees(cases[i], strlen(cases[i]), 1 << 20));
        CU_ASSERT_TRUE(oai_fast_agrees(cases[i], strlen(cases[i]), 2)); /* the cap */
    }
    static const char *samples[] = {"sse_llamacpp_sample.txt", "sse_mockllm_sample.txt",
                                    "sse_llamacpp_midstream_error_sample.txt"};
    int taken = 0, content = 0;
    for (size_t f = 0; f < sizeof samples / sizeof *samples; f++) {
        for (int k = 0;; k++) {
            char *d = sample_event(samples[f], k);
            if (!d)
                break;
            size_t n = strlen(d);
            CU_ASSERT_TRUE(oai_fast_agrees(d, n, 1 << 20));
            oai_event ev;
            bench_status st;
            if (d[0] == '{' && !strstr(d, "\"error\"")) {
                taken += oai_fast_event(d, n, &ev, NULL, NULL, &st);
                content++;
            }
            free(d);
        }
    }
    /* every ordinary event of the real servers takes the fast path */
    CU_ASSERT(content > 20);
    CU_ASSERT_EQUAL(taken, content);
}

static CU_TestInfo tests[] = {
    {"api paths", test_api_path},
    {"role-only / null / empty content is not content", test_role_only_and_empty_content},
    {"finish event and usage-only event", test_finish_and_usage_only},
    {"llama.cpp chat transcript end to end", test_llamacpp_chat_stream},
    {"completions text and mid-stream error", test_completions_and_midstream_error},
    {"[DONE] and non-JSON payloads", test_done_and_not_json},
    {"content that is not valid UTF-8 is flagged", test_content_utf8},
    {"fast path reads payloads as cJSON does", test_fast_path_agrees},
    {"error message of HTTP bodies", test_error_message},
    {"build chat request", test_build_chat},
    {"build completions request", test_build_completions},
    {"build with messages_json", test_build_messages_json},
    {"build with extra_json merge", test_build_extra_json},
    {"build caps and bad values", test_build_caps},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("oai", tests);
}
