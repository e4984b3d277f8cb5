/* Integration test of `bench report`: a results file with known timestamps,
 * written with the results writer, is reported; every number of the three
 * tables is checked exactly against hand-computed values, and every plot is a
 * valid PNG and SVG of non-trivial size. Bad inputs are named and skipped. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "results.h"

#define MS 1000000LL

static char *g_dir;

/* A level of n requests: request i sent at send0 + i * gap_ms, first token
 * TTFT = ttft0 + i * ttft_step ms later, 3 content chunks 2 ms apart (usage 3
 * tokens), end 1 ms after the last chunk. One more warm-up row (excluded). */
static void write_level(results *r, int c, int n, double gap_ms, double ttft0, double ttft_step)
{
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_level_begin(r, c, &e), BENCH_OK);
    req_record rows[16];
    chunk_record ch[64];
    size_t nc = 0;
    int64_t t_end_max = 0;
    memset(rows, 0, sizeof rows);
    for (int i = 0; i <= n; i++) {
        req_record *q = &rows[i];
        int warm = i == n;
        int64_t send = warm ? 0 : (int64_t)(i * gap_ms * MS);
        int64_t first = send + (int64_t)((warm ? 1 : ttft0 + i * ttft_step) * MS);
        q->id = (uint64_t)i;
        q->status = 0;
        q->http_status = 200;
        q->warmup = (uint8_t)warm;
        q->t_sched_ns = send;
        q->t_send_ns = send;
        q->t_first_byte_ns = send + MS / 2;
        q->t_first_token_ns = first;
        q->t_last_token_ns = first + 4 * MS;
        q->t_end_ns = first + 5 * MS;
        q->prompt_tokens = 10;
        q->output_tokens = 3;
        q->max_tokens = 3;
        q->chunk_count = 3;
        q->chunk_offset = nc;
        strcpy(q->finish_reason, "length");
        for (int k = 0; k < 3; k++)
            ch[nc++] = (chunk_record){(uint64_t)i, first + k * 2 * MS, 40, 1};
        if (q->t_end_ns > t_end_max)
            t_end_max = q->t_end_ns;
    }
    CU_ASSERT_EQUAL_FATAL(results_append_requests(r, rows, (size_t)n + 1, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(results_append_chunks(r, ch, nc, &e), BENCH_OK);
    results_level_info info = {
        .concurrency = c, .t_end_ns = t_end_max, .requests_ok = (uint64_t)n, .requests_warmup = 1};
    CU_ASSERT_EQUAL_FATAL(results_level_end(r, &info, &e), BENCH_OK);
}

static char *make_file(const char *name)
{
    char *p = cutest_path(g_dir, name);
    results_meta meta = {"test",
                         "2026-11-29T00:00:00Z",
                         "mistral-7b",
                         "mistralai/Mistral-7B-Instruct-v0.2",
                         "http://127.0.0.1:1/v1",
                         "simulated",
                         "chat",
                         "{\"requests\":4}",
                         0,
                         0};
    results *r;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_create(p, &meta, &r, &e), BENCH_OK);
    /* c=1: sends 100 ms apart, TTFT 10, 20, 30, 40 ms */
    write_level(r, 1, 4, 100, 10, 10);
    /* c=8: all sent at 0, TTFT 10, 20, ..., 80 ms */
    write_level(r, 8, 8, 0, 10, 10);
    CU_ASSERT_EQUAL_FATAL(results_close(r, &e), BENCH_OK);
    return p;
}

static int has_line(const char *text, const char *line)
{
    const char *p = strstr(text, line);
    if (!p)
        fprintf(stderr, "report.md lacks the line:\n%s\n", line);
    return p != NULL;
}

static void check_png(const char *path)
{
    char *buf = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(path, 1 << 24, &buf, &n, &e), BENCH_OK);
    CU_ASSERT(n > 5000);
    CU_ASSERT(n > 24 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
    /* IHDR width and height, big-endian at bytes 16 and 20 */
    unsigned w = ((unsigned char)buf[16] << 24) | ((unsigned char)buf[17] << 16) |
                 ((unsigned char)buf[18] << 8) | (unsigned char)buf[19];
    unsigned h = ((unsigned char)buf[20] << 24) | ((unsigned char)buf[21] << 16) |
                 ((unsigned char)buf[22] << 8) | (unsigned char)buf[23];
    CU_ASSERT(w >= 400 && h >= 300);
    free(buf);
}

static void check_svg(const char *path)
{
    char *buf = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(path, 1 << 24, &buf, &n, &e), BENCH_OK);
    CU_ASSERT(n > 5000);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<svg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "</svg>"));
    free(buf);
}

