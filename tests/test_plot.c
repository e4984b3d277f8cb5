/* Unit tests: report plots (plot.h) rendered with the templates in plots/.
 *
 * Each of the six report templates renders a small synthetic spec into a
 * temporary directory; the test checks the data file's blocks and rows and
 * that the PNG and SVG are real, non-trivial images. Also: hostile titles,
 * quotes in paths, empty series, a missing template, gnuplot missing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "plot.h"

#define MIN_IMAGE_BYTES 5120

static char g_plots_dir[4096];

static const char *plots_dir(void)
{
    snprintf(g_plots_dir, sizeof g_plots_dir, "%s/plots", cutest_root());
    return g_plots_dir;
}

static char *read_out(const char *dir, const char *name, const char *ext, size_t *len)
{
    char path[4096];
    char *buf = NULL;
    bench_err e;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    if (file_read_all(path, 64 << 20, &buf, len, &e) != BENCH_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    return buf;
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Data rows: lines that are neither blank nor comments. */
static size_t count_rows(const char *s)
{
    size_t n = 0;
    for (const char *line = s; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 0 && line[0] != '#')
            n++;
        line += len + (nl ? 1 : 0);
    }
    return n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The .dat has one block per series (series headers separated by two blank
 * lines) and `rows` data rows in all; the PNG and SVG are real images. */
