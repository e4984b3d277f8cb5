/* Unit tests: HumanEval loading, stop-sequence truncation, completion
 * extraction from chat replies, the test program (byte for byte as
 * human-eval builds it) and the pass@k estimator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "fileio.h"
#include "humaneval.h"

static humaneval_problem *g_p;
static size_t g_n;

static const humaneval_problem *problem(const char *task_id)
{
    for (size_t i = 0; i < g_n; i++)
        if (strcmp(g_p[i].task_id, task_id) == 0)
            return &g_p[i];
    return NULL;
}

static void test_load(void)
{
    bench_err e = {{0}};
    CU_ASSERT_EQUAL_FATAL(humaneval_load(cutest_data_dir(), &g_p, &g_n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(g_n, 164);
    for (size_t i = 0; i < g_n; i++) {
        char id[32];
        snprintf(id, sizeof id, "HumanEval/%zu", i);
        CU_ASSERT_STRING_EQUAL(g_p[i].task_id, id);
        CU_ASSERT(g_p[i].prompt[0] && g_p[i].entry_point[0] && g_p[i].test[0]);
        CU_ASSERT(g_p[i].canonical_solution[0] != '\0');
    }
    CU_ASSERT_STRING_EQUAL(g_p[0].entry_point, "has_close_elements");

    humaneval_problem *p = NULL;
    size_t n = 7;
    CU_ASSERT_EQUAL(humaneval_load("/nonexistent-bench-dir", &p, &n, &e), BENCH_EIO);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-bench-dir/humaneval/HumanEval.jsonl.gz"));
}

/* A malformed file: the error names file and line. */
static void test_load_errors(void)
{
    char *dir = cutest_tmpdir("humaneval");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char sub[1024], path[1100];
    snprintf(sub, sizeof sub, "%s/humaneval", dir);
    CU_ASSERT_EQUAL_FATAL(file_mkdirs(sub), 0);
    snprintf(path, sizeof path, "%s/HumanEval.jsonl.gz", sub);
    /* gzopen reads an uncompressed file transparently. */
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"task_id\": \"HumanEval/0\", \"prompt\": \"p\", \"entry_point\": \"f\", "
          "\"canonical_solution\": \"s\", \"test\": \"t\"}\n\n"
          "{\"task_id\": \"HumanEval/1\", \"prompt\": \"p\", \"entry_point\": \"f\", "
          "\"test\": \"t\"}\n",
          f);
    fclose(f);
    humaneval_problem *p = NULL;
    size_t n = 0;
    bench_err e = {{0}};
    CU_ASSERT_EQUAL(humaneval_load(dir, &p, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "HumanEval.jsonl.gz:3:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "canonical_solution"));
    f = fopen(path, "w");
    fputs("{\"task_id\": \"HumanEval/0\", \"prompt\": \"p\", \"entry_point\": \"f\", "
          "\"canonical_solution\": \"s\", \"test\": \"t\"}\nnot json\n",
          f);
    fclose(f);
    CU_ASSERT_EQUAL(humaneval_load(dir, &p, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "HumanEval.jsonl.gz:2: not a JSON object"));
    remove(path);
    remove(sub);
    remove(dir);
    free(dir);
}

static void test_truncate(void)
{
    const char *s = "    return x\n\ndef other():\n    pass\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), strlen("    return x\n"));
    s = "    y = 1\n    # inner comment stays\n    return y\n# top-level comment\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)),
                    strlen("    y = 1\n    # inner comment stays\n    return y"));
    s = "    return 1\nif __name__ == '__main__':\n    pass\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), strlen("    return 1"));
    s = "    return 1\nprint(f(1))\nclass A: pass\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), strlen("    return 1"));
    s = "    return 1\nclass A: pass\nprint(2)\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), strlen("    return 1"));
    /* indented "if", "def" inside the body are not stops */
    s = "    if x:\n        def g():\n            return 1\n    return 2\n";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), strlen(s));
    /* the earliest stop wins; only the first len bytes are looked at */
    s = "    a\n#x\ndef f";
    CU_ASSERT_EQUAL(humaneval_truncate(s, strlen(s)), 5);
    CU_ASSERT_EQUAL(humaneval_truncate(s, 6), 6); /* "\n#" is not within the first 6 bytes */
    CU_ASSERT_EQUAL(humaneval_truncate("", 0), 0);
}

static void test_chat_prompt(void)
{
    const humaneval_problem *p = problem("HumanEval/0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dynbuf b;
    dynbuf_init(&b, 1 << 16);
    bench_err e;
    CU_ASSERT_EQUAL(humaneval_chat_prompt(p, &b, &e), BENCH_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "```python"));
    size_t pl = strlen(p->prompt);
    CU_ASSERT_FATAL(b.len > pl);
    CU_ASSERT_STRING_EQUAL(b.p + b.len - pl, p->prompt);
    dynbuf_free(&b);
    dynbuf_init(&b, 10);
    CU_ASSERT_EQUAL(humaneval_chat_prompt(p, &b, &e), BENCH_ETOOBIG);
    dynbuf_free(&b);
}

