/* Integration test: report.html opened in Debian's headless chromium.
 *
 * The page's own script counts the images that decoded and records
 * data-images-loaded="ok/total" on <body>; --dump-dom shows the DOM after
 * load, so the check is what a reader's browser sees, without network
 * (data: URIs only; host resolution is disabled for good measure). A
 * corrupted copy proves the check can fail. chromium is a test dependency
 * (scripts/bootstrap.sh installs it): its absence fails the test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "rdoc.h"
#include "rtable.h"

#define CHROMIUM "/usr/bin/chromium"

/* ------------------------------------------------ a tiny PNG encoder */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

/* One chunk: length, type, data, CRC over type and data. */
static unsigned char *put_chunk(unsigned char *p, const char *type, const unsigned char *data,
                                size_t n)
{
    p = put32(p, (uint32_t)n);
    memcpy(p, type, 4);
    if (n)
        memcpy(p + 4, data, n);
    uint32_t c = crc32_of(p, n + 4);
    return put32(p + 4 + n, c);
}

/* An RGB w x h PNG of a diagonal gradient with a dark frame, its pixels in
 * stored (uncompressed) deflate blocks: valid without zlib. Caller frees. */
static unsigned char *make_png(unsigned w, unsigned h, size_t *len)
{
    size_t raw_n = (size_t)h * (1 + 3 * (size_t)w);
    size_t nblocks = raw_n / 65535 + 1;
    size_t z_n = 2 + raw_n + 5 * nblocks + 4;
    unsigned char *raw = malloc(raw_n), *z = malloc(z_n), *png = malloc(z_n + 64);
    if (!raw || !z || !png) {
        free(raw);
        free(z);
        free(png);
        return NULL;
    }
    unsigned char *r = raw;
    for (unsigned y = 0; y < h; y++) {
        *r++ = 0; /* filter: none */
        for (unsigned x = 0; x < w; x++) {
            int frame = x < 4 || y < 4 || x >= w - 4 || y >= h - 4;
            *r++ = frame ? 30 : (unsigned char)(255 * x / w);
            *r++ = frame ? 40 : (unsigned char)(255 * y / h);
            *r++ = frame ? 60 : 200;
        }
    }
    /* zlib stream: header, stored blocks, Adler-32 */
    unsigned char *q = z;
    *q++ = 0x78;
    *q++ = 0x01;
    uint32_t a = 1, b = 0;
    for (size_t off = 0; off < raw_n;) {
        size_t k = raw_n - off < 65535 ? raw_n - off : 65535;
        *q++ = off + k == raw_n ? 1 : 0;
        *q++ = (unsigned char)k;
        *q++ = (unsigned char)(k >> 8);
        *q++ = (unsigned char)~k;
        *q++ = (unsigned char)(~k >> 8);
        memcpy(q, raw + off, k);
        for (size_t i = 0; i < k; i++) {
            a = (a + raw[off + i]) % 65521;
            b = (b + a) % 65521;
        }
        q += k;
        off += k;
    }
    q = put32(q, b << 16 | a);
    unsigned char ihdr[13];
    put32(ihdr, w);
    put32(ihdr + 4, h);
    memcpy(ihdr + 8, "\x08\x02\x00\x00\x00", 5); /* 8-bit RGB */
    unsigned char *p = png;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p = put_chunk(p + 8, "IHDR", ihdr, sizeof ihdr);
    p = put_chunk(p, "IDAT", z, (size_t)(q - z));
    p = put_chunk(p, "IEND", NULL, 0);
    *len = (size_t)(p - png);
    free(raw);
    free(z);
    return png;
}

/* ------------------------------------------------------------ helpers */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, n, f), n);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* dir/name, malloc'ed. A test program out of memory cannot go on. */
static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0) {
        fprintf(stderr, "out of memory joining %s/%s\n", dir, name);
        abort();
    }
    return p;
}

/* Run chromium headless on dir/page with a fresh profile and one or two mode
 * flags (--dump-dom, or the screenshot options; mode2 may be NULL). Returns
 * its stdout (caller frees) or NULL. */
