/* Integration tests: the simulated endpoint playing a model in evaluations
 * (bench serve --simulate MODEL --data-dir DIR; docs/SIMULATOR.md). The
 * simulator runs as a child process (simproc, the built bench) and is
 * driven over loopback HTTP with libcurl; prompts are built with the same
 * loaders and prompt builders the evaluators use. */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cutest.h"
#include "dynbuf.h"
#include "humaneval.h"
#include "mmlu.h"
#include "mtbench.h"
#include "simeval.h"
#include "simproc.h"

/* Start the simulator playing model from the data directory, at quality
 * (a --sim-quality spec, or NULL for the catalog's figures), fast. */
static simproc *start_eval_sim(const char *model, const char *quality, int with_data)
{
    simproc *p = NULL;
    bench_err e = {""};
    const char *args[12];
    int n = 0;
    args[n++] = "--slowdown";
    args[n++] = "0.02";
    args[n++] = "--seed";
    args[n++] = "3";
    if (with_data) {
        args[n++] = "--data-dir";
        args[n++] = cutest_data_dir();
    }
    if (quality) {
        args[n++] = "--sim-quality";
        args[n++] = quality;
    }
    args[n] = NULL;
    simproc_set_exe(cutest_bench_exe());
    if (simproc_start(model, args, &p, &e)) {
        fprintf(stderr, "simproc_start: %s\n", e.msg);
        return NULL;
    }
    return p;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    return dynbuf_add(arg, p, sz * n) ? 0 : sz * n;
}

/* POST body (a cJSON object, consumed) to base + path; the response body
 * (caller frees), NULL unless the status is 200. */
static char *post(CURL *h, const simproc *p, const char *path, cJSON *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", simproc_url(p), path);
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    dynbuf out;
    dynbuf_init(&out, (size_t)16 << 20);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    cJSON_free(json);
    CU_ASSERT_EQUAL(rc, CURLE_OK);
    CU_ASSERT_EQUAL(status, 200);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "POST %s: curl %d, HTTP %ld: %s\n", path, (int)rc, status,
                out.p ? out.p : "");
        dynbuf_free(&out);
        return NULL;
    }
    return dynbuf_steal(&out);
}

static cJSON *completions_body(const char *prompt, int max_tokens)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "model", "mistral-7b");
    cJSON_AddStringToObject(b, "prompt", prompt);
    cJSON_AddNumberToObject(b, "max_tokens", max_tokens);
    cJSON_AddNumberToObject(b, "temperature", 0);
    return b;
}

static cJSON *chat_body(const char *system, const char *user, int max_tokens)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "model", "mistral-7b");
    cJSON *msgs = cJSON_AddArrayToObject(b, "messages");
    if (system) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", system);
        cJSON_AddItemToArray(msgs, m);
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", user);
    cJSON_AddItemToArray(msgs, m);
    cJSON_AddNumberToObject(b, "max_tokens", max_tokens);
    cJSON_AddNumberToObject(b, "temperature", 0);
    return b;
}

/* A non-streaming response's choices[0] text (chat: message.content),
 * copied; *finish (may be NULL) its finish_reason, *tokens (may be NULL)
 * usage.completion_tokens. NULL on a malformed body. */
static char *reply_text(const char *body, int chat, char *finish, size_t finishsz, int *tokens)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    const cJSON *t = chat ? cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "message"), "content")
                          : cJSON_GetObjectItem(c0, "text");
    char *out = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    const cJSON *fr = cJSON_GetObjectItem(c0, "finish_reason");
    if (finish)
        snprintf(finish, finishsz, "%s", cJSON_IsString(fr) ? fr->valuestring : "");
    if (tokens) {
        const cJSON *ct = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "completion_tokens");
        *tokens = cJSON_IsNumber(ct) ? ct->valueint : -1;
    }
    cJSON_Delete(j);
    return out;
}

/* A streamed response: the content events' texts concatenated, their
 * number, the finish reason and the usage count. */
typedef struct {
    dynbuf text;
    int pieces, usage, empty_pieces, done;
    char finish[32];
    cJSON *first; /* the first content event's choices[0] (owned) */
} streamed;

