/* Unit tests: flag value parsing (levels, durations, timeouts) and the
 * configuration's JSON form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cutest.h"

static void test_levels(void)
{
    int lv[CONFIG_MAX_LEVELS];
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL(config_parse_levels("8", "--c", lv, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(lv[0], 8);
    CU_ASSERT_EQUAL(config_parse_levels("1-8", "--c", lv, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(lv[0], 1);
    CU_ASSERT_EQUAL(lv[7], 8);
    CU_ASSERT_EQUAL(config_parse_levels("8,1,2,4,2", "--c", lv, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT(lv[0] == 1 && lv[1] == 2 && lv[2] == 4 && lv[3] == 8);
    CU_ASSERT_EQUAL(config_parse_levels("1-3,16,64", "--c", lv, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(lv[4], 64);
}

static void test_levels_bad(void)
{
    int lv[CONFIG_MAX_LEVELS];
    size_t n = 0;
    bench_err e;
    const char *bad[] = {"", "0", "-3", "a", "1,,2", "1,", "8-1", "1-x", "99999999", "2.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        CU_ASSERT_EQUAL(config_parse_levels(bad[i], "--concurrency", lv, &n, &e), BENCH_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--concurrency"));
    }
    CU_ASSERT_EQUAL(config_parse_levels("1-300", "--concurrency", lv, &n, &e), BENCH_EUSAGE);
    /* the message starts with the flag; the list is named when it has more */
    CU_ASSERT_EQUAL(config_parse_levels("0", "--concurrency", lv, &n, &e), BENCH_EUSAGE);
    CU_ASSERT_STRING_EQUAL(e.msg, "--concurrency: 0 is out of range [1, 65536]");
    CU_ASSERT_EQUAL(config_parse_levels("1,0,8", "--concurrency", lv, &n, &e), BENCH_EUSAGE);
    CU_ASSERT_STRING_EQUAL(e.msg, "--concurrency: 0 is out of range [1, 65536] (in '1,0,8')");
}

