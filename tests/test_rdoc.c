/* Unit tests: base64, tables and documents rendered as Markdown and HTML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "rdoc.h"
#include "rtable.h"

/* A hand-written 1x1 RGBA PNG (67 bytes, CRCs checked) and its base64 as
 * computed independently (Python's base64 module). */
static const unsigned char png_1x1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
static const char png_1x1_b64[] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAACklEQVR4nGMAAQA"
                                  "ABQABDQottAAAAABJRU5ErkJggg==";

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, n, f), n);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

static char *read_file(const char *dir, const char *name)
{
    char path[4096], *buf = NULL;
    bench_err e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (file_read_all(path, 1 << 24, &buf, NULL, &e) != BENCH_OK)
        fprintf(stderr, "%s\n", e.msg);
    return buf;
}

/* A reference decoder, written independently of the encoder, for the
 * round-trip check. Returns the decoded length or -1 on bad input. */
static long b64_decode(const char *s, unsigned char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    long k = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            const char *p = s[i + j] == '=' ? NULL : strchr(al, s[i + j]);
            if (s[i + j] == '=')
                pad++;
            else if (!p || !s[i + j] || pad)
                return -1;
            v = v << 6 | (p ? (unsigned)(p - al) : 0);
        }
        out[k++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[k++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[k++] = (unsigned char)v;
    }
    return k;
}

static void test_base64_rfc4648(void)
{
    /* RFC 4648 section 10 */
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char *s = rdoc_base64(vec[i][0], strlen(vec[i][0]));
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, vec[i][1]);
        free(s);
    }
    /* every 6-bit value, including the '+' and '/' ends of the alphabet */
    const unsigned char hi[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
    char *s = rdoc_base64(hi, sizeof hi);
    CU_ASSERT_STRING_EQUAL(s, "+/+/ABCD");
    free(s);
    s = rdoc_base64(png_1x1, sizeof png_1x1);
    CU_ASSERT_STRING_EQUAL(s, png_1x1_b64);
    free(s);
}

static void test_base64_roundtrip(void)
{
    unsigned char in[700], back[700];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof in; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (unsigned char)(x >> 16);
    }
    for (size_t n = 0; n <= sizeof in; n++) {
        char *s = rdoc_base64(in, n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(strlen(s), (n + 2) / 3 * 4);
        long k = b64_decode(s, back);
        CU_ASSERT_EQUAL(k, (long)n);
        if (k == (long)n)
            CU_ASSERT(memcmp(in, back, n) == 0);
        free(s);
    }
}

/* Render through a memory stream; caller frees. */
static char *render(const rtable *t, int html)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    if (html)
        rtable_write_html(t, f);
    else
        rtable_write_md(t, f);
    fclose(f);
    return buf;
}

static const char table_md[] = "| Model | p\\|q | TTFT |\n"
                               "| :--- | ---: | ---: |\n"
                               "| x\\|y | <b>&\"' |  |\n"
                               "| **best** | **7** | **3** |\n";

static const char table_html[] =
    "<table>\n<thead>\n"
    "<tr><th class=\"l\">Model</th><th class=\"r\">p|q</th><th class=\"r\">TTFT</th></tr>\n"
    "</thead>\n<tbody>\n"
    "<tr><td class=\"l\">x|y</td><td class=\"r\">&lt;b&gt;&amp;&quot;&#39;</td>"
    "<td class=\"r\"></td></tr>\n"
    "<tr class=\"hl\"><td class=\"l\">best</td><td class=\"r\"><strong>7</strong></td>"
    "<td class=\"r\">3</td></tr>\n"
    "</tbody>\n</table>\n";

static rtable *sample_table(void)
{
    const char *hdr[] = {"Model", "p|q", "TTFT"};
    rtable *t = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(rtable_create(3, hdr, NULL, &t, &e), BENCH_OK);
    if (!t)
        return NULL;
    const char *r1[] = {"x|y", "<b>&\"'", NULL};
    CU_ASSERT_EQUAL(rtable_add_row(t, r1, 0, &e), BENCH_OK);
    /* already bold: not wrapped twice in Markdown, <strong> in HTML */
    const char *r2[] = {"best", rtable_fmt("**%d**", 7), rtable_fmt("%.0f", 3.0)};
    CU_ASSERT_EQUAL(rtable_add_row(t, r2, 1, &e), BENCH_OK);
    return t;
}

static void test_rtable_render(void)
{
    rtable *t = sample_table();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(rtable_rows(t), 2);
    char *md = render(t, 0), *html = render(t, 1);
    CU_ASSERT_STRING_EQUAL(md, table_md);
    CU_ASSERT_STRING_EQUAL(html, table_html);
    if (strcmp(md, table_md) || strcmp(html, table_html))
        fprintf(stderr, "md:\n%s\nhtml:\n%s\n", md, html);
    free(md);
    free(html);
    rtable_destroy(t);
}

