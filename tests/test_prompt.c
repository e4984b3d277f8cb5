/* Unit tests: synthetic prompts (deterministic, unique, sized) and the JSONL
 * dataset reader (both shapes, errors naming file and line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "prompt.h"

static int words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = *s == ' ';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static void test_synthetic(void)
{
    prompt_source *a, *b;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(7, 100, 32, &a, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(prompt_source_synthetic(7, 100, 32, &b, &e), BENCH_OK);
    dynbuf x, y, z;
    dynbuf_init(&x, 1 << 20);
    dynbuf_init(&y, 1 << 20);
    dynbuf_init(&z, 1 << 20);
    prompt_item it;
    CU_ASSERT_EQUAL(prompt_source_item(a, 5, &it, &x), BENCH_OK);
    CU_ASSERT_EQUAL(it.max_tokens, 32);
    CU_ASSERT_PTR_NULL(it.messages_json);
    CU_ASSERT_EQUAL(words(x.p), 100);
    CU_ASSERT_EQUAL(prompt_source_item(b, 5, &it, &y), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(x.p, y.p); /* same seed, same prompt */
    CU_ASSERT_EQUAL(prompt_source_item(a, 6, &it, &z), BENCH_OK);
    CU_ASSERT_STRING_NOT_EQUAL(x.p, z.p); /* unique per request */
    dynbuf_free(&x);
    dynbuf_free(&y);
    dynbuf_free(&z);
    prompt_source_destroy(a);
    prompt_source_destroy(b);
}

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/bench-prompt-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void test_dataset(void)
{
    char *p = write_tmp("{\"prompt\": \"hello there world\", \"max_tokens\": 7}\r\n"
                        "\n"
                        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
    prompt_source *s;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(prompt_source_dataset(p, 50, &s, &e), BENCH_OK);
    CU_ASSERT_EQUAL(prompt_source_size(s), 2);
    dynbuf t;
    dynbuf_init(&t, 1 << 16);
    prompt_item it;
    CU_ASSERT_EQUAL(prompt_source_item(s, 0, &it, &t), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(t.p, "hello there world");
    CU_ASSERT_EQUAL(it.max_tokens, 7);
    CU_ASSERT_EQUAL(it.approx_input_tokens, 3);
    dynbuf_reset(&t);
    CU_ASSERT_EQUAL(prompt_source_item(s, 1, &it, &t), BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it.messages_json);
    CU_ASSERT_PTR_NOT_NULL(strstr(it.messages_json, "\"hi\""));
    CU_ASSERT_EQUAL(it.max_tokens, 50);
    CU_ASSERT_EQUAL(t.len, 0);
    /* request 2 cycles back to line 1 */
    CU_ASSERT_EQUAL(prompt_source_item(s, 2, &it, &t), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(t.p, "hello there world");
    dynbuf_free(&t);
    prompt_source_destroy(s);
    unlink(p);
    free(p);
}

static void expect_bad(const char *content, const char *needle)
{
    char *p = write_tmp(content);
    prompt_source *s = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(prompt_source_dataset(p, 50, &s, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, p));
    if (!strstr(e.msg, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", e.msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, needle));
    unlink(p);
    free(p);
}

static void test_dataset_errors(void)
{
    expect_bad("{\"prompt\": \"ok\"}\nnot json\n", ":2: not a JSON object");
    expect_bad("{\"text\": \"no prompt\"}\n", ":1: needs a non-empty");
    expect_bad("{\"prompt\": \"x\", \"max_tokens\": -2}\n", ":1: \"max_tokens\"");
    expect_bad("{\"messages\": [{\"role\": \"user\"}]}\n", ":1: each message");
    expect_bad("\n\n", "no prompts");
    prompt_source *s = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(prompt_source_dataset("/nonexistent/x.jsonl", 5, &s, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/x.jsonl"));
}

static CU_TestInfo tests[] = {
    {"synthetic prompts", test_synthetic},
    {"JSONL dataset", test_dataset},
    {"JSONL dataset errors", test_dataset_errors},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("prompt", tests);
}
