/* Unit tests: the percentile method (pinned against hand-computed values,
 * numpy's default linear interpolation) and per-level metrics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cutest.h"
#include "metrics.h"
#include "stats.h"

static void test_percentile_hand_computed(void)
{
    /* numpy.percentile([1, 2, 3, 4], q): 50 -> 2.5, 90 -> 3.7, 99 -> 3.97, 25 -> 1.75 */
    double v[] = {1, 2, 3, 4};
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 50), 2.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 90), 3.7, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 99), 3.97, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 25), 1.75, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 0), 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(v, 4, 100), 4, 1e-12);
    /* numpy.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 99.9) = 99.91 */
    double w[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(w, 10, 99.9), 99.91, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(w, 10, 95), 95.5, 1e-9);
    double one[] = {7};
    CU_ASSERT_DOUBLE_EQUAL(stats_percentile_sorted(one, 1, 99), 7, 1e-12);
    CU_ASSERT(isnan(stats_percentile_sorted(one, 0, 50)));
}

static void test_dist(void)
{
    double v[] = {5, 1, 4, 2, 3};
    stats_dist d;
    stats_dist_compute(v, 5, &d);
    CU_ASSERT_EQUAL(d.n, 5);
    CU_ASSERT_DOUBLE_EQUAL(d.mean, 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d.min, 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d.max, 5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d.p50, 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d.p90, 4.6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d.p99, 4.96, 1e-12);
    stats_dist_compute(v, 0, &d);
    CU_ASSERT(isnan(d.p50) && d.n == 0);
}

#define MS 1000000LL

static void test_level_metrics(void)
{
    /* Two measured ok requests, one warm-up, one failure. */
    req_record r[4];
    memset(r, 0, sizeof r);
    chunk_record c[7];
    /* request 0: send 0, chunks at 10, 12, 16 ms; usage says 4 tokens */
    r[0] = (req_record){.id = 0,
                        .status = REQ_OK,
                        .t_send_ns = 0,
                        .t_first_token_ns = 10 * MS,
                        .t_last_token_ns = 16 * MS,
                        .t_end_ns = 17 * MS,
                        .output_tokens = 4,
                        .prompt_tokens = 10,
                        .chunk_offset = 0,
                        .chunk_count = 3};
    c[0] = (chunk_record){0, 10 * MS, 5, 1};
    c[1] = (chunk_record){0, 12 * MS, 5, 1};
    c[2] = (chunk_record){0, 16 * MS, 5, 2};
    /* request 1: send 5, chunks at 25, 30; no usage (2 chunks count) */
    r[1] = (req_record){.id = 1,
                        .status = REQ_OK,
                        .t_send_ns = 5 * MS,
                        .t_first_token_ns = 25 * MS,
                        .t_last_token_ns = 30 * MS,
                        .t_end_ns = 40 * MS,
                        .output_tokens = -1,
                        .prompt_tokens = -1,
                        .chunk_offset = 3,
                        .chunk_count = 2};
    c[3] = (chunk_record){1, 25 * MS, 5, 1};
    c[4] = (chunk_record){1, 30 * MS, 5, 1};
    /* request 2: warm-up, excluded */
    r[2] = (req_record){.id = 2,
                        .status = REQ_OK,
                        .warmup = 1,
                        .t_send_ns = -50 * MS,
                        .t_first_token_ns = 1,
                        .t_last_token_ns = 2,
                        .t_end_ns = 3,
                        .output_tokens = 2,
                        .chunk_offset = 5,
                        .chunk_count = 2};
    c[5] = (chunk_record){2, 1, 5, 1};
    c[6] = (chunk_record){2, 2, 5, 1};
    /* request 3: failed, http error, ends at 20 ms */
    r[3] = (req_record){.id = 3,
                        .status = REQ_HTTP_ERROR,
                        .t_send_ns = 1 * MS,
                        .t_first_token_ns = -1,
                        .t_last_token_ns = -1,
                        .t_end_ns = 20 * MS,
                        .output_tokens = -1,
                        .chunk_offset = 7,
                        .chunk_count = 0};
    level_metrics m;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(metrics_level(r, 4, c, 7, 2, &m, &e), BENCH_OK);
    CU_ASSERT_EQUAL(m.n_rows, 4);
    CU_ASSERT_EQUAL(m.n_warmup, 1);
    CU_ASSERT_EQUAL(m.n_measured, 3);
    CU_ASSERT_EQUAL(m.n_ok, 2);
    CU_ASSERT_EQUAL(m.n_failed, 1);
    CU_ASSERT_EQUAL(m.by_class[REQ_HTTP_ERROR], 1);
    /* TTFT 10 and 20 ms */
    CU_ASSERT_DOUBLE_EQUAL(m.ttft_ms.p50, 15, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.ttft_ms.max, 20, 1e-9);
    /* E2E to the last content chunk: 16 and 25 ms */
    CU_ASSERT_DOUBLE_EQUAL(m.e2e_ms.min, 16, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.e2e_ms.max, 25, 1e-9);
    /* TPOT: (16-10)/(4-1) = 2 ms, (30-25)/(2-1) = 5 ms */
    CU_ASSERT_DOUBLE_EQUAL(m.tpot_ms.min, 2, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.tpot_ms.max, 5, 1e-9);
    /* ITL per chunk: 2, 4, 5 ms */
    CU_ASSERT_EQUAL(m.itl_ms.n, 3);
    CU_ASSERT_DOUBLE_EQUAL(m.itl_ms.p50, 4, 1e-9);
    /* window: first measured send 0 -> last measured end 40 ms; 6 tokens */
    CU_ASSERT_DOUBLE_EQUAL(m.duration_s, 0.040, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.output_tokens, 6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.output_tps, 150, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.req_per_s, 50, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.error_rate, 1.0 / 3.0, 1e-12);
    CU_ASSERT_EQUAL(m.n_usage, 1);
    /* a chunk range outside the table is refused */
    r[1].chunk_count = 9;
    CU_ASSERT_EQUAL(metrics_level(r, 4, c, 7, 2, &m, &e), BENCH_EINPUT);
}