static void check_outputs(const char *dir, const plot_spec *spec, size_t rows)
{
    size_t len = 0;
    char *dat = read_out(dir, spec->name, "dat", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dat);
    CU_ASSERT_EQUAL(count_substr(dat, "# series: "), spec->n_series);
    CU_ASSERT_EQUAL(count_substr(dat, "\n\n\n# series: "), spec->n_series - 1);
    CU_ASSERT_EQUAL(count_substr(dat, "\n\n\n\n"), 0);
    CU_ASSERT_EQUAL(count_rows(dat), rows);
    free(dat);

    unsigned char *png = (unsigned char *)read_out(dir, spec->name, "png", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(png);
    CU_ASSERT(len > MIN_IMAGE_BYTES);
    CU_ASSERT_FATAL(len > 24);
    CU_ASSERT(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    CU_ASSERT(memcmp(png + 12, "IHDR", 4) == 0);
    CU_ASSERT(be32(png + 16) > 300); /* width */
    CU_ASSERT(be32(png + 20) > 300); /* height */
    free(png);

    char *svg = read_out(dir, spec->name, "svg", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT(len > MIN_IMAGE_BYTES);
    const char *p = svg + strspn(svg, " \t\r\n");
    CU_ASSERT(strncmp(p, "<?xml", 5) == 0 || strncmp(p, "<svg", 4) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "</svg>"));
    free(svg);
}

/* Remove a plot's outputs and its directory, unless a check failed since
 * `failures` was taken: then they stay for a look. */
static void cleanup(const char *dir, const char *name, unsigned failures)
{
    if (CU_get_number_of_failures() != failures)
        return;
    static const char *const ext[] = {"dat", "png", "svg"};
    char path[4200];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void render_ok(const plot_spec *spec, size_t rows)
{
    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir(spec->name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    bench_err e = {""};
    bench_status st = plot_render(spec, plots_dir(), dir, &e);
    if (st)
        fprintf(stderr, "\n%s: %s\n", spec->name, e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    if (!st)
        check_outputs(dir, spec, rows);
    cleanup(dir, spec->name, failures);
    free(dir);
}

static const double conc[] = {1, 2, 4, 8, 16, 32};

static void test_ttft_vs_concurrency(void)
{
    static const double a50[] = {21, 23, 26, 34, 61, 120}, a99[] = {30, 36, 47, 72, 150, 300};
    static const double b50[] = {11, 12, 15, 21, 33, 70}, b99[] = {16, 21, 26, 41, 82, 160};
    plot_series s[] = {
        {"model-a p50", conc, a50, NULL, NULL, NULL, 6},
        {"model-a p99", conc, a99, NULL, NULL, NULL, 6},
        {"model-b p50", conc, b50, NULL, NULL, NULL, 6},
        {"model-b p99", conc, b99, NULL, NULL, NULL, 6},
    };
    plot_spec spec = {"ttft_vs_concurrency",
                      "Time to first token vs concurrency",
                      "concurrency (requests in flight)",
                      "TTFT (ms)",
                      s,
                      4,
                      0,
                      0};
    render_ok(&spec, 24);
}

static void test_throughput_vs_concurrency(void)
{
    static const double a[] = {40, 78, 150, 280, 480, 700}, b[] = {60, 118, 230, 430, 760, 1100};
    plot_series s[] = {
        {"model-a", conc, a, NULL, NULL, NULL, 6},
        {"model-b", conc, b, NULL, NULL, NULL, 6},
    };
    plot_spec spec = {"throughput_vs_concurrency",
                      "Output throughput vs concurrency",
                      "concurrency (requests in flight)",
                      "output tokens/s",
                      s,
                      2,
                      0,
                      0};
    render_ok(&spec, 12);
}

static void test_tradeoff(void)
{
    static const double ax[] = {40, 78, 150, 280, 480, 700}, bx[] = {60, 118, 230, 430, 760, 1100};
    double ay[6], by[6];
    for (int i = 0; i < 6; i++) {
        ay[i] = ax[i] / conc[i];
        by[i] = bx[i] / conc[i];
    }
    static const char *const lab[] = {"c=1", "c=2", "c=4", "c=8", "c=16", "c=32"};
    plot_series s[] = {
        {"model-a", ax, ay, NULL, NULL, lab, 6},
        {"model-b", bx, by, NULL, NULL, lab, 6},
    };
    plot_spec spec = {"tradeoff",
                      "Latency-throughput trade-off (points labelled by concurrency)",
                      "aggregate output tokens/s",
                      "per-user output tokens/s",
                      s,
                      2,
                      0,
                      0};
    render_ok(&spec, 12);

    /* the labels are the third column, quoted */
    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir("tradeoff-labels");
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(plot_render(&spec, plots_dir(), dir, &e), BENCH_OK);
    char *dat = read_out(dir, "tradeoff", "dat", NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dat, "\n280 35 \"c=8\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dat, "\n1100 34.375 \"c=32\"\n"));
    free(dat);
    cleanup(dir, "tradeoff", failures);
    free(dir);
}

static void test_ttft_cdf(void)
{
    double ax[40], ay[40], bx[25], by[25];
    for (int i = 0; i < 40; i++) {
        ax[i] = 20 + 0.02 * i * i;
        ay[i] = (i + 1) / 40.0;
    }
    for (int i = 0; i < 25; i++) {
        bx[i] = 12 + 0.3 * i;
        by[i] = (i + 1) / 25.0;
    }
    plot_series s[] = {
        {"model-a", ax, ay, NULL, NULL, NULL, 40},
        {"model-b", bx, by, NULL, NULL, NULL, 25},
    };
    plot_spec spec = {"ttft_cdf",  "TTFT distribution at concurrency 1 (CDF)",
                      "TTFT (ms)", "fraction of requests",
                      s,           2,
                      0,           0};
    render_ok(&spec, 65);
}

static void test_itl_distribution(void)
{
    double ax[30], ay[30], bx[30], by[30];
    for (int i = 0; i < 30; i++) {
        ax[i] = bx[i] = pow(10.0, -1 + (i + 0.5) / 10.0);
        ay[i] = exp(-pow((i - 12) / 3.0, 2)) / 5.3;
        by[i] = exp(-pow((i - 17) / 4.0, 2)) / 7.1;
    }
    plot_series s[] = {
        {"model-a", ax, ay, NULL, NULL, NULL, 30},
        {"model-b", bx, by, NULL, NULL, NULL, 30},
    };
    plot_spec spec = {"itl_distribution",
                      "Inter-token latency distribution (per chunk)",
                      "inter-token latency (ms, log scale)",
                      "fraction of gaps",
                      s,
                      2,
                      1,
                      0};
    render_ok(&spec, 60);
}

static void test_timeline(void)
{
    enum { N = 24 };
    double send[N], idx[N], end[N], first[N];
    for (int i = 0; i < N; i++) {
        send[i] = 0.25 * (i / 4) + 0.01 * i;
        idx[i] = i;
        first[i] = i == 5 ? NAN : send[i] + 0.05 + 0.002 * i;
        end[i] = send[i] + 0.8 + 0.03 * (i % 5);
    }
    plot_series s[] = {{"model-a", send, idx, end, first, NULL, N}};
    plot_spec spec = {"timeline",
                      "Request timeline of model-a at concurrency 4",
                      "time since level start (s)",
                      "request",
                      s,
                      1,
                      0,
                      0};
    render_ok(&spec, N);

    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir("timeline-cols");
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(plot_render(&spec, plots_dir(), dir, &e), BENCH_OK);
    char *dat = read_out(dir, "timeline", "dat", NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dat, "\n0 0 0.8 0.05\n"));  /* x y x2 y2 */
    CU_ASSERT_PTR_NOT_NULL(strstr(dat, "\n0.3 5 1.1 NaN\n")); /* no first token */
    free(dat);
    cleanup(dir, "timeline", failures);
    free(dir);
}

/* A title with a quote, a newline and gnuplot specials, series titles with
 * quotes, '|' and invalid UTF-8, and a directory with a quote in its name. */
static void test_hostile_text(void)
{
    static const double x[] = {1, 2, 4}, y[] = {10, 20, 15};
    plot_series s[] = {
        {"o'brien's \"model\" | v2", x, y, NULL, NULL, NULL, 3},
        {"bad \xff utf8\x01\tend", x, y, NULL, NULL, NULL, 3},
        {NULL, x, y, NULL, NULL, NULL, 3},
    };
    plot_spec spec = {"throughput_vs_concurrency",
                      "It's a title\nwith a newline'; system('touch pwned') #",
                      "x_{sub} & <b>",
                      "y^2 @ 'q'",
                      s,
                      3,
                      0,
                      0};
    unsigned failures = CU_get_number_of_failures();
    char *base = cutest_tmpdir("hostile");
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/it's here", base);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0777), 0);
    bench_err e = {""};
    bench_status st = plot_render(&spec, plots_dir(), dir, &e);
    if (st)
        fprintf(stderr, "\n%s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    if (!st)
        check_outputs(dir, &spec, 9);
    char *svg = read_out(dir, spec.name, "svg", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "title with a newline"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "| v2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "series 3")); /* NULL title: the template's default */
    free(svg);
    char *dat = read_out(dir, spec.name, "dat", NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dat, "# series: bad ? utf8 end\n"));
    free(dat);
    char pwned[4200];
    snprintf(pwned, sizeof pwned, "%s/pwned", dir);
    struct stat sb;
    CU_ASSERT_NOT_EQUAL(stat(pwned, &sb), 0);
    CU_ASSERT_NOT_EQUAL(stat("pwned", &sb), 0);
    cleanup(dir, spec.name, failures);
    if (CU_get_number_of_failures() == failures)
        rmdir(base);
    free(base);
}

/* Empty series keep their block (one NaN row) so later series keep their
 * index; a plot with no point at all renders a "no data" frame. */
static void test_empty_series(void)
{
    static const double x[] = {1, 2, 4}, y[] = {10, 20, 15};
    plot_series s[] = {
        {"empty", NULL, NULL, NULL, NULL, NULL, 0},
        {"full", x, y, NULL, NULL, NULL, 3},
    };
    plot_spec spec = {"throughput_vs_concurrency", "one empty series", "c", "tok/s", s, 2, 0, 0};
    render_ok(&spec, 4);

    plot_series none[] = {{"empty", NULL, NULL, NULL, NULL, NULL, 0}};
    plot_spec nodata = {"ttft_cdf", "no data at all", "TTFT (ms)", "fraction", none, 1, 0, 0};
    render_ok(&nodata, 1);
}

static void test_missing_template(void)
{
    static const double x[] = {1, 2}, y[] = {3, 4};
    plot_series s[] = {{"m", x, y, NULL, NULL, NULL, 2}};
    plot_spec spec = {"no_such_plot", "t", "x", "y", s, 1, 0, 0};
    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir("missing-template");
    bench_err e = {""};
    CU_ASSERT_EQUAL(plot_render(&spec, plots_dir(), dir, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no_such_plot.gp"));
    cleanup(dir, spec.name, failures);
    free(dir);
}

static void test_gnuplot_missing(void)
{
    static const double x[] = {1, 2}, y[] = {3, 4};
    plot_series s[] = {{"m", x, y, NULL, NULL, NULL, 2}};
    plot_spec spec = {"throughput_vs_concurrency", "t", "x", "y", s, 1, 0, 0};
    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir("no-gnuplot");
    char *empty = cutest_tmpdir("empty-path");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", empty, 1);
    bench_err e = {""};
    bench_status st = plot_render(&spec, plots_dir(), dir, &e);
    if (saved)
        setenv("PATH", saved, 1);
    else
        unsetenv("PATH");
    CU_ASSERT_EQUAL(st, BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "gnuplot not found"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "throughput_vs_concurrency"));
    /* the data is written anyway, for plotting later */
    char *dat = read_out(dir, spec.name, "dat", NULL);
    CU_ASSERT_PTR_NOT_NULL(dat);
    free(dat);
    free(saved);
    cleanup(dir, spec.name, failures);
    rmdir(empty);
    free(empty);
    free(dir);
}

/* gnuplot failing (here: a template with an error) is reported with the
 * last line of its stderr, naming the plot and the template. */
static void test_gnuplot_error(void)
{
    static const double x[] = {1, 2}, y[] = {3, 4};
    plot_series s[] = {{"m", x, y, NULL, NULL, NULL, 2}};
    plot_spec spec = {"broken", "t", "x", "y", s, 1, 0, 0};
    unsigned failures = CU_get_number_of_failures();
    char *dir = cutest_tmpdir("broken");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char gp[4200];
    snprintf(gp, sizeof gp, "%s/broken.gp", dir);
    FILE *f = fopen(gp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("set terminal dumb\nplot no_such_variable_here\n", f);
    fclose(f);
    bench_err e = {""};
    CU_ASSERT_EQUAL(plot_render(&spec, dir, dir, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "plot broken"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "broken.gp"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "exited with status"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "undefined variable: no_such_variable_here"));
    unlink(gp);
    cleanup(dir, spec.name, failures);
    free(dir);
}

static void test_bad_spec(void)
{
    plot_spec spec = {"../escape", "t", "x", "y", NULL, 0, 0, 0};
    bench_err e = {""};
    CU_ASSERT_EQUAL(plot_render(&spec, plots_dir(), "/tmp", &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "../escape"));
}

static CU_TestInfo tests[] = {
    {"ttft_vs_concurrency", test_ttft_vs_concurrency},
    {"throughput_vs_concurrency", test_throughput_vs_concurrency},
    {"tradeoff", test_tradeoff},
    {"ttft_cdf", test_ttft_cdf},
    {"itl_distribution", test_itl_distribution},
    {"timeline", test_timeline},
    {"hostile titles and paths", test_hostile_text},
    {"empty series", test_empty_series},
    {"missing template", test_missing_template},
    {"gnuplot missing", test_gnuplot_missing},
    {"gnuplot error", test_gnuplot_error},
    {"bad spec", test_bad_spec},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("plot", tests);
}