static char *extract(const humaneval_problem *p, const char *reply, int *full)
{
    char *out = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(humaneval_extract(p, reply, strlen(reply), &out, full, &e), BENCH_OK);
    return out;
}

static void test_extract(void)
{
    const humaneval_problem *p = problem("HumanEval/0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int full = -1;

    /* a fenced python block holding the whole function */
    char *c = extract(p,
                      "Here you go:\n\n```python\nfrom typing import List\n\n"
                      "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
                      "    return False\n```\nThis works because...\n```python\nx = 1\n```\n",
                      &full);
    CU_ASSERT_EQUAL(full, 1);
    CU_ASSERT_STRING_EQUAL(c, "from typing import List\n\n"
                              "def has_close_elements(numbers: List[float], threshold: float) -> "
                              "bool:\n    return False\n");
    free(c);

    /* ```py and a bare ``` fence; a block left open runs to the end */
    c = extract(p, "```py\n    return True\n```", &full);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "    return True\n");
    free(c);
    c = extract(p, "```\nreturn True\n", &full);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "    return True\n");
    free(c);
    /* a block in another language is not the code */
    c = extract(p, "```text\nnote\n```\n```python\n    return 3\n```\n", &full);
    CU_ASSERT_STRING_EQUAL(c, "    return 3\n");
    free(c);

    /* a bare body, not indented: every non-empty line gets 4 spaces */
    c = extract(p, "for x in numbers:\n    if x:\n        return True\n\nreturn False", &full);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "    for x in numbers:\n        if x:\n            return True\n\n"
                              "    return False");
    free(c);

    /* a bare body already indented (leading blank line): kept as is */
    c = extract(p, "\n    return any(numbers)\n", &full);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "\n    return any(numbers)\n");
    free(c);

    /* a block with imports and a helper before the function: kept whole */
    const char *helper = "import math\n\ndef _dist(a, b):\n    return math.fabs(a - b)\n\n"
                         "def has_close_elements(numbers, threshold):\n"
                         "    return any(_dist(a, b) < threshold for i, a in enumerate(numbers)"
                         " for b in numbers[i + 1:])\n";
    char reply[1024];
    snprintf(reply, sizeof reply, "Sure.\n```python\n%s```\n", helper);
    c = extract(p, reply, &full);
    CU_ASSERT_EQUAL(full, 1);
    CU_ASSERT_STRING_EQUAL(c, helper);
    free(c);

    /* a def of another name, or the name indented, is not the entry point */
    c = extract(p, "```python\n    def has_close_elements(x):\n        pass\n```", &full);
    CU_ASSERT_EQUAL(full, 0);
    free(c);

    c = extract(p, "", &full);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "");
    free(c);
}

/* The reply is len bytes, not a C string: a reply whose last line is blank
 * was read past its end (found by fuzz/fuzz_jsonl, docs/FUZZING.md). The
 * bytes are in an exactly sized allocation so ASan sees any over-read. */