static void parse_stream(const char *body, int chat, streamed *s)
{
    memset(s, 0, sizeof *s);
    dynbuf_init(&s->text, (size_t)16 << 20);
    s->usage = -1;
    for (const char *p = body ? body : ""; *p;) {
        const char *sep = strstr(p, "\n\n");
        if (!sep)
            break;
        CU_ASSERT(strncmp(p, "data: ", 6) == 0);
        char *data = strndup(p + 6, (size_t)(sep - p) - 6);
        p = sep + 2;
        if (strcmp(data, "[DONE]") == 0) {
            s->done = 1;
            free(data);
            continue;
        }
        cJSON *j = cJSON_Parse(data);
        free(data);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        const cJSON *u = cJSON_GetObjectItem(j, "usage");
        if (u)
            s->usage = cJSON_GetObjectItem(u, "completion_tokens")->valueint;
        cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const cJSON *fr = cJSON_GetObjectItem(c0, "finish_reason");
        if (cJSON_IsString(fr))
            snprintf(s->finish, sizeof s->finish, "%s", fr->valuestring);
        const cJSON *t = chat ? cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "delta"), "content")
                              : cJSON_GetObjectItem(c0, "text");
        int is_piece = cJSON_IsString(t) && !cJSON_IsString(fr) &&
                       !(chat && cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "delta"), "role"));
        if (is_piece) {
            dynbuf_adds(&s->text, t->valuestring);
            s->empty_pieces += t->valuestring[0] == '\0';
            if (s->pieces++ == 0)
                s->first = cJSON_Duplicate(c0, 1);
        }
        cJSON_Delete(j);
    }
}

static void streamed_free(streamed *s)
{
    dynbuf_free(&s->text);
    cJSON_Delete(s->first);
}

static void set_stream(cJSON *b)
{
    cJSON_AddBoolToObject(b, "stream", 1);
    cJSON *so = cJSON_AddObjectToObject(b, "stream_options");
    cJSON_AddBoolToObject(so, "include_usage", 1);
}

/* ------------------------------------------------------------------------ */

static mmlu_set *g_test, *g_val;
static humaneval_problem *g_he;
static size_t g_nhe;
static mtbench_set *g_mt;

static int load_data(void)
{
    bench_err e = {""};
    if (mmlu_load(cutest_data_dir(), "test", &g_test, &e) ||
        mmlu_load(cutest_data_dir(), "val", &g_val, &e) ||
        humaneval_load(cutest_data_dir(), &g_he, &g_nhe, &e) ||
        mtbench_load(cutest_data_dir(), &g_mt, &e)) {
        fprintf(stderr, "test_sim_eval: cannot load the evaluation data: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static char *five_shot(const mmlu_subject *s, const mmlu_row *item)
{
    dynbuf b;
    bench_err e;
    dynbuf_init(&b, (size_t)1 << 20);
    CU_ASSERT_EQUAL(mmlu_prompt(s, item, 5, &b, &e), BENCH_OK);
    return dynbuf_steal(&b);
}

/* The letter a completions logprobs object ranks first, via the
 * evaluator's own picker; *n gets the number of top entries. */
static char completions_pick(const cJSON *logprobs, int *n)
{
    const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(logprobs, "top_logprobs"), 0);
    const char *toks[32];
    double lps[32];
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, top)
    {
        if (k < 32) {
            toks[k] = e->string;
            lps[k++] = e->valuedouble;
        }
    }
    *n = (int)k;
    return mmlu_pick_logprob(toks, lps, k);
}

static char chat_pick(const cJSON *logprobs, int *n)
{
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(logprobs, "content"), 0);
    const cJSON *top = cJSON_GetObjectItem(c0, "top_logprobs");
    const char *toks[32];
    double lps[32];
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, top)
    {
        if (k < 32) {
            toks[k] = cJSON_GetObjectItem(e, "token")->valuestring;
            lps[k++] = cJSON_GetObjectItem(e, "logprob")->valuedouble;
        }
    }
    *n = (int)k;
    return mmlu_pick_logprob(toks, lps, k);
}

/* abstract_algebra test item 1 (answer B) at mmlu=100: the letter, with
 * logprobs ranking it first, streamed and not, completions and chat; 0-shot
 * chain of thought too; a spread of test and val items all right. */
