/* Unit tests: the error idiom and the capped buffer. */
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "dynbuf.h"
#include "status.h"

static void test_fail_and_wrap(void)
{
    bench_err e;
    CU_ASSERT_EQUAL(bench_fail(&e, BENCH_EUSAGE, "--x: '%s' bad", "7q"), BENCH_EUSAGE);
    CU_ASSERT_STRING_EQUAL(e.msg, "--x: '7q' bad");
    bench_wrap(&e, BENCH_EUSAGE, "file %s", "a.json");
    CU_ASSERT_STRING_EQUAL(e.msg, "file a.json: --x: '7q' bad");
    CU_ASSERT_EQUAL(bench_exit_code(BENCH_OK), 0);
    CU_ASSERT_EQUAL(bench_exit_code(BENCH_EUSAGE), 2);
    CU_ASSERT_EQUAL(bench_exit_code(BENCH_EIO), 1);
}

static void test_dynbuf_cap(void)
{
    dynbuf b;
    dynbuf_init(&b, 10);
    CU_ASSERT_EQUAL(dynbuf_adds(&b, "hello"), BENCH_OK);
    CU_ASSERT_EQUAL(dynbuf_adds(&b, "world"), BENCH_OK);
    CU_ASSERT_EQUAL(b.len, 10);
    /* one more byte would pass the cap: refused, contents unchanged */
    CU_ASSERT_EQUAL(dynbuf_add(&b, "!", 1), BENCH_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_STRING_EQUAL(b.p, "helloworld");
    CU_ASSERT(b.cap <= 11);
    dynbuf_reset(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(dynbuf_addf(&b, "%d-%s", 42, "x"), BENCH_OK);
    CU_ASSERT_STRING_EQUAL(b.p, "42-x");
    char *s = dynbuf_steal(&b);
    CU_ASSERT_STRING_EQUAL(s, "42-x");
    CU_ASSERT_PTR_NULL(b.p);
    free(s);
    dynbuf_free(&b);
}

static void test_dynbuf_large_printf(void)
{
    dynbuf b;
    dynbuf_init(&b, 4096);
    char big[1500];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(dynbuf_addf(&b, "%s|%s", big, big), BENCH_OK);
    CU_ASSERT_EQUAL(b.len, 2 * 1499 + 1);
    CU_ASSERT_EQUAL(dynbuf_addf(&b, "%s", big), BENCH_ETOOBIG);
    CU_ASSERT_EQUAL(b.len, 2 * 1499 + 1);
    dynbuf_free(&b);
}

static CU_TestInfo tests[] = {
    {"bench_fail/bench_wrap", test_fail_and_wrap},
    {"dynbuf cap", test_dynbuf_cap},
    {"dynbuf large printf", test_dynbuf_large_printf},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("status_dynbuf", tests);
}
