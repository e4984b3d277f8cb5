/* Exact prompt sizes through a tokenizer endpoint (harness/tokenize.h,
 * prompt_source_fit in harness/prompt.h, the simulator's POST /tokenize in
 * harness/simtok.h).
 *
 * - prompt_source_fit against counters with other rules than a word a token
 *   (several tokens a word, two a word with a one-token filler, a prefix
 *   longer than the target, a counter that fails): every prompt the counter
 *   then re-counts has exactly the target, within the probe bound, or is
 *   reported inexact / stopped with the counter's error;
 * - the simulator's /tokenize in llama.cpp's and vLLM's shapes counts as its
 *   usage.prompt_tokens does;
 * - bench against the simulator: every request's usage.prompt_tokens equals
 *   --input-tokens exactly, for chat (vLLM form, the chat template's tokens
 *   included) and completions (llama.cpp form), and with --tokenizer URL;
 *   prompt_sizing says "exact: ..." and nothing is said on stderr;
 * - without a usable endpoint (--tokenizer off; llama.cpp's form for chat
 *   with no /apply-template; the transcript replay server, which has no
 *   /tokenize): "prompt sizes are approximate: WHY" once on stderr and in
 *   prompt_sizing, and the run completes. (tests/test_replay.c and
 *   tests/test_compat.c check the same against the transcripts and
 *   mock-llm.) */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "prompt.h"
#include "results_read.h"
#include "simproc.h"
#include "tokenize.h"

/* ---- prompt_source_fit with made-up tokenizers. */

typedef struct {
    int bos;         /* tokens added before the text */
    int mode;        /* 0: a word a token; 1: ceil(len/3) a word; 2: two a word, "a" one */
    long calls;      /* counts made */
    long fail_after; /* fail the call after this many (0: never) */
} fake_tok;

static int fake_count_text(const fake_tok *f, const char *s)
{
    int n = f->bos;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        int len = (int)(s - w);
        if (f->mode == 0)
            n += 1;
        else if (f->mode == 1)
            n += (len + 2) / 3;
        else
            n += (len == 1 && *w == 'a') ? 1 : 2;
    }
    return n;
}

static bench_status fake_count(void *ud, const char *text, int *tokens, bench_err *err)
{
    fake_tok *f = ud;
    if (f->fail_after && f->calls >= f->fail_after)
        return bench_fail(err, BENCH_EIO, "fake tokenizer: gone");
    f->calls++;
    *tokens = fake_count_text(f, text);
    return BENCH_OK;
}

/* Size n prompts of target tokens with f; check each re-counts to target. */
static void fit_and_check(fake_tok *f, int target, uint64_t n, prompt_fit_stats *fs)
{
    prompt_source *ps;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(7, target, 16, &ps, &e), BENCH_OK);
    CU_ASSERT_EQUAL(prompt_source_fit(ps, n, fake_count, f, fs, &e), BENCH_OK);
    CU_ASSERT_EQUAL(fs->fitted, n);
    CU_ASSERT_EQUAL(fs->inexact, 0);
    CU_ASSERT(fs->probes <= n * PROMPT_FIT_PROBES);
    dynbuf text;
    dynbuf_init(&text, 1 << 20);
    for (uint64_t k = 0; k < n; k++) {
        prompt_item it;
        dynbuf_reset(&text);
        CU_ASSERT_EQUAL(prompt_source_item(ps, k, &it, &text), BENCH_OK);
        CU_ASSERT_EQUAL(fake_count_text(f, text.p), target);
        CU_ASSERT(strncmp(text.p, "Request ", 8) == 0);
    }
    /* Sizing again more ids: only the new ones are counted. */
    prompt_fit_stats more;
    CU_ASSERT_EQUAL(prompt_source_fit(ps, n + 3, fake_count, f, &more, &e), BENCH_OK);
    CU_ASSERT_EQUAL(more.fitted, 3);
    dynbuf_free(&text);
    prompt_source_destroy(ps);
}

static void test_fit_word_a_token(void)
{
    fake_tok f = {.bos = 1, .mode = 0};
    prompt_fit_stats fs;
    fit_and_check(&f, 200, 50, &fs);
    /* The first prompt finds the size, the others need one count each. */
    CU_ASSERT(fs.probes <= 50 + 3);
    printf(" (%llu counts for 50 prompts)", (unsigned long long)fs.probes);
}