/* ITL per token, goodput under an SLO, schedule lag and the steady-state
 * window, hand-computed. */
static void test_level_metrics_extended(void)
{
    req_record r[3];
    chunk_record c[5];
    memset(r, 0, sizeof r);
    /* request 0: sched 0, send 1 ms, chunks at 11, 13 (2 tokens), 17: usage 4 */
    r[0] = (req_record){.id = 0,
                        .status = REQ_OK,
                        .t_sched_ns = 0,
                        .t_send_ns = 1 * MS,
                        .t_first_token_ns = 11 * MS,
                        .t_last_token_ns = 17 * MS,
                        .t_end_ns = 18 * MS,
                        .output_tokens = 4,
                        .prompt_tokens = 5,
                        .chunk_offset = 0,
                        .chunk_count = 3};
    c[0] = (chunk_record){0, 11 * MS, 5, 1};
    c[1] = (chunk_record){0, 13 * MS, 5, 2};
    c[2] = (chunk_record){0, 17 * MS, 5, 1};
    /* request 1: TTFT 50 ms, misses a 40 ms TTFT SLO */
    r[1] = (req_record){.id = 1,
                        .status = REQ_OK,
                        .t_sched_ns = 2 * MS,
                        .t_send_ns = 2 * MS,
                        .t_first_token_ns = 52 * MS,
                        .t_last_token_ns = 54 * MS,
                        .t_end_ns = 55 * MS,
                        .output_tokens = 2,
                        .prompt_tokens = 5,
                        .chunk_offset = 3,
                        .chunk_count = 2};
    c[3] = (chunk_record){1, 52 * MS, 5, 1};
    c[4] = (chunk_record){1, 54 * MS, 5, 1};
    /* request 2: ends after the window: excluded */
    r[2] = (req_record){.id = 2,
                        .status = REQ_HTTP_ERROR,
                        .t_sched_ns = 3 * MS,
                        .t_send_ns = 3 * MS,
                        .t_first_token_ns = -1,
                        .t_last_token_ns = -1,
                        .t_end_ns = 900 * MS,
                        .output_tokens = -1,
                        .chunk_offset = 5};
    metrics_opts o;
    metrics_opts_default(&o);
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(metrics_parse_slo("ttft=40ms,tpot=0.01s", &o.slo, &e), BENCH_OK);
    CU_ASSERT_DOUBLE_EQUAL(o.slo.ttft_ms, 40, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(o.slo.tpot_ms, 10, 1e-12);
    CU_ASSERT(isnan(o.slo.e2e_ms));
    o.window_lo_ns = 0;
    o.window_hi_ns = 100 * MS;
    metrics_acc *a;
    CU_ASSERT_EQUAL_FATAL(metrics_acc_create(4, &o, &a, &e), BENCH_OK);
    CU_ASSERT_EQUAL(metrics_acc_add(a, r, 3, c, 5, &e), BENCH_OK);
    level_metrics m;
    CU_ASSERT_EQUAL_FATAL(metrics_acc_finish(a, &m, &e), BENCH_OK);
    metrics_acc_destroy(a);
    CU_ASSERT_EQUAL(m.n_excluded_window, 1);
    CU_ASSERT_EQUAL(m.n_measured, 2);
    CU_ASSERT_EQUAL(m.n_failed, 0);
    /* per chunk gaps: 2, 4, 2 ms; per token: 1, 1 (2-token chunk), 4, 2 */
    CU_ASSERT_EQUAL(m.itl_ms.n, 3);
    CU_ASSERT_EQUAL(m.itl_token_ms.n, 4);
    CU_ASSERT_DOUBLE_EQUAL(m.itl_token_ms.min, 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(m.itl_token_ms.p50, 1.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(m.itl_token_ms.max, 4, 1e-6);
    /* request 0 sent 3 chunks for 4 tokens */
    CU_ASSERT(m.chunks_ne_tokens);
    /* schedule lag 1 ms and 0 ms */
    CU_ASSERT_DOUBLE_EQUAL(m.queue_ms.max, 1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(m.queue_ms.min, 0, 1e-9);
    /* goodput: request 0 TTFT 10 ms, TPOT 2 ms: good; request 1 TTFT 50: not */
    CU_ASSERT(m.has_slo);
    CU_ASSERT_EQUAL(m.n_good, 1);
    CU_ASSERT_DOUBLE_EQUAL(m.good_fraction, 0.5, 1e-12);
    /* window: sends 1..2 ms to ends ..55 ms = 54 ms */
    CU_ASSERT_DOUBLE_EQUAL(m.good_req_per_s, 1 / 0.054, 1e-9);

    CU_ASSERT_EQUAL(metrics_parse_slo("ttft=100", &o.slo, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(metrics_parse_slo("latency=1s", &o.slo, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "latency"));
    CU_ASSERT_EQUAL(metrics_parse_slo("e2e=-1s", &o.slo, &e), BENCH_EUSAGE);
}

static CU_TestInfo tests[] = {
    {"percentiles, hand-computed (numpy linear)", test_percentile_hand_computed},
    {"distribution summary", test_dist},
    {"level metrics definitions", test_level_metrics},
    {"ITL per token, goodput, lag, window", test_level_metrics_extended},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("stats", tests);
}