static void test_extract_unterminated(void)
{
    const humaneval_problem *p = problem("HumanEval/0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    static const char text[] = "return x\n  \t";
    char *reply = malloc(sizeof text - 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    memcpy(reply, text, sizeof text - 1);
    char *c = NULL;
    int full = -1;
    bench_err e;
    CU_ASSERT_EQUAL(humaneval_extract(p, reply, sizeof text - 1, &c, &full, &e), BENCH_OK);
    CU_ASSERT_EQUAL(full, 0);
    CU_ASSERT_STRING_EQUAL(c, "    return x\n  \t");
    free(c);
    /* all blank: nothing to indent */
    CU_ASSERT_EQUAL(humaneval_extract(p, reply + 9, 3, &c, &full, &e), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(c, "  \t");
    free(c);
    free(reply);
}

/* humaneval_parse reads bytes as humaneval_load reads the file. */
static void test_parse_bytes(void)
{
    static const char text[] =
        "{\"task_id\": \"T/0\", \"prompt\": \"def f(x):\\n\", \"entry_point\": \"f\", "
        "\"canonical_solution\": \"    return x\\n\", \"test\": \"def check(c): pass\"}\r\n\n";
    humaneval_problem *p = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(humaneval_parse(text, sizeof text - 1, "mem.jsonl", &p, &n, &e),
                          BENCH_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(p[0].entry_point, "f");
    humaneval_free(p, n);
    CU_ASSERT_EQUAL(humaneval_parse(text, 20, "mem.jsonl", &p, &n, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_STRING_EQUAL(e.msg, "mem.jsonl:1: not a JSON object");
    CU_ASSERT_EQUAL(humaneval_parse("x\0y", 3, "mem.jsonl", &p, &n, &e), BENCH_EINPUT);
    CU_ASSERT_STRING_EQUAL(e.msg, "mem.jsonl: contains a NUL byte");
}

static void test_program(void)
{
    const humaneval_problem *p = problem("HumanEval/0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dynbuf b, want;
    dynbuf_init(&b, 1 << 20);
    dynbuf_init(&want, 1 << 20);
    bench_err e;
    CU_ASSERT_EQUAL(humaneval_program(p, p->canonical_solution, 0, &b, &e), BENCH_OK);
    /* human-eval: prompt + completion + "\n" + test + "\n" + f"check({entry_point})" */
    dynbuf_adds(&want, p->prompt);
    dynbuf_adds(&want, p->canonical_solution);
    dynbuf_adds(&want, "\n");
    dynbuf_adds(&want, p->test);
    dynbuf_adds(&want, "\n");
    dynbuf_adds(&want, "check(has_close_elements)");
    CU_ASSERT_EQUAL(b.len, want.len);
    CU_ASSERT_STRING_EQUAL(b.p, want.p);
    CU_ASSERT_EQUAL(strncmp(b.p, "from typing import List\n\n\ndef has_close_elements(", 49), 0);
    CU_ASSERT_STRING_EQUAL(b.p + b.len - 26, "\ncheck(has_close_elements)");
    dynbuf_free(&b);
    dynbuf_free(&want);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *s = hay; (s = strstr(s, needle)) != NULL; s++)
        n++;
    return n;
}

static void test_program_full_function(void)
{
    /* HumanEval/10 defines is_palindrome before make_palindrome. */
    const humaneval_problem *p = problem("HumanEval/10");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->entry_point, "make_palindrome");
    const char *reply = "```python\ndef make_palindrome(string: str) -> str:\n"
                        "    if is_palindrome(string):\n        return string\n"
                        "    for i in range(len(string)):\n"
                        "        if is_palindrome(string[i:]):\n"
                        "            return string + string[:i][::-1]\n"
                        "    return string\n```\n";
    char *c = NULL;
    int full = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(humaneval_extract(p, reply, strlen(reply), &c, &full, &e), BENCH_OK);
    CU_ASSERT_EQUAL(full, 1);
    dynbuf b;
    dynbuf_init(&b, 1 << 20);
    CU_ASSERT_EQUAL(humaneval_program(p, c, full, &b, &e), BENCH_OK);
    CU_ASSERT_EQUAL(count(b.p, "def is_palindrome("), 1);   /* the helper is kept */
    CU_ASSERT_EQUAL(count(b.p, "def make_palindrome("), 1); /* the signature is not doubled */
    /* exactly: the prompt up to the entry point's def, the completion, the test */
    const char *def = strstr(p->prompt, "\ndef make_palindrome(");
    CU_ASSERT_PTR_NOT_NULL_FATAL(def);
    size_t pre = (size_t)(def + 1 - p->prompt);
    CU_ASSERT_EQUAL(strncmp(b.p, p->prompt, pre), 0);
    CU_ASSERT_EQUAL(strncmp(b.p + pre, c, strlen(c)), 0);
    char rest[4096];
    snprintf(rest, sizeof rest, "\n%s\ncheck(make_palindrome)", p->test);
    CU_ASSERT_STRING_EQUAL(b.p + pre + strlen(c), rest);
    free(c);
    dynbuf_free(&b);

    /* HumanEval/38: encode_cyclic before decode_cyclic. */
    p = problem("HumanEval/38");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dynbuf_init(&b, 1 << 20);
    CU_ASSERT_EQUAL(humaneval_program(p, "def decode_cyclic(s: str):\n    return s\n", 1, &b, &e),
                    BENCH_OK);
    CU_ASSERT_EQUAL(count(b.p, "def encode_cyclic("), 1);
    CU_ASSERT_EQUAL(count(b.p, "def decode_cyclic("), 1);
    dynbuf_free(&b);
}

static void test_pass_at_k(void)
{
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(10, 3, 1), 0.3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(10, 3, 5), 0.9166666666666666, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(5, 0, 1), 0.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(5, 5, 5), 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(3, 1, 3), 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(1, 1, 1), 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(1, 0, 1), 0.0, 1e-15);
    /* pass@1 is c / n */
    CU_ASSERT_DOUBLE_EQUAL(humaneval_pass_at_k(200, 37, 1), 37.0 / 200.0, 1e-12);
    CU_ASSERT(isnan(humaneval_pass_at_k(3, 4, 1)));
    CU_ASSERT(isnan(humaneval_pass_at_k(3, 1, 4)));
    CU_ASSERT(isnan(humaneval_pass_at_k(3, 1, 0)));
}

static void test_free(void)
{
    humaneval_free(g_p, g_n);
    g_p = NULL;
    g_n = 0;
    humaneval_free(NULL, 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"load", test_load},
        {"load errors name file and line", test_load_errors},
        {"stop-sequence truncation", test_truncate},
        {"chat prompt", test_chat_prompt},
        {"extraction", test_extract},
        {"extraction reads only len bytes", test_extract_unterminated},
        {"parse from bytes", test_parse_bytes},
        {"program for HumanEval/0", test_program},
        {"full-function program keeps helpers", test_program_full_function},
        {"pass@k", test_pass_at_k},
        {"free", test_free},
        CU_TEST_INFO_NULL,
    };
    return cutest_run("humaneval", tests);
}