static void test_fit_multi_token_words(void)
{
    fake_tok f = {.bos = 1, .mode = 1};
    prompt_fit_stats fs;
    fit_and_check(&f, 300, 40, &fs);
    printf(" (%llu counts for 40 prompts)", (unsigned long long)fs.probes);
    fake_tok g = {.bos = 0, .mode = 2};
    fit_and_check(&g, 101, 40, &fs); /* odd: needs the one-token filler */
    fit_and_check(&g, 100, 40, &fs);
}

static void test_fit_impossible_and_failing(void)
{
    bench_err e;
    prompt_source *ps;
    prompt_fit_stats fs;
    /* "Request 0." is already 3 tokens with a BOS: 2 cannot be reached. */
    fake_tok f = {.bos = 1, .mode = 0};
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(1, 2, 16, &ps, &e), BENCH_OK);
    CU_ASSERT_EQUAL(prompt_source_fit(ps, 4, fake_count, &f, &fs, &e), BENCH_OK);
    CU_ASSERT_EQUAL(fs.fitted, 4);
    CU_ASSERT_EQUAL(fs.inexact, 4);
    CU_ASSERT_EQUAL(fs.max_off, 1);
    CU_ASSERT(fs.probes <= 4 * PROMPT_FIT_PROBES);
    prompt_source_destroy(ps);

    /* A counter that fails after a while: its error, the sized keep. */
    fake_tok g = {.bos = 1, .mode = 0, .fail_after = 5};
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(1, 64, 16, &ps, &e), BENCH_OK);
    CU_ASSERT_EQUAL(prompt_source_fit(ps, 20, fake_count, &g, &fs, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "fake tokenizer: gone"));
    CU_ASSERT(fs.fitted >= 2 && fs.fitted < 20);
    dynbuf text;
    dynbuf_init(&text, 1 << 20);
    prompt_item it;
    CU_ASSERT_EQUAL(prompt_source_item(ps, 0, &it, &text), BENCH_OK);
    CU_ASSERT_EQUAL(fake_count_text(&f, text.p), 64);
    dynbuf_free(&text);
    prompt_source_destroy(ps);

    /* A dataset is left alone. */
    char *dir = cutest_tmpdir("tokfit");
    char *path = cutest_path(dir, "d.jsonl");
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("{\"prompt\": \"hello there\"}\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL_FATAL(prompt_source_dataset(path, 8, &ps, &e), BENCH_OK);
    fake_tok h = {0};
    CU_ASSERT_EQUAL(prompt_source_fit(ps, 10, fake_count, &h, &fs, &e), BENCH_OK);
    CU_ASSERT_EQUAL(h.calls, 0);
    prompt_source_destroy(ps);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

/* Same seed, same tokenizer: the same prompts. */
static void test_fit_deterministic(void)
{
    bench_err e;
    char *texts[2] = {NULL, NULL};
    for (int r = 0; r < 2; r++) {
        prompt_source *ps;
        prompt_fit_stats fs;
        fake_tok f = {.bos = 1, .mode = 1};
        CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(3, 90, 16, &ps, &e), BENCH_OK);
        CU_ASSERT_EQUAL(prompt_source_fit(ps, 12, fake_count, &f, &fs, &e), BENCH_OK);
        dynbuf text;
        dynbuf_init(&text, 1 << 20);
        for (uint64_t k = 0; k < 12; k++) {
            prompt_item it;
            CU_ASSERT_EQUAL(prompt_source_item(ps, k, &it, &text), BENCH_OK);
            dynbuf_add(&text, "\n", 1);
        }
        texts[r] = dynbuf_steal(&text);
        prompt_source_destroy(ps);
    }
    CU_ASSERT_STRING_EQUAL(texts[0], texts[1]);
    free(texts[0]);
    free(texts[1]);
}

/* ---- The simulator's /tokenize, over HTTP. */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    dynbuf_add(ud, p, size * n);
    return size * n;
}