static void test_known_tables(void)
{
    char *h5 = make_file("known.h5");
    char *out = cutest_path(g_dir, "known-report");
    const char *argv[] = {cutest_bench_exe(), "report", h5,  "--out", out, "--slo",
                          "ttft=25ms",        "--json", NULL};
    char *so = NULL, *se = NULL;
    int rc = cutest_spawn(argv, &so, &se, 120);
    if (rc != 0)
        fprintf(stderr, "bench report exited %d: %s\n", rc, se);
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    char *mdp = cutest_path(g_dir, "known-report/report.md"), *md = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(mdp, 1 << 22, &md, NULL, &e), BENCH_OK);
    /* Table 1. c=1 TTFT 10, 20, 30, 40 ms: p50 25, p99 30 + 0.97 * 10 = 39.7;
     * published 35 / 79: -28.6%, -49.7%. */
    CU_ASSERT(has_line(md, "| mistral-7b | 25.0 | 39.7 | 32K | 35 | 79 | -28.6% | -49.7% | 4 |"));
    /* Table 2. c=1: 12 tokens over 0 .. 345 ms = 34.78 tok/s; c=8: 24 tokens
     * over 0 .. 85 ms = 282.35 tok/s; published 1560 / 4820; delta -94.1%. */
    CU_ASSERT(has_line(md, "| mistral-7b | 35 | **282** | 1560 | 4820 | -94.1% |"));
    /* Table 3: published quality beside blank measured columns. */
    CU_ASSERT(has_line(md, "| mistral-7b |  |  |  | 62.5 | 30.5 | 6.84 | - | - | - |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "SIMULATED"));
    free(md);
    free(mdp);

    /* Detail figures through --json: c=8 TTFT 10..80 ms. */
    cJSON *j = cJSON_Parse(so);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(m, "model")->valuestring, "mistral-7b");
    cJSON *l8 = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "levels"), 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l8, "concurrency")->valueint, 8);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l8, "requests_ok")->valueint, 8);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l8, "requests_warmup")->valueint, 1);
    cJSON *t = cJSON_GetObjectItem(l8, "ttft_ms");
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(t, "p50")->valuedouble, 45, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(t, "p90")->valuedouble, 73, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(t, "p99")->valuedouble, 79.3, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(t, "mean")->valuedouble, 45, 1e-9);
    /* TPOT (4 ms / 2) = 2 ms; ITL 2 ms; E2E = TTFT + 4 ms */
    CU_ASSERT_DOUBLE_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(l8, "tpot_ms"), "p99")->valuedouble, 2, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(l8, "itl_ms"), "max")->valuedouble, 2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(
        cJSON_GetObjectItem(cJSON_GetObjectItem(l8, "e2e_ms"), "p50")->valuedouble, 49, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(l8, "output_tok_s")->valuedouble, 24 / 0.085, 1e-6);
    /* goodput: TTFT <= 25 ms holds for 10 and 20 ms: 2 of 8 */
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l8, "good_requests")->valueint, 2);
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(l8, "good_fraction")->valuedouble, 0.25, 1e-12);
    cJSON_Delete(j);

    const char *plots[] = {"ttft_vs_concurrency",
                           "throughput_vs_concurrency",
                           "tradeoff",
                           "ttft_cdf",
                           "itl_distribution",
                           "timeline"};
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "known-report/%s.png", plots[i]);
        char *p = cutest_path(g_dir, name);
        check_png(p);
        free(p);
        snprintf(name, sizeof name, "known-report/%s.svg", plots[i]);
        p = cutest_path(g_dir, name);
        check_svg(p);
        free(p);
        snprintf(name, sizeof name, "known-report/%s.dat", plots[i]);
        p = cutest_path(g_dir, name);
        CU_ASSERT_EQUAL(access(p, R_OK), 0);
        free(p);
    }
    char *html = cutest_path(g_dir, "known-report/report.html"), *hb = NULL;
    CU_ASSERT_EQUAL(file_read_all(html, 1 << 26, &hb, NULL, &e), BENCH_OK);
    if (hb) {
        CU_ASSERT_PTR_NOT_NULL(strstr(hb, "data:image/png;base64,"));
        CU_ASSERT_PTR_NULL(strstr(hb, "http://cdn"));
    }
    free(hb);
    free(html);
    free(so);
    free(se);
    free(out);
    free(h5);
}

/* A missing file and a text file are named and skipped; the good file is
 * still reported; the exit status says something was wrong. */
static void test_bad_inputs(void)
{
    char *good = make_file("good.h5");
    char *bad = cutest_path(g_dir, "bad.h5");
    FILE *f = fopen(bad, "w");
    fputs("this is not HDF5\n", f);
    fclose(f);
    char *out = cutest_path(g_dir, "mixed-report");
    const char *argv[] = {
        cutest_bench_exe(), "report", "/nonexistent/run.h5", bad, good, "--out", out,
        "--no-plots",       NULL};
    char *se = NULL;
    int rc = cutest_spawn(argv, NULL, &se, 60);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(se, "/nonexistent/run.h5"));
    CU_ASSERT_PTR_NOT_NULL(strstr(se, bad));
    char *md = cutest_path(g_dir, "mixed-report/report.md");
    CU_ASSERT_EQUAL(access(md, R_OK), 0);
    free(md);
    free(se);
    /* nothing readable at all: exit 2, no report claimed; one file: its own
     * message, in one line */
    const char *argv2[] = {cutest_bench_exe(), "report", bad, "--out", out, NULL};
    se = NULL;
    rc = cutest_spawn(argv2, NULL, &se, 60);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(se && strstr(se, "not an HDF5 file"));
    CU_ASSERT(se && strstr(se, bad));
    size_t lines = 0;
    for (const char *q = se; q && *q; q++)
        lines += *q == '\n';
    CU_ASSERT_EQUAL(lines, 1);
    free(se);
    const char *argv2b[] = {
        cutest_bench_exe(), "report", "/nonexistent/run.h5", bad, "--out", out, NULL};
    se = NULL;
    rc = cutest_spawn(argv2b, NULL, &se, 60);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(se && strstr(se, "no readable results files"));
    free(se);
    const char *argv3[] = {cutest_bench_exe(), "report", good, "--slo", "ttft=fast", NULL};
    se = NULL;
    rc = cutest_spawn(argv3, NULL, &se, 60);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(se, "--slo"));
    free(se);
    free(out);
    free(bad);
    free(good);
}

static CU_TestInfo tests[] = {
    {"tables from known timestamps, plots valid", test_known_tables},
    {"bad inputs named and skipped", test_bad_inputs},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    g_dir = cutest_tmpdir("report");
    if (!g_dir)
        return 1;
    return cutest_run("report", tests);
}