static void test_durations(void)
{
    double d;
    bench_err e;
    CU_ASSERT_EQUAL(config_parse_duration("30", "--t", &d, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 30, 1e-12);
    CU_ASSERT_EQUAL(config_parse_duration("250ms", "--t", &d, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.25, 1e-12);
    CU_ASSERT_EQUAL(config_parse_duration("2m", "--t", &d, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 120, 1e-12);
    CU_ASSERT_EQUAL(config_parse_duration("1.5s", "--t", &d, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(d, 1.5, 1e-12);
    CU_ASSERT_EQUAL(config_parse_duration("0", "--t", &d, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(config_parse_duration("5parsecs", "--t", &d, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "parsecs"));
    CU_ASSERT_EQUAL(config_parse_duration("x", "--t", &d, &e), BENCH_EUSAGE);
}

static void test_timeouts(void)
{
    run_config c;
    bench_err e;
    config_defaults(&c);
    CU_ASSERT_EQUAL(config_parse_timeouts("connect=2s,idle=500ms", &c.timeout, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(c.timeout.connect_s, 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.timeout.idle_s, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.timeout.first_token_s, 120, 1e-12);
    CU_ASSERT_EQUAL(config_parse_timeouts("first-token=1m,total=1h", &c.timeout, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(c.timeout.first_token_s, 60, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.timeout.total_s, 3600, 1e-12);
    CU_ASSERT_EQUAL(config_parse_timeouts("coffee=1s", &c.timeout, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "coffee"));
    CU_ASSERT_EQUAL(config_parse_timeouts("idle", &c.timeout, &e), BENCH_EUSAGE);
}

static void test_json_has_no_secret(void)
{
    run_config c;
    config_defaults(&c);
    c.model = strdup("mistral-7b");
    setenv("OPENAI_API_KEY", "sk-test-SECRET-123", 1);
    char *j = config_to_json(&c, "mistralai/x", "http://127.0.0.1:1/v1", "simulated");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NULL(strstr(j, "SECRET"));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"api_key_env\":\"OPENAI_API_KEY\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"concurrency\":[1,2,3,4,5,6,7,8]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"endpoint_kind\":\"simulated\""));
    free(j);
    config_free(&c);
}

static void test_requests_per_level(void)
{
    run_config c;
    bench_err e;
    config_defaults(&c);
    CU_ASSERT_EQUAL(config_requests_for(&c, 1), 100);
    CU_ASSERT_EQUAL(config_parse_requests("60,c1=300,c8=120", &c, &e), BENCH_OK);
    CU_ASSERT_EQUAL(config_requests_for(&c, 1), 300);
    CU_ASSERT_EQUAL(config_requests_for(&c, 8), 120);
    CU_ASSERT_EQUAL(config_requests_for(&c, 4), 60);
    CU_ASSERT_EQUAL(config_parse_requests("c2=7", &c, &e), BENCH_OK);
    CU_ASSERT_EQUAL(config_requests_for(&c, 2), 7);
    CU_ASSERT_EQUAL(config_requests_for(&c, 1), 60); /* replaced, default kept */
    CU_ASSERT_EQUAL(config_parse_requests("5,c0=3", &c, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--requests"));
    CU_ASSERT_EQUAL(config_parse_requests("5,6", &c, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(config_parse_requests("5,c1=0", &c, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(config_parse_requests("", &c, &e), BENCH_EUSAGE);
    config_free(&c);
}

/* The key out of messages: whole, cut at the end, cut before "...". */
static void test_redact(void)
{
    const char *key = "sk-test-0123456789abcdef";
    char m[256];
    snprintf(m, sizeof m, "HTTP 401: bad key Bearer %s (twice: %s)", key, key);
    config_redact(m, key);
    CU_ASSERT_STRING_EQUAL(m, "HTTP 401: bad key Bearer [redacted] (twice: [redacted])");
    snprintf(m, sizeof m, "HTTP 401: cut Bearer sk-test-0123");
    config_redact(m, key);
    CU_ASSERT_STRING_EQUAL(m, "HTTP 401: cut Bearer [redacted]");
    snprintf(m, sizeof m, "HTTP 401: cut Bearer sk-t...");
    config_redact(m, key);
    CU_ASSERT_STRING_EQUAL(m, "HTTP 401: cut Bearer ****...");
    snprintf(m, sizeof m, "no key here: sk-");
    config_redact(m, key);
    CU_ASSERT_STRING_EQUAL(m, "no key here: sk-"); /* under 4 characters: left */
    snprintf(m, sizeof m, "short abc key abc");
    config_redact(m, "abc");
    CU_ASSERT_STRING_EQUAL(m, "short *** key ***");
    config_redact(m, NULL);
    config_redact(m, "");
    CU_ASSERT_STRING_EQUAL(m, "short *** key ***");
}

static void test_tls(void)
{
    run_config c;
    bench_err e;
    config_defaults(&c);
    CU_ASSERT_STRING_EQUAL(config_tls_mode(&c.tls), "system");
    CU_ASSERT_EQUAL(config_tls_check(&c.tls, "--", &e), BENCH_OK);
    char *j = config_to_json(&c, "m", "https://h/v1", "remote");
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"tls\":{\"verify\":\"system\",\"cacert\":null}"));
    CU_ASSERT_EQUAL(config_json_insecure(j), 0);
    free(j);
    c.tls.insecure = 1;
    j = config_to_json(&c, "m", "https://h/v1", "remote");
    CU_ASSERT_EQUAL(config_json_insecure(j), 1);
    free(j);
    c.tls.cacert = strdup("/no/such/ca.pem");
    CU_ASSERT_EQUAL(config_tls_check(&c.tls, "--", &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "contradict"));
    c.tls.insecure = 0;
    CU_ASSERT_STRING_EQUAL(config_tls_mode(&c.tls), "cacert");
    CU_ASSERT_EQUAL(config_tls_check(&c.tls, "--judge-", &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(strncmp(e.msg, "--judge-cacert: /no/such/ca.pem: ", 33), 0);
    config_free(&c);
    CU_ASSERT_PTR_NULL(c.tls.cacert);
}

/* --rate lists and ranges (requests/s), per-rate counts, the open-loop
 * cap against the descriptor limit, and the configuration JSON of a rate
 * run. */
static void test_rates(void)
{
    double r[CONFIG_MAX_LEVELS];
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL(config_parse_rates("4,1,2.5,1", "--rate", r, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_DOUBLE_EQUAL(r[0], 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(r[1], 2.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(r[2], 4, 0);
    CU_ASSERT_EQUAL(config_parse_rates("1-4", "--rate", r, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_DOUBLE_EQUAL(r[3], 4, 0);
    CU_ASSERT_EQUAL(config_parse_rates("0.1-0.3:0.1,8", "--rate", r, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_DOUBLE_EQUAL(r[2], 0.3, 0); /* 0.3, not 0.30000000000000004 */
    char name[LEVEL_NAME_MAX];
    CU_ASSERT_STRING_EQUAL(level_format(level_rate(r[2]), name, sizeof name), "r0.3");
    CU_ASSERT_EQUAL(config_parse_rates("1-2:0.5", "--rate", r, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 3);
    const char *bad[] = {"",    "0",     "-1",  "x",   "1,",   "3-1",
                         "1:2", "1-2:0", "1e9", "nan", "0x10", "200000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(config_parse_rates(bad[i], "--rate", r, &n, &e), BENCH_EUSAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--rate"));
    }

    run_config c;
    config_defaults(&c);
    CU_ASSERT_EQUAL(config_level_count(&c), 8);
    CU_ASSERT(level_eq(config_level(&c, 0), level_conc(1)));
    CU_ASSERT_EQUAL(config_parse_rates("2,2.5", "--rate", c.rates, &c.n_rates, &e), BENCH_OK);
    CU_ASSERT_EQUAL(config_level_count(&c), 2);
    CU_ASSERT(level_eq(config_level(&c, 1), level_rate(2.5)));
    CU_ASSERT_EQUAL(config_parse_requests("60,r2.5=300,c1=9", &c, &e), BENCH_OK);
    CU_ASSERT_EQUAL(config_requests_for_level(&c, level_rate(2.5)), 300);
    CU_ASSERT_EQUAL(config_requests_for_level(&c, level_rate(2)), 60);
    CU_ASSERT_EQUAL(config_requests_for_level(&c, level_conc(1)), 9);
    CU_ASSERT_EQUAL(config_parse_requests("60,r1-2=3", &c, &e), BENCH_EUSAGE);

    /* the in-flight cap: default 1024, lowered to the limit less the
     * reserve; an explicit cap above it is an error naming the flag */
    int cap = 0;
    CU_ASSERT_EQUAL(config_max_inflight(&c, 1 << 20, &cap, &e), BENCH_OK);
    CU_ASSERT_EQUAL(cap, CONFIG_DEFAULT_MAX_INFLIGHT);
    CU_ASSERT_EQUAL(config_max_inflight(&c, 1024, &cap, &e), BENCH_OK);
    CU_ASSERT_EQUAL(cap, 1024 - CONFIG_FD_RESERVE);
    c.max_concurrency = 2000;
    CU_ASSERT_EQUAL(config_max_inflight(&c, 1 << 20, &cap, &e), BENCH_OK);
    CU_ASSERT_EQUAL(cap, 2000);
    CU_ASSERT_EQUAL(config_max_inflight(&c, 1024, &cap, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--max-concurrency: 2000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "ulimit -n"));

    c.arrival = (schedule_arrival){ARRIVAL_GAMMA, 2};
    char *j = config_to_json(&c, "m", "http://127.0.0.1:1/v1", "simulated");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"mode\":\"rate\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"rate\":[2,2.5]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"arrival\":\"gamma:2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"r2.5\":300"));
    CU_ASSERT_PTR_NULL(strstr(j, "\"concurrency\""));
    free(j);
    config_free(&c);
}

static CU_TestInfo tests[] = {
    {"requests per level", test_requests_per_level},
    {"rate lists, ranges, cap", test_rates},
    {"concurrency lists and ranges", test_levels},
    {"bad concurrency values", test_levels_bad},
    {"durations with units", test_durations},
    {"timeout spec", test_timeouts},
    {"config JSON without secrets", test_json_has_no_secret},
    {"the key redacted from messages", test_redact},
    {"TLS options: check, mode, JSON", test_tls},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("config", tests);
}