static long post(const char *url, const char *body, dynbuf *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    dynbuf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

/* The root of a base URL ("http://127.0.0.1:P/v1" -> ".../tokenize"). */
static void tokenize_url(const char *base, char *out, size_t n)
{
    size_t l = strlen(base);
    if (l >= 3 && strcmp(base + l - 3, "/v1") == 0)
        l -= 3;
    snprintf(out, n, "%.*s/tokenize", (int)l, base);
}

static void test_sim_endpoint(void)
{
    struct simproc *sp = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    char url[256];
    tokenize_url(simproc_url(sp), url, sizeof url);
    dynbuf b;
    dynbuf_init(&b, 1 << 20);

    /* llama.cpp: tokens only; words as usage counts them. */
    CU_ASSERT_EQUAL(
        post(url, "{\"content\": \"one two  three\\nfour\", \"add_special\": true}", &b), 200);
    cJSON *j = cJSON_Parse(b.p);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")), 4);
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(j, "count"));
    cJSON_Delete(j);

    /* vLLM, completions form. */
    CU_ASSERT_EQUAL(post(url, "{\"model\": \"m\", \"prompt\": \"a b c d e\"}", &b), 200);
    j = cJSON_Parse(b.p);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "count")->valueint, 5);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")), 5);
    CU_ASSERT(cJSON_GetObjectItem(j, "max_model_len")->valueint > 0);
    cJSON_Delete(j);

    /* vLLM, chat form: the simulator's 4 tokens a message included. */
    CU_ASSERT_EQUAL(post(url,
                         "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a "
                         "b c\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", "
                         "\"text\": \"d e\"}]}], \"add_generation_prompt\": true}",
                         &b),
                    200);
    j = cJSON_Parse(b.p);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "count")->valueint, 3 + 2 + 2 * 4);
    cJSON_Delete(j);

    /* Neither shape, or not JSON: 400 with an error object. */
    CU_ASSERT_EQUAL(post(url, "{\"text\": \"x\"}", &b), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "\"error\""));
    CU_ASSERT_EQUAL(post(url, "not json", &b), 400);

    /* And the tokenizer module against it. */
    tokenizer *t;
    bench_err e;
    for (int api = 0; api < 2; api++) {
        tokenizer_opts o = {.base = simproc_url(sp),
                            .api = api ? OAI_COMPLETIONS : OAI_CHAT,
                            .model_id = "mistral-7b",
                            .connect_s = 5};
        CU_ASSERT_EQUAL_FATAL(tokenizer_create(&o, &t, &e), BENCH_OK);
        CU_ASSERT_EQUAL(tokenizer_probe(t), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(tokenizer_sizing(t), "exact: /tokenize (vLLM) at "));
        int n = 0;
        CU_ASSERT_EQUAL(tokenizer_count(t, "Request 3. the of and", &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, api ? 5 : 5 + 4);
        tokenizer_destroy(t);
    }
    dynbuf_free(&b);
    cutest_sim_stop(sp);
}

/* ---- bench runs. */

typedef struct {
    int rc;
    char *err;
    char *sizing;
    int n_rows;
    int n_exact; /* rows whose prompt_tokens == the target */
    int min_pt, max_pt;
} run_out;