static char *chromium(const char *dir, const char *page, const char *mode1, const char *mode2)
{
    char *profile = cutest_tmpdir("chromium-profile");
    CU_ASSERT_PTR_NOT_NULL_FATAL(profile);
    char *udd = NULL, *url = NULL;
    CU_ASSERT_FATAL(asprintf(&udd, "--user-data-dir=%s", profile) > 0);
    CU_ASSERT_FATAL(asprintf(&url, "file://%s/%s", dir, page) > 0);
    const char *argv[20];
    size_t k = 0;
    argv[k++] = CHROMIUM;
    argv[k++] = "--headless";
    argv[k++] = "--no-sandbox";
    argv[k++] = "--disable-gpu";
    argv[k++] = "--disable-quic";
    argv[k++] = "--no-first-run";
    argv[k++] = "--disable-background-networking";
    argv[k++] = "--disable-component-update";
    argv[k++] = "--disable-sync";
    argv[k++] = "--host-resolver-rules=MAP * ~NOTFOUND";
    argv[k++] = udd;
    argv[k++] = "--virtual-time-budget=5000";
    argv[k++] = mode1;
    if (mode2)
        argv[k++] = mode2;
    argv[k++] = url;
    argv[k] = NULL;
    char *out = NULL, *err = NULL;
    int rc = cutest_spawn(argv, &out, &err, 60);
    if (rc != 0)
        fprintf(stderr, "chromium on %s exited %d:\n%s\n", page, rc, err ? err : "");
    CU_ASSERT_EQUAL(rc, 0);
    free(err);
    free(udd);
    free(url);
    free(profile);
    return out;
}

static int have_chromium(void)
{
    if (access(CHROMIUM, X_OK) == 0)
        return 1;
    CU_FAIL("chromium is not installed: apt-get install -y chromium (scripts/bootstrap.sh "
            "lists it in BENCH_PKGS_TEST)");
    return 0;
}