static void test_rtable_misc(void)
{
    /* explicit alignment; a wrong one is refused naming it */
    const char *hdr[] = {"a", "b"};
    rtable *t = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(rtable_create(2, hdr, "rx", &t, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "\"rx\""));
    CU_ASSERT_EQUAL(rtable_create(0, hdr, NULL, &t, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL_FATAL(rtable_create(2, hdr, "rl", &t, &e), BENCH_OK);
    const char *row[] = {"line\none", "`a|b` c"};
    CU_ASSERT_EQUAL(rtable_add_row(t, row, 0, &e), BENCH_OK);
    char *md = render(t, 0), *html = render(t, 1);
    CU_ASSERT_STRING_EQUAL(md, "| a | b |\n| ---: | :--- |\n| line one | `a\\|b` c |\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td class=\"l\"><code>a|b</code> c</td>"));
    free(md);
    free(html);
    rtable_destroy(t);
    rtable_destroy(NULL);

    /* the ring keeps 16 results alive at once */
    const char *p[16];
    for (int i = 0; i < 16; i++)
        p[i] = rtable_fmt("v%d", i);
    for (int i = 0; i < 16; i++) {
        char want[8];
        snprintf(want, sizeof want, "v%d", i);
        CU_ASSERT_STRING_EQUAL(p[i], want);
    }
}

static void test_rdoc_document(void)
{
    char *dir = cutest_tmpdir("rdoc");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    write_file(dir, "pic.png", png_1x1, sizeof png_1x1);
    /* larger than one 3072-byte encoding slice, not a multiple of 3 */
    size_t nbig = 10001;
    unsigned char *big = malloc(nbig);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memcpy(big, png_1x1, 8);
    for (size_t i = 8; i < nbig; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 8));
    write_file(dir, "big.png", big, nbig);
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
                              "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n";
    write_file(dir, "d.svg", svg, strlen(svg));

    rdoc *d = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(rdoc_create(dir, "T <&>", &d, &e), BENCH_OK);
    rdoc_heading(d, 1, "Report");
    rdoc_para(d, "Plain `%s` and **bold** <x>", "code");
    rdoc_note(d, "simulated & %s", "fake");
    rdoc_item(d, "one");
    rdoc_item(d, "two %d", 2);
    rdoc_heading(d, 2, "Tables");
    rtable *t = sample_table();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    rdoc_table(d, t);
    rtable_destroy(t);
    rdoc_code(d, "{\"a\": 1}\n");
    CU_ASSERT_EQUAL(rdoc_image(d, "pic.png", "Pixel [1]", &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_image(d, "big.png", "Big", &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_image(d, "d.svg", "Diagram", &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_close(d, &e), BENCH_OK);

    char *md = read_file(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    char want_md[2048];
    snprintf(want_md, sizeof want_md,
             "# Report\n\n"
             "Plain `code` and **bold** <x>\n\n"
             "> **Note:** simulated & fake\n\n"
             "- one\n- two 2\n\n"
             "## Tables\n\n"
             "%s\n"
             "```\n{\"a\": 1}\n```\n\n"
             "![Pixel \\[1\\]](pic.png)\n\n"
             "![Big](big.png)\n\n"
             "![Diagram](d.svg)\n\n",
             table_md);
    CU_ASSERT_STRING_EQUAL(md, want_md);
    if (strcmp(md, want_md))
        fprintf(stderr, "report.md:\n%s\n", md);

    char *html = read_file(dir, "report.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    char *big64 = rdoc_base64(big, nbig), *svg64 = rdoc_base64(svg, strlen(svg));
    char want_png[256], *want_big = NULL, *want_svg = NULL;
    snprintf(want_png, sizeof want_png,
             "<figure>\n<img src=\"data:image/png;base64,%s\" alt=\"Pixel [1]\" "
             "data-file=\"pic.png\">\n<figcaption>Pixel [1]</figcaption>\n</figure>\n",
             png_1x1_b64);
    CU_ASSERT(asprintf(&want_big, "src=\"data:image/png;base64,%s\" alt=\"Big\"", big64) > 0);
    CU_ASSERT(asprintf(&want_svg, "src=\"data:image/svg+xml;base64,%s\" alt=\"Diagram\"", svg64) >
              0);
    const char *parts[] = {
        "<!DOCTYPE html>\n",
        "<title>T &lt;&amp;&gt;</title>",
        "<style>",
        "<main>\n<h1>Report</h1>\n"
        "<p>Plain <code>code</code> and <strong>bold</strong> &lt;x&gt;</p>\n"
        "<div class=\"note\" role=\"note\"><strong>Note:</strong> simulated &amp; fake</div>\n"
        "<ul>\n<li>one</li>\n<li>two 2</li>\n</ul>\n"
        "<h2>Tables</h2>\n<div class=\"scroll\">\n",
        table_html,
        "</div>\n<pre><code>{&quot;a&quot;: 1}\n</code></pre>\n",
        want_png,
        want_big,
        want_svg,
        "document.body.dataset.imagesLoaded",
    };
    const char *at = html;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *p = parts[i] ? strstr(at, parts[i]) : NULL;
        if (!p)
            fprintf(stderr, "report.html lacks, in order:\n%.300s\n", parts[i]);
        CU_ASSERT_PTR_NOT_NULL(p);
        if (p)
            at = p + strlen(parts[i]);
    }
    size_t hl = strlen(html);
    CU_ASSERT(hl > 7 && strcmp(html + hl - 8, "</html>\n") == 0);
    /* self-contained: every src is a data: URI; no link, stylesheet, or
     * script fetched from anywhere (the only URL is the SVG namespace, which
     * sits inside the base64) */
    for (const char *p = html; (p = strstr(p, "src=")) != NULL; p += 4)
        CU_ASSERT(strncmp(p, "src=\"data:", 10) == 0);
    CU_ASSERT_PTR_NULL(strstr(html, "http:"));
    CU_ASSERT_PTR_NULL(strstr(html, "https:"));
    CU_ASSERT_PTR_NULL(strstr(html, "<link"));
    CU_ASSERT_PTR_NULL(strstr(html, "url("));
    free(want_big);
    free(want_svg);
    free(big64);
    free(svg64);
    free(html);
    free(md);
    free(big);
    free(dir);
}

static void test_rdoc_image_errors(void)
{
    char *dir = cutest_tmpdir("rdoc-img");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    write_file(dir, "text.png", "not a png\n", 10);
    rdoc *d = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(rdoc_create(dir, "t", &d, &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_image(d, "missing.png", "x", &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "missing.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, dir));
    CU_ASSERT_EQUAL(rdoc_image(d, "text.png", "x", &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "text.png"));
    CU_ASSERT_EQUAL(rdoc_image(d, "pic.gif", "x", &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "pic.gif"));
    CU_ASSERT_EQUAL(rdoc_image(d, "/etc/x.png", "x", &e), BENCH_EUSAGE);
    /* the failed images left nothing behind; the document still closes */
    rdoc_para(d, "after");
    CU_ASSERT_EQUAL(rdoc_close(d, &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_close(NULL, &e), BENCH_OK);
    char *md = read_file(dir, "report.md"), *html = read_file(dir, "report.html");
    CU_ASSERT_STRING_EQUAL(md, "after\n\n");
    CU_ASSERT_PTR_NULL(strstr(html, "<img"));
    free(md);
    free(html);
    free(dir);
}

static void test_rdoc_unwritable(void)
{
    char *dir = cutest_tmpdir("rdoc-bad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[4096];
    rdoc *d = NULL;
    bench_err e;
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir", dir);
    CU_ASSERT_EQUAL(rdoc_create(path, "t", &d, &e), BENCH_EIO);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
    /* a regular file where the directory should be */
    write_file(dir, "plain", "x", 1);
    snprintf(path, sizeof path, "%s/plain", dir);
    CU_ASSERT_EQUAL(rdoc_create(path, "t", &d, &e), BENCH_EIO);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
    /* permissions do not stop root, so only check them as another user */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/ro", dir);
        CU_ASSERT_EQUAL_FATAL(mkdir(path, 0555), 0);
        CU_ASSERT_EQUAL(rdoc_create(path, "t", &d, &e), BENCH_EIO);
        CU_ASSERT_PTR_NULL(d);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
    }
    /* a disk that fills up: the failure surfaces at rdoc_close, naming the
     * file */
    snprintf(path, sizeof path, "%s/full", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0777), 0);
    char md[4200];
    snprintf(md, sizeof md, "%s/report.md", path);
    if (access("/dev/full", W_OK) == 0 && symlink("/dev/full", md) == 0) {
        CU_ASSERT_EQUAL_FATAL(rdoc_create(path, "t", &d, &e), BENCH_OK);
        rdoc_para(d, "some text");
        CU_ASSERT_EQUAL(rdoc_close(d, &e), BENCH_EIO);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, md));
    }
    free(dir);
}

static CU_TestInfo tests[] = {
    {"base64 RFC 4648 vectors", test_base64_rfc4648},
    {"base64 round trip", test_base64_roundtrip},
    {"rtable md/html exact", test_rtable_render},
    {"rtable alignment, escapes, fmt ring", test_rtable_misc},
    {"rdoc md and html", test_rdoc_document},
    {"rdoc image errors", test_rdoc_image_errors},
    {"rdoc unwritable outdir", test_rdoc_unwritable},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("rdoc", tests);
}