static void run_bench(const char *const *extra, int target, run_out *ro)
{
    memset(ro, 0, sizeof *ro);
    char *dir = cutest_tmpdir("tokrun");
    char *h5 = cutest_path(dir, "r.h5");
    char tgt[16];
    snprintf(tgt, sizeof tgt, "%d", target);
    const char *argv[40] = {cutest_bench_exe(),
                            "--concurrency",
                            "1,3",
                            "--requests",
                            "6",
                            "--warmup",
                            "1",
                            "--input-tokens",
                            tgt,
                            "--output-tokens",
                            "4",
                            "--output",
                            h5,
                            "--no-report",
                            "--no-progress",
                            NULL};
    int n = 15;
    for (int i = 0; extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    ro->rc = cutest_spawn(argv, NULL, &ro->err, 120);
    if (ro->rc != 0)
        fprintf(stderr, "bench exited %d: %s\n", ro->rc, ro->err ? ro->err : "");
    results_file *f;
    bench_err e;
    ro->min_pt = 1 << 30;
    ro->max_pt = -1;
    if (ro->rc == 0 && results_open(h5, &f, &e) == BENCH_OK) {
        const char *s = results_file_attr(f, "prompt_sizing");
        ro->sizing = strdup(s ? s : "(none)");
        for (size_t li = 0; li < results_file_level_count(f); li++) {
            req_record *rows;
            size_t nr;
            int c = results_file_level(f, li)->concurrency;
            if (results_read_requests(f, c, &rows, &nr, &e) != BENCH_OK)
                continue;
            for (size_t i = 0; i < nr; i++) {
                ro->n_rows++;
                ro->n_exact += rows[i].prompt_tokens == target;
                if (rows[i].prompt_tokens < ro->min_pt)
                    ro->min_pt = rows[i].prompt_tokens;
                if (rows[i].prompt_tokens > ro->max_pt)
                    ro->max_pt = rows[i].prompt_tokens;
            }
            free(rows);
        }
        results_file_close(f);
    }
    unlink(h5);
    free(h5);
    free(dir);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void run_out_free(run_out *ro)
{
    free(ro->err);
    free(ro->sizing);
}

static void test_bench_exact_chat(void)
{
    const char *extra[] = {"--model", "mistral-7b", NULL};
    run_out ro;
    run_bench(extra, 37, &ro);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(ro.n_rows, 14);
    CU_ASSERT_EQUAL(ro.n_exact, ro.n_rows);
    CU_ASSERT(ro.sizing &&
              strncmp(ro.sizing, "exact: /tokenize (vLLM) at http://127.0.0.1:", 44) == 0);
    CU_ASSERT_EQUAL(count_of(ro.err, "approximate"), 0);
    run_out_free(&ro);
}

static void test_bench_exact_completions_llamacpp(void)
{
    const char *extra[] = {"--model",     "llama3-8b", "--api", "completions",
                           "--tokenizer", "llama.cpp", NULL};
    run_out ro;
    run_bench(extra, 301, &ro);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(ro.n_exact, 14);
    CU_ASSERT(ro.sizing && strncmp(ro.sizing, "exact: /tokenize (llama.cpp) at ", 32) == 0);
    CU_ASSERT_EQUAL(count_of(ro.err, "approximate"), 0);
    run_out_free(&ro);
}

/* --tokenizer URL: another simulator's endpoint sizes the embedded one's
 * prompts (the same counting rule, so exact). */
static void test_bench_tokenizer_url(void)
{
    struct simproc *sp = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    char url[256];
    tokenize_url(simproc_url(sp), url, sizeof url);
    const char *extra[] = {"--model", "mistral-7b", "--tokenizer", url, NULL};
    run_out ro;
    run_bench(extra, 64, &ro);
    cutest_sim_stop(sp);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(ro.n_exact, 14);
    CU_ASSERT(ro.sizing && strstr(ro.sizing, url) && strncmp(ro.sizing, "exact: ", 7) == 0);
    run_out_free(&ro);
}

static void test_bench_approximate(void)
{
    run_out ro;
    /* Off: a word a token, so chat prompts carry the simulator's 4 tokens
     * of chat overhead on top. */
    const char *off[] = {"--model", "mistral-7b", "--tokenizer", "off", NULL};
    run_bench(off, 40, &ro);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(count_of(ro.err, "prompt sizes are approximate: --tokenizer off"), 1);
    CU_ASSERT(ro.sizing && strncmp(ro.sizing, "approximate: --tokenizer off", 28) == 0);
    CU_ASSERT_EQUAL(ro.min_pt, 44);
    CU_ASSERT_EQUAL(ro.max_pt, 44);
    run_out_free(&ro);

    /* llama.cpp's form cannot count a chat prompt without /apply-template. */
    const char *nt[] = {"--model", "mistral-7b", "--tokenizer", "llama.cpp", NULL};
    run_bench(nt, 40, &ro);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(count_of(ro.err, "prompt sizes are approximate"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ro.err, "/apply-template: HTTP 404"));
    CU_ASSERT(ro.sizing && strncmp(ro.sizing, "approximate: ", 13) == 0);
    run_out_free(&ro);

    /* A bad value is a usage error. */
    const char *bad[] = {"--model", "mistral-7b", "--tokenizer", "sentencepiece", NULL};
    run_bench(bad, 40, &ro);
    CU_ASSERT_EQUAL(ro.rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(ro.err, "--tokenizer"));
    run_out_free(&ro);
}

/* The replay server has no /tokenize (404, llama-server's error body): the
 * run completes, says so once, records it. */
static void test_bench_no_endpoint(void)
{
    char *tpath = cutest_path(cutest_samples_dir(), "sse_mockllm_sample.txt");
    const char *args[] = {"--ttft-ms", "1", "--gap-ms", "1", NULL};
    int port = 0;
    pid_t pid = cutest_replay_start(tpath, args, NULL, &port);
    if (port <= 0)
        cutest_replay_stop(pid);
    CU_ASSERT_FATAL(port > 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    const char *extra[] = {"--model", "gpt-4", "--endpoint", url, NULL};
    run_out ro;
    run_bench(extra, 50, &ro);
    cutest_replay_stop(pid);
    CU_ASSERT_EQUAL(ro.rc, 0);
    CU_ASSERT_EQUAL(count_of(ro.err, "prompt sizes are approximate"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ro.err, "/tokenize: HTTP 404: File Not Found"));
    CU_ASSERT(ro.sizing &&
              strncmp(ro.sizing, "approximate: no usable tokenizer endpoint", 41) == 0);
    CU_ASSERT_EQUAL(ro.max_pt, -1); /* the transcript has no usage */
    run_out_free(&ro);
    free(tpath);
}

/* The endpoint goes away between levels: the prompts sized keep their
 * size, the rest are approximate, said once, and prompt_sizing is rewritten;
 * the level still goes ahead (no failure). */
static void test_endpoint_fails_mid_run(void)
{
    struct simproc *sp = cutest_sim_start("mistral-7b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
    char url[256];
    tokenize_url(simproc_url(sp), url, sizeof url);
    char *dir = cutest_tmpdir("tokmid");
    char *h5 = cutest_path(dir, "m.h5");
    results_meta meta = {
        .harness_version = "test", .model = "m", .endpoint_kind = "remote", .t0_monotonic_ns = 1};
    results *res = NULL;
    prompt_source *ps = NULL;
    tokenizer *t = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_create(h5, &meta, &res, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(1, 30, 4, &ps, &e), BENCH_OK);
    tokenizer_opts o = {.spec = url,
                        .base = "http://127.0.0.1:1/v1",
                        .api = OAI_COMPLETIONS,
                        .model_id = "mistral-7b",
                        .api_key = "sk-not-for-this-host",
                        .connect_s = 2};
    CU_ASSERT_EQUAL_FATAL(tokenizer_create(&o, &t, &e), BENCH_OK);
    CU_ASSERT_EQUAL(tokenizer_prepare_level(t, ps, 5, res, &e), BENCH_OK);
    CU_ASSERT(strncmp(tokenizer_sizing(t), "exact: ", 7) == 0);
    cutest_sim_stop(sp);
    CU_ASSERT_EQUAL(tokenizer_prepare_level(t, ps, 9, res, &e), BENCH_OK);
    const char *s = tokenizer_sizing(t);
    CU_ASSERT(strncmp(s, "approximate: /tokenize (vLLM) at ", 33) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "sized 5 prompts, then failed"));
    /* The five sized prompts keep exactly 30 words; the rest the default. */
    dynbuf text;
    dynbuf_init(&text, 1 << 16);
    for (uint64_t k = 0; k < 9; k++) {
        prompt_item it;
        dynbuf_reset(&text);
        CU_ASSERT_EQUAL(prompt_source_item(ps, k, &it, &text), BENCH_OK);
        int words = 1;
        for (const char *p = text.p; *p; p++)
            words += *p == ' ';
        CU_ASSERT_EQUAL(words, 30);
    }
    dynbuf_free(&text);
    tokenizer_destroy(t);
    prompt_source_destroy(ps);
    CU_ASSERT_EQUAL(results_close(res, &e), BENCH_OK);
    results_file *f;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    const char *attr = results_file_attr(f, "prompt_sizing");
    CU_ASSERT(attr && strstr(attr, "then failed"));
    results_file_close(f);
    unlink(h5);
    rmdir(dir);
    free(h5);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"fit: a word a token, one count a prompt", test_fit_word_a_token},
    {"fit: several tokens a word, one-token fillers", test_fit_multi_token_words},
    {"fit: unreachable target, failing counter, dataset", test_fit_impossible_and_failing},
    {"fit: same seed and tokenizer, same prompts", test_fit_deterministic},
    {"simulator /tokenize: llama.cpp and vLLM shapes", test_sim_endpoint},
    {"bench chat on the simulator: prompt_tokens exact", test_bench_exact_chat},
    {"bench completions, llama.cpp form: exact", test_bench_exact_completions_llamacpp},
    {"bench --tokenizer URL: exact", test_bench_tokenizer_url},
    {"bench without a usable tokenizer: approximate, said once", test_bench_approximate},
    {"bench against a server without /tokenize", test_bench_no_endpoint},
    {"the endpoint failing between levels: the rest approximate", test_endpoint_fails_mid_run},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cutest_run("tokenize", tests);
    curl_global_cleanup();
    return rc;
}