static void test_mmlu_right(void)
{
    simproc *p = start_eval_sim("mistral-7b", "mmlu=100,humaneval=0,mtbench=7.5", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    const mmlu_subject *aa = &g_test->subjects[0];
    CU_ASSERT_STRING_EQUAL(aa->name, "abstract_algebra");
    CU_ASSERT_EQUAL(aa->items[0].answer, 'B');
    char *prompt = five_shot(aa, &aa->items[0]);

    /* completions, logprobs 5: " B", 4 letters + 1 more token, B on top */
    cJSON *b = completions_body(prompt, 1);
    cJSON_AddNumberToObject(b, "logprobs", 5);
    char *body = post(h, p, "/completions", b);
    cJSON *j = cJSON_Parse(body ? body : "");
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "text")->valuestring, " B");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
    const cJSON *lp = cJSON_GetObjectItem(c0, "logprobs");
    int n = 0;
    CU_ASSERT_EQUAL(completions_pick(lp, &n), 'B');
    CU_ASSERT_EQUAL(n, 5);
    const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "top_logprobs"), 0);
    const char *letters[4] = {" A", " B", " C", " D"};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(top, letters[i])));
        if (i != 1)
            CU_ASSERT(cJSON_GetObjectItem(top, letters[i])->valuedouble <
                      cJSON_GetObjectItem(top, " B")->valuedouble);
    }
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "tokens"), 0)->valuestring,
                           " B");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(lp, "token_logprobs")), 1);
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "text_offset"), 0)->valueint, 0);
    cJSON_Delete(j);
    free(body);

    /* the same, streamed: the one content chunk carries the logprobs */
    b = completions_body(prompt, 1);
    cJSON_AddNumberToObject(b, "logprobs", 4);
    set_stream(b);
    body = post(h, p, "/completions", b);
    streamed s;
    parse_stream(body, 0, &s);
    CU_ASSERT_EQUAL(s.pieces, 1);
    CU_ASSERT_EQUAL(s.usage, 1);
    CU_ASSERT_STRING_EQUAL(s.text.p, " B");
    CU_ASSERT(s.done);
    CU_ASSERT_EQUAL(completions_pick(cJSON_GetObjectItem(s.first, "logprobs"), &n), 'B');
    CU_ASSERT_EQUAL(n, 4);
    streamed_free(&s);
    free(body);

    /* chat, logprobs with top_logprobs 4: "B" */
    b = chat_body(NULL, prompt, 1);
    cJSON_AddBoolToObject(b, "logprobs", 1);
    cJSON_AddNumberToObject(b, "top_logprobs", 4);
    body = post(h, p, "/chat/completions", b);
    j = cJSON_Parse(body ? body : "");
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    CU_ASSERT_STRING_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "message"), "content")->valuestring, "B");
    lp = cJSON_GetObjectItem(c0, "logprobs");
    CU_ASSERT_EQUAL(chat_pick(lp, &n), 'B');
    CU_ASSERT_EQUAL(n, 4);
    const cJSON *tok0 = cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "content"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(tok0, "token")->valuestring, "B");
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(tok0, "bytes"), 0)->valueint, 66);
    cJSON_Delete(j);
    free(body);

    /* chat streamed, 8 top logprobs: 4 letters and 4 filler tokens */
    b = chat_body("You are a helpful assistant.", prompt, 5);
    cJSON_AddBoolToObject(b, "logprobs", 1);
    cJSON_AddNumberToObject(b, "top_logprobs", 8);
    set_stream(b);
    body = post(h, p, "/chat/completions", b);
    parse_stream(body, 1, &s);
    CU_ASSERT_STRING_EQUAL(s.text.p, "B");
    CU_ASSERT_STRING_EQUAL(s.finish, "stop");
    CU_ASSERT_EQUAL(chat_pick(cJSON_GetObjectItem(s.first, "logprobs"), &n), 'B');
    CU_ASSERT_EQUAL(n, 8);
    streamed_free(&s);
    free(body);
    free(prompt);

    /* 0-shot chain of thought, chat */
    dynbuf cot;
    bench_err e;
    dynbuf_init(&cot, 1 << 20);
    CU_ASSERT_EQUAL(mmlu_prompt_cot(&aa->items[0], &cot, &e), BENCH_OK);
    body = post(h, p, "/chat/completions", chat_body(NULL, cot.p, 512));
    char *text = reply_text(body, 1, NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strncmp(text, "[simulated]", 11) == 0);
    CU_ASSERT_EQUAL(mmlu_extract_cot(text, strlen(text)), 'B');
    free(text);
    free(body);
    dynbuf_free(&cot);

    /* a spread of subjects, test and val: all right at mmlu=100 */
    int right = 0, asked = 0;
    for (int split = 0; split < 2; split++) {
        const mmlu_set *set = split ? g_val : g_test;
        for (size_t k = 0; k < set->nsubjects; k += 4) {
            const mmlu_subject *sub = &set->subjects[k];
            const mmlu_row *item = &sub->items[sub->nitems / 2];
            prompt = five_shot(sub, item);
            body = post(h, p, "/completions", completions_body(prompt, 1));
            text = reply_text(body, 0, NULL, 0, NULL);
            asked++;
            right += text && mmlu_extract_letter(text, strlen(text)) == item->answer;
            free(text);
            free(body);
            free(prompt);
        }
    }
    CU_ASSERT_EQUAL(right, asked);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* At mmlu=0 never the right letter, always a letter; an unknown item gets
 * a letter too. */