static const char svg_text[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"480\" height=\"200\" "
    "viewBox=\"0 0 480 200\">\n"
    "<rect x=\"0\" y=\"0\" width=\"480\" height=\"200\" fill=\"#f6f8fa\" stroke=\"#1f2328\"/>\n"
    "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"3\" "
    "points=\"20,180 100,150 180,120 260,70 340,50 460,20\"/>\n"
    "<text x=\"24\" y=\"30\" font-family=\"sans-serif\" font-size=\"16\">SVG &amp; text</text>\n"
    "</svg>\n";

/* A report in dir with one PNG and one SVG image. */
static void build_report(const char *dir)
{
    size_t npng = 0;
    unsigned char *png = make_png(480, 200, &npng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(png);
    char *p = join(dir, "gradient.png");
    write_file(p, png, npng);
    free(p);
    free(png);
    p = join(dir, "line.svg");
    write_file(p, svg_text, strlen(svg_text));
    free(p);

    rdoc *d = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(rdoc_create(dir, "Chromium check <report>", &d, &e), BENCH_OK);
    rdoc_heading(d, 1, "LLM serving report");
    rdoc_para(d, "Generated by `test_html_chromium`; figures are **made up** & <escaped>.");
    rdoc_note(d, "figures below were measured on a SIMULATED endpoint");
    rdoc_item(d, "model a: served as `a`, api chat");
    rdoc_item(d, "model b: served as `b`, api completions");
    rdoc_heading(d, 2, "1. Output throughput (tok/s) by concurrency");
    const char *hdr[] = {"Model", "c=1", "c=8", "c=64", "note | pipe"};
    rtable *t = NULL;
    CU_ASSERT_EQUAL_FATAL(rtable_create(5, hdr, "lrrrl", &t, &e), BENCH_OK);
    for (int i = 0; i < 6; i++) {
        const char *row[] = {rtable_fmt("model-%c", 'a' + i), rtable_fmt("%d", 35 + i),
                             rtable_fmt("%d", 282 + 10 * i), rtable_fmt("%d", 1500 + 40 * i),
                             i == 2 ? "best <of> \"all\"" : ""};
        CU_ASSERT_EQUAL(rtable_add_row(t, row, i == 2, &e), BENCH_OK);
    }
    rdoc_table(d, t);
    rtable_destroy(t);
    rdoc_heading(d, 2, "Plots");
    CU_ASSERT_EQUAL(rdoc_image(d, "gradient.png", "A gradient PNG", &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_image(d, "line.svg", "A line SVG", &e), BENCH_OK);
    rdoc_heading(d, 2, "Configuration");
    rdoc_code(d, "{\n  \"requests\": 4,\n  \"levels\": [1, 8, 64]\n}\n");
    CU_ASSERT_EQUAL_FATAL(rdoc_close(d, &e), BENCH_OK);
}

/* Copy dir/report.html to dir/name, overwriting the first bytes of the
 * base64 after the n-th (from 1) "base64," with 'A's: the image's magic
 * number is gone, so it cannot decode, while the page stays intact. */
static void corrupt_copy(const char *dir, const char *name, int nth)
{
    char *src = join(dir, "report.html"), *dst = join(dir, name), *html = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(src, 1 << 26, &html, NULL, &e), BENCH_OK);
    char *p = html;
    for (int i = 0; i < nth && p; i++)
        if ((p = strstr(p, "base64,")) != NULL)
            p += 7;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memset(p, 'A', 16);
    write_file(dst, html, strlen(html));
    free(html);
    free(src);
    free(dst);
}

static void test_images_load(void)
{
    if (!have_chromium())
        return;
    char *dir = cutest_tmpdir("html-chromium");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    build_report(dir);
    char *dom = chromium(dir, "report.html", "--dump-dom", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-images-loaded=\"2/2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "<tr class=\"hl\">"));
    /* the warning banner stays hidden and empty */
    CU_ASSERT_PTR_NOT_NULL(strstr(
        dom, "<div id=\"img-warning\" class=\"img-warning\" role=\"alert\" hidden=\"\"></div>"));
    if (!strstr(dom, "data-images-loaded=\"2/2\""))
        fprintf(stderr, "dumped DOM (start):\n%.2000s\n", dom);
    free(dom);

    char *shot = join(dir, "shot.png"), *flag = NULL;
    CU_ASSERT_FATAL(asprintf(&flag, "--screenshot=%s", shot) > 0);
    unlink(shot);
    free(chromium(dir, "report.html", flag, "--window-size=1200,900"));
    char *buf = NULL;
    size_t n = 0;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(shot, 1 << 26, &buf, &n, &e), BENCH_OK);
    CU_ASSERT(n > 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
    CU_ASSERT(n > 8192);
    fprintf(stderr, "screenshot %s: %zu bytes\n", shot, n);
    free(buf);
    free(flag);
    free(shot);
    free(dir);
}

/* The same check must fail when an image is damaged: one of two broken
 * gives 1/2, the only one broken 0/1, and the banner is shown. */
static void test_corrupt_image_detected(void)
{
    if (!have_chromium())
        return;
    char *dir = cutest_tmpdir("html-chromium-bad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    build_report(dir);
    corrupt_copy(dir, "broken-png.html", 1);
    char *dom = chromium(dir, "broken-png.html", "--dump-dom", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-images-loaded=\"1/2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "role=\"alert\">Warning: 1 of 2 images failed to load"));
    free(dom);

    /* a one-image page, its only image broken */
    char *one = join(dir, "one");
    CU_ASSERT_EQUAL_FATAL(file_mkdirs(one), 0);
    char *src = join(dir, "line.svg"), *dst = join(one, "line.svg"), *svg = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(file_read_all(src, 1 << 20, &svg, NULL, &e), BENCH_OK);
    write_file(dst, svg, strlen(svg));
    rdoc *d = NULL;
    CU_ASSERT_EQUAL_FATAL(rdoc_create(one, "one", &d, &e), BENCH_OK);
    CU_ASSERT_EQUAL(rdoc_image(d, "line.svg", "line", &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(rdoc_close(d, &e), BENCH_OK);
    corrupt_copy(one, "broken-svg.html", 1);
    dom = chromium(one, "broken-svg.html", "--dump-dom", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-images-loaded=\"0/1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "role=\"alert\">Warning: 1 of 1 images failed to load"));
    /* and the intact original of that page passes */
    free(dom);
    dom = chromium(one, "report.html", "--dump-dom", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-images-loaded=\"1/1\""));
    free(dom);
    free(svg);
    free(src);
    free(dst);
    free(one);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"report.html images load in chromium", test_images_load},
    {"a corrupted image is detected", test_corrupt_image_detected},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    crc_init();
    return cutest_run("html_chromium", tests);
}