static void test_mmlu_wrong(void)
{
    simproc *p = start_eval_sim("mistral-7b", "mmlu=0", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    int wrong = 0, letters = 0, asked = 0;
    for (size_t k = 0; k < g_test->nsubjects; k += 3) {
        const mmlu_subject *sub = &g_test->subjects[k];
        const mmlu_row *item = &sub->items[k % sub->nitems];
        char *prompt = five_shot(sub, item);
        char *body = post(h, p, "/chat/completions", chat_body(NULL, prompt, 1));
        char *text = reply_text(body, 1, NULL, 0, NULL);
        char c = text ? mmlu_extract_letter(text, strlen(text)) : 0;
        asked++;
        letters += c != 0;
        wrong += c != 0 && c != item->answer;
        free(text);
        free(body);
        free(prompt);
    }
    CU_ASSERT_EQUAL(letters, asked);
    CU_ASSERT_EQUAL(wrong, asked);
    const char *unknown = "The following are multiple choice questions (with answers) about "
                          "abstract algebra.\n\nWhat is two plus two?\nA. 1\nB. 2\nC. 3\nD. "
                          "4\nAnswer:";
    char *body = post(h, p, "/completions", completions_body(unknown, 1));
    char *text = reply_text(body, 0, NULL, 0, NULL);
    CU_ASSERT(text && strlen(text) == 2 && text[0] == ' ' && text[1] >= 'A' && text[1] <= 'D');
    free(text);
    free(body);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* The exact reply a streamed or plain request must reassemble to. */
static char *he_chat_expected(const humaneval_problem *hp, const char *body)
{
    dynbuf b;
    dynbuf_init(&b, 1 << 20);
    dynbuf_adds(&b, "```python\n");
    dynbuf_adds(&b, hp->prompt);
    dynbuf_adds(&b, body);
    dynbuf_adds(&b, "```\n");
    return dynbuf_steal(&b);
}

/* HumanEval at humaneval=100: canonical solutions, completions and chat
 * (a fenced full function the evaluator's extraction recognises), pieces
 * that reassemble exactly, streamed and not; at 0, the wrong body. */
static void test_humaneval(void)
{
    simproc *p = start_eval_sim("mistral-7b", "humaneval=100", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    for (size_t k = 0; k < g_nhe; k += 9) {
        const humaneval_problem *hp = &g_he[k];
        /* completions, plain and streamed */
        char *body = post(h, p, "/completions", completions_body(hp->prompt, 2000));
        char finish[32];
        int tokens = 0;
        char *text = reply_text(body, 0, finish, sizeof finish, &tokens);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_STRING_EQUAL(text, hp->canonical_solution);
        CU_ASSERT_STRING_EQUAL(finish, "stop");
        free(text);
        free(body);
        cJSON *b = completions_body(hp->prompt, 2000);
        set_stream(b);
        body = post(h, p, "/completions", b);
        streamed s;
        parse_stream(body, 0, &s);
        CU_ASSERT_STRING_EQUAL(s.text.p ? s.text.p : "", hp->canonical_solution);
        CU_ASSERT_EQUAL(s.pieces, tokens);
        CU_ASSERT_EQUAL(s.usage, tokens);
        CU_ASSERT_EQUAL(s.empty_pieces, 0);
        CU_ASSERT(s.pieces > 1);
        streamed_free(&s);
        free(body);

        /* chat: a fenced full function */
        dynbuf cp;
        bench_err e;
        dynbuf_init(&cp, 1 << 20);
        CU_ASSERT_EQUAL(humaneval_chat_prompt(hp, &cp, &e), BENCH_OK);
        char *want = he_chat_expected(hp, hp->canonical_solution);
        body = post(h, p, "/chat/completions", chat_body(NULL, cp.p, 2000));
        text = reply_text(body, 1, NULL, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_STRING_EQUAL(text, want);
        char *completion = NULL;
        int full = 0;
        CU_ASSERT_EQUAL(humaneval_extract(hp, text, strlen(text), &completion, &full, &e),
                        BENCH_OK);
        CU_ASSERT_EQUAL(full, 1);
        CU_ASSERT_PTR_NOT_NULL(completion && strstr(completion, hp->canonical_solution));
        free(completion);
        free(text);
        free(body);
        b = chat_body(NULL, cp.p, 2000);
        set_stream(b);
        body = post(h, p, "/chat/completions", b);
        parse_stream(body, 1, &s);
        CU_ASSERT_STRING_EQUAL(s.text.p ? s.text.p : "", want);
        CU_ASSERT_EQUAL(s.usage, s.pieces);
        CU_ASSERT_EQUAL(s.empty_pieces, 0);
        streamed_free(&s);
        free(body);
        free(want);
        dynbuf_free(&cp);
    }
    curl_easy_cleanup(h);
    cutest_sim_stop(p);

    p = start_eval_sim("mistral-7b", "humaneval=0", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    h = curl_easy_init();
    const humaneval_problem *hp = &g_he[3];
    char *body = post(h, p, "/completions", completions_body(hp->prompt, 2000));
    char *text = reply_text(body, 0, NULL, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text, "    # simulated: wrong answer\n    return None\n");
    free(text);
    free(body);
    dynbuf cp;
    bench_err e;
    dynbuf_init(&cp, 1 << 20);
    CU_ASSERT_EQUAL(humaneval_chat_prompt(hp, &cp, &e), BENCH_OK);
    body = post(h, p, "/chat/completions", chat_body(NULL, cp.p, 2000));
    text = reply_text(body, 1, NULL, 0, NULL);
    char *want = he_chat_expected(hp, "    # simulated: wrong answer\n    return None\n");
    CU_ASSERT_STRING_EQUAL(text ? text : "", want);
    free(want);
    free(text);
    free(body);
    dynbuf_free(&cp);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* Stop sequences and max_tokens on a scripted reply, streamed and not. */
static void test_stop_and_max_tokens(void)
{
    simproc *p = start_eval_sim("mistral-7b", "humaneval=100", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    const humaneval_problem *hp = &g_he[0];
    const char *sol = hp->canonical_solution;
    const char *ret = strstr(sol, "return");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ret);
    for (int streaming = 0; streaming < 2; streaming++) {
        /* stop: an array, the earliest occurrence of any wins */
        cJSON *b = completions_body(hp->prompt, 2000);
        cJSON *stop = cJSON_AddArrayToObject(b, "stop");
        cJSON_AddItemToArray(stop, cJSON_CreateString("no such text"));
        cJSON_AddItemToArray(stop, cJSON_CreateString("return"));
        if (streaming)
            set_stream(b);
        char *body = post(h, p, "/completions", b);
        char finish[32] = "";
        char *text = NULL;
        streamed s;
        memset(&s, 0, sizeof s);
        if (streaming) {
            parse_stream(body, 0, &s);
            text = strdup(s.text.p ? s.text.p : "");
            snprintf(finish, sizeof finish, "%s", s.finish);
            streamed_free(&s);
        } else {
            text = reply_text(body, 0, finish, sizeof finish, NULL);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_EQUAL(strlen(text), (size_t)(ret - sol));
        CU_ASSERT(strncmp(text, sol, (size_t)(ret - sol)) == 0);
        CU_ASSERT_STRING_EQUAL(finish, "stop");
        free(text);
        free(body);

        /* a string stop */
        b = completions_body(hp->prompt, 2000);
        cJSON_AddStringToObject(b, "stop", "\n");
        body = post(h, p, "/completions", b);
        text = reply_text(body, 0, finish, sizeof finish, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_EQUAL(strlen(text), strcspn(sol, "\n"));
        free(text);
        free(body);

        /* max_tokens 5: the first 5 pieces, finish "length" */
        size_t end = 0, len = strlen(sol);
        for (int i = 0; i < 5; i++)
            end = simeval_piece_end(sol, len, end);
        b = completions_body(hp->prompt, 5);
        if (streaming)
            set_stream(b);
        body = post(h, p, "/completions", b);
        int tokens = -1;
        if (streaming) {
            parse_stream(body, 0, &s);
            text = strdup(s.text.p ? s.text.p : "");
            snprintf(finish, sizeof finish, "%s", s.finish);
            tokens = s.usage;
            CU_ASSERT_EQUAL(s.pieces, 5);
            streamed_free(&s);
        } else {
            text = reply_text(body, 0, finish, sizeof finish, &tokens);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_EQUAL(strlen(text), end);
        CU_ASSERT(strncmp(text, sol, end) == 0);
        CU_ASSERT_STRING_EQUAL(finish, "length");
        CU_ASSERT_EQUAL(tokens, 5);
        free(text);
        free(body);

        /* a stop at the very start: no tokens at all */
        b = completions_body(hp->prompt, 2000);
        cJSON_AddStringToObject(b, "stop", "    ");
        if (streaming)
            set_stream(b);
        body = post(h, p, "/completions", b);
        if (streaming) {
            parse_stream(body, 0, &s);
            CU_ASSERT_EQUAL(s.pieces, 0);
            CU_ASSERT_EQUAL(s.usage, 0);
            CU_ASSERT_STRING_EQUAL(s.finish, "stop");
            CU_ASSERT(s.done);
            streamed_free(&s);
        } else {
            text = reply_text(body, 0, finish, sizeof finish, &tokens);
            CU_ASSERT_STRING_EQUAL(text ? text : "?", "");
            CU_ASSERT_STRING_EQUAL(finish, "stop");
            CU_ASSERT_EQUAL(tokens, 0);
            free(text);
        }
        free(body);
    }
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* Pieces: every byte once and in order, whatever the text. */
static void test_pieces(void)
{
    const char *texts[] = {
        "",
        " B",
        "   \n\t x",
        "def f(a, b):\n    return a**2 + \"\\\\\" != {'k': [1, 2]}  \n\n",
        "caf\xc3\xa9 \xe2\x82\xac"
        "100 ====== ;;;;;; x",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const char *s = texts[t];
        size_t len = strlen(s), pos = 0, pieces = 0;
        while (pos < len) {
            size_t end = simeval_piece_end(s, len, pos);
            CU_ASSERT_FATAL(end > pos && end <= len);
            /* a piece holds at most one run of non-space */
            size_t i = pos;
            while (i < end && strchr(" \t\n", s[i]))
                i++;
            for (; i < end; i++)
                CU_ASSERT(!strchr(" \t\n", s[i]));
            pos = end;
            pieces++;
        }
        CU_ASSERT_EQUAL(pos, len);
        if (t == 1)
            CU_ASSERT_EQUAL(pieces, 1);
    }
    /* symbol runs are cut at 4 bytes; UTF-8 stays within words */
    const char *s = "======";
    CU_ASSERT_EQUAL(simeval_piece_end(s, 6, 0), 4u);
    const char *u = " caf\xc3\xa9!";
    CU_ASSERT_EQUAL(simeval_piece_end(u, strlen(u), 0), 6u);
}

/* Judge prompts (FastChat's, built by the evaluator's own code): a
 * [[rating]] in 1..10 whose mean is the judged model's sim.mtbench (the
 * model named by the answer's marker; else the played model's figure). */
static void test_judge(void)
{
    simproc *p = start_eval_sim("mistral-7b", "mtbench=7.5", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    for (int marked = 1; marked >= 0; marked--) {
        int n = marked ? 400 : 200, bad = 0;
        double sum = 0;
        int seen[11] = {0};
        for (int i = 0; i < n; i++) {
            const mtbench_question *q = &g_mt->q[(size_t)i % g_mt->nq];
            int turn = 1 + (i / (int)g_mt->nq) % 2;
            char a1[128], a2[128];
            snprintf(a1, sizeof a1, "%sriver stone %d",
                     marked ? "[simulated answer by mixtral-8x7b] " : "", i);
            snprintf(a2, sizeof a2, "%snoise signal %d",
                     marked ? "[simulated answer by mixtral-8x7b] " : "", i);
            const char *answers[2] = {a1, a2};
            const char *system = NULL, *pname = NULL;
            dynbuf user;
            bench_err e;
            dynbuf_init(&user, 1 << 20);
            CU_ASSERT_EQUAL_FATAL(
                mtbench_judge_messages(g_mt, q, turn, answers, &system, &user, &pname, &e),
                BENCH_OK);
            char *body = post(h, p, "/chat/completions", chat_body(system, user.p, 2048));
            char *text = reply_text(body, 1, NULL, 0, NULL);
            double r = text ? mtbench_parse_rating(text, strlen(text)) : -1;
            if (!text || strncmp(text, "[simulated judge] ", 18) != 0 || r < 1 || r > 10 ||
                r != floor(r))
                bad++;
            else {
                sum += r;
                seen[(int)r]++;
            }
            free(text);
            free(body);
            dynbuf_free(&user);
        }
        CU_ASSERT_EQUAL(bad, 0);
        double mean = sum / n, want = marked ? 8.30 : 7.5;
        printf("\n  judge, %s: mean rating %.3f over %d (expected %.2f)\n",
               marked ? "mixtral-8x7b's answers" : "unmarked answers", mean, n, want);
        CU_ASSERT(fabs(mean - want) < (marked ? 0.15 : 0.2));
        if (marked)
            CU_ASSERT(seen[7] > 0 && seen[8] > 0 && seen[9] > 0 && seen[10] > 0);
    }
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* Same request at temperature 0: same answer; sampled requests differ and
 * are counted per identical request; a request "seed" selects the draw. */
static void test_reproducible(void)
{
    simproc *p = start_eval_sim("mistral-7b", "mmlu=50", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    const mmlu_subject *sub = &g_test->subjects[7];
    char *prompt = five_shot(sub, &sub->items[2]);
    char first[8] = "";
    int same = 1;
    for (int i = 0; i < 12; i++) {
        char *body = post(h, p, "/completions", completions_body(prompt, 1));
        char *text = reply_text(body, 0, NULL, 0, NULL);
        if (i == 0)
            snprintf(first, sizeof first, "%s", text ? text : "");
        else
            same &= text && strcmp(text, first) == 0;
        free(text);
        free(body);
    }
    CU_ASSERT(same);
    /* sampled: the answers vary over 40 samples (at p = 0.5, all equal has
     * probability ~1e-9 for a given seed; the seed is fixed, so it is
     * deterministic anyway) */
    char sampled[2][40];
    for (int run = 0; run < 2; run++) {
        for (int i = 0; i < 40; i++) {
            cJSON *b = completions_body(prompt, 1);
            cJSON_ReplaceItemInObject(b, "temperature", cJSON_CreateNumber(0.8));
            char *body = post(h, p, "/completions", b);
            char *text = reply_text(body, 0, NULL, 0, NULL);
            sampled[run][i] = text && strlen(text) == 2 ? text[1] : '?';
            free(text);
            free(body);
        }
    }
    int varied = 0;
    for (int i = 1; i < 40; i++)
        varied |= sampled[0][i] != sampled[0][0];
    CU_ASSERT(varied);
    /* the second 40 samples are samples 40..79 of this request: not a replay */
    CU_ASSERT(memcmp(sampled[0], sampled[1], 40) != 0);
    /* a request seed fixes the draw at temperature > 0; seeds 0..39 vary */
    char seeded[40];
    for (int i = 0; i < 40; i++) {
        cJSON *b = completions_body(prompt, 1);
        cJSON_ReplaceItemInObject(b, "temperature", cJSON_CreateNumber(0.8));
        cJSON_AddNumberToObject(b, "seed", i < 5 ? 5 : i);
        char *body = post(h, p, "/completions", b);
        char *text = reply_text(body, 0, NULL, 0, NULL);
        seeded[i] = text && strlen(text) == 2 ? text[1] : '?';
        free(text);
        free(body);
    }
    CU_ASSERT(memcmp(seeded, "?????", 5) != 0);
    for (int i = 1; i < 5; i++)
        CU_ASSERT_EQUAL(seeded[i], seeded[0]);
    varied = 0;
    for (int i = 6; i < 40; i++)
        varied |= seeded[i] != seeded[5];
    CU_ASSERT(varied);
    /* a restarted simulator replays the same sampled sequence */
    curl_easy_cleanup(h);
    cutest_sim_stop(p);

    p = start_eval_sim("mistral-7b", "mmlu=50", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    h = curl_easy_init();
    char replay[40];
    for (int i = 0; i < 40; i++) {
        cJSON *b = completions_body(prompt, 1);
        cJSON_ReplaceItemInObject(b, "temperature", cJSON_CreateNumber(0.8));
        char *body = post(h, p, "/completions", b);
        char *text = reply_text(body, 0, NULL, 0, NULL);
        replay[i] = text && strlen(text) == 2 ? text[1] : '?';
        free(text);
        free(body);
    }
    CU_ASSERT(memcmp(sampled[0], replay, 40) == 0);
    free(prompt);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* Requests that are not evaluation prompts: filler with the marker, the
 * plain length rules (ignore_eos, max_tokens); and without --data-dir an
 * MMLU prompt is an ordinary request. */
static void test_plain_requests(void)
{
    simproc *p = start_eval_sim("mistral-7b", NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *h = curl_easy_init();
    cJSON *b = chat_body(NULL, "hello there", 7);
    cJSON_AddBoolToObject(b, "ignore_eos", 1);
    set_stream(b);
    char *body = post(h, p, "/chat/completions", b);
    streamed s;
    parse_stream(body, 1, &s);
    CU_ASSERT_EQUAL(s.pieces, 7);
    CU_ASSERT_EQUAL(s.usage, 7);
    CU_ASSERT_STRING_EQUAL(s.finish, "length");
    CU_ASSERT(s.text.p && strncmp(s.text.p, "[simulated answer by mistral-7b] ", 33) == 0);
    CU_ASSERT_STRING_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(s.first, "delta"), "content")->valuestring,
        "[simulated answer by mistral-7b]");
    streamed_free(&s);
    free(body);
    /* filler honours stop sequences too */
    b = chat_body(NULL, "hello there", 7);
    cJSON_AddBoolToObject(b, "ignore_eos", 1);
    cJSON_AddStringToObject(b, "stop", "]");
    set_stream(b);
    body = post(h, p, "/chat/completions", b);
    parse_stream(body, 1, &s);
    CU_ASSERT_EQUAL(s.pieces, 1);
    CU_ASSERT_EQUAL(s.usage, 1);
    CU_ASSERT_STRING_EQUAL(s.finish, "stop");
    CU_ASSERT_STRING_EQUAL(s.text.p ? s.text.p : "", "[simulated answer by mistral-7b");
    streamed_free(&s);
    free(body);
    /* an MT-Bench question: filler, natural length */
    body = post(h, p, "/chat/completions", chat_body(NULL, g_mt->q[0].turns[0], 4096));
    char finish[32];
    int tokens = 0;
    char *text = reply_text(body, 1, finish, sizeof finish, &tokens);
    CU_ASSERT(text && strncmp(text, "[simulated answer by mistral-7b]", 32) == 0);
    CU_ASSERT_STRING_EQUAL(finish, "stop");
    CU_ASSERT(tokens >= 1 && tokens < 4096);
    free(text);
    free(body);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);

    p = start_eval_sim("mistral-7b", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    h = curl_easy_init();
    char *prompt = five_shot(&g_test->subjects[0], &g_test->subjects[0].items[0]);
    b = completions_body(prompt, 3);
    cJSON_AddBoolToObject(b, "ignore_eos", 1);
    cJSON_AddNumberToObject(b, "logprobs", 4);
    body = post(h, p, "/completions", b);
    text = reply_text(body, 0, finish, sizeof finish, &tokens);
    CU_ASSERT_EQUAL(tokens, 3);
    CU_ASSERT(text && text[0] == ' ' && strlen(text) > 2 && !strstr(text, "simulated answer"));
    cJSON *j = cJSON_Parse(body ? body : "");
    CU_ASSERT(cJSON_IsNull(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "logprobs")));
    cJSON_Delete(j);
    free(text);
    free(body);
    free(prompt);
    curl_easy_cleanup(h);
    cutest_sim_stop(p);
}

/* A missing data directory or a bad --sim-quality stops the start, saying why. */
static void test_bad_start(void)
{
    char *err = NULL;
    const char *argv1[] = {
        cutest_bench_exe(),        "serve", "--simulate", "mistral-7b", "--port", "0", "--data-dir",
        "/nonexistent/bench-data", NULL};
    int rc = cutest_spawn(argv1, NULL, &err, 30);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--data-dir /nonexistent/bench-data"));
    free(err);
    err = NULL;
    const char *argv2[] = {cutest_bench_exe(), "serve",    "--simulate",
                           "mistral-7b",       "--port",   "0",
                           "--sim-quality",    "mmlu=120", NULL};
    rc = cutest_spawn(argv2, NULL, &err, 30);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--sim-quality"));
    free(err);
    err = NULL;
    const char *argv3[] = {cutest_bench_exe(), "serve",  "--simulate", "mistral-7b", "--port", "0",
                           "--sim-quality",    "bleu=3", NULL};
    rc = cutest_spawn(argv3, NULL, &err, 30);
    CU_ASSERT_EQUAL(rc, 2);
    free(err);
}

static CU_TestInfo tests[] = {
    {"pieces reassemble every byte", test_pieces},
    {"MMLU at mmlu=100: right letter, logprobs, CoT, test and val", test_mmlu_right},
    {"MMLU at mmlu=0: never the right letter", test_mmlu_wrong},
    {"HumanEval: canonical at 100, wrong body at 0, chat fenced", test_humaneval},
    {"stop sequences and max_tokens on scripted replies", test_stop_and_max_tokens},
    {"judge: [[rating]] mean is the judged model's MT-Bench", test_judge},
    {"temperature 0 repeats, sampling varies and replays", test_reproducible},
    {"plain requests: filler with marker; no --data-dir, no scripts", test_plain_requests},
    {"bad --data-dir or --sim-quality fail the start", test_bad_start},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (load_data()) {
        curl_global_cleanup();
        return 1;
    }
    int rc = cutest_run("sim_eval", tests);
    mmlu_free(g_test);
    mmlu_free(g_val);
    humaneval_free(g_he, g_nhe);
    mtbench_free(g_mt);
    curl_global_cleanup();
    return rc;
}
