/* rdoc.c - report.md and report.html written side by side.
 *
 * Both files are streamed as the report describes its content, so memory
 * does not grow with the report (an image is held only while it is
 * embedded). The void calls cannot report failure: the first one that runs
 * out of memory is remembered, and write errors stay in the FILEs' error
 * flags; rdoc_close reports whichever came first. */
#include "rdoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"

struct rdoc {
    char *outdir;
    char *md_path, *html_path;
    FILE *md, *html;
    int in_list;     /* a bullet list is open in both documents */
    bench_status st; /* first failure of a void call */
    bench_err err;
};

/* Images are plots of a few hundred KB; this only guards against embedding
 * something absurd by mistake. */
#define IMAGE_MAX ((size_t)64 << 20)

/* ---------------------------------------------------------------- base64 */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes into out, which holds 4 * ceil(n / 3) characters (no NUL
 * written). Standard alphabet with '=' padding (RFC 4648 section 4). */
static void b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
}

char *rdoc_base64(const void *data, size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > (SIZE_MAX - 1) / 4)
        return NULL;
    char *s = malloc(groups * 4 + 1);
    if (!s)
        return NULL;
    b64_encode(data, n, s);
    s[groups * 4] = '\0';
    return s;
}

/* Stream the encoding in slices so an image is never held twice. */
static void b64_write(const unsigned char *in, size_t n, FILE *f)
{
    char buf[4096];
    while (n > 0) {
        size_t k = n < 3072 ? n : 3072; /* 3072 bytes -> exactly 4096 chars */
        b64_encode(in, k, buf);
        fwrite(buf, 1, (k + 2) / 3 * 4, f);
        in += k;
        n -= k;
    }
}

/* ------------------------------------------------------------- the page */

/* Self-contained by construction: the Content-Security-Policy forbids every
 * fetch except data: images, so a stray external reference would show up as
 * a broken element rather than silently needing the network. */
static const char html_head1[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
    "<title>";
static const char html_head2[] =
    "</title>\n"
    "<style>\n"
    ":root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #eef2f6;\n"
    "  --zebra: #f6f8fa; --hl: #fff1c2; --accent: #0969da; }\n"
    "* { box-sizing: border-box; }\n"
    "body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;\n"
    "  font: 15px/1.5 system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", "
    "Arial, sans-serif; }\n"
    "main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; }\n"
    "h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 0.6em; }\n"
    "h1 { font-size: 1.9em; margin-top: 0.4em; padding-bottom: 0.3em;\n"
    "  border-bottom: 2px solid var(--line); }\n"
    "h2 { font-size: 1.45em; padding-bottom: 0.25em; border-bottom: 1px solid var(--line); }\n"
    "h3 { font-size: 1.2em; }\n"
    "h4 { font-size: 1em; color: var(--muted); }\n"
    "p, ul { margin: 0.6em 0; }\n"
    "ul { padding-left: 1.6em; }\n"
    "code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;\n"
    "  font-size: 0.9em; }\n"
    "code { background: var(--zebra); padding: 0.1em 0.3em; border-radius: 4px; }\n"
    "pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 6px;\n"
    "  padding: 12px 14px; overflow-x: auto; line-height: 1.4; }\n"
    "pre code { background: none; padding: 0; font-size: 1em; }\n"
    ".note { margin: 1em 0; padding: 10px 14px; background: #fff8e1;\n"
    "  border: 1px solid #f0d48a; border-left: 5px solid #d4a000; border-radius: 6px; }\n"
    ".scroll { overflow-x: auto; margin: 0.8em 0 1.2em; }\n"
    "table { border-collapse: collapse; font-variant-numeric: tabular-nums; }\n"
    "th, td { border: 1px solid var(--line); padding: 5px 10px; white-space: nowrap; }\n"
    "th { background: var(--head); font-weight: 600; }\n"
    "th.l, td.l { text-align: left; }\n"
    "th.r, td.r { text-align: right; }\n"
    "tbody tr:nth-child(even) td { background: var(--zebra); }\n"
    "tbody tr.hl td { background: var(--hl); font-weight: 700; }\n"
    "figure { margin: 1.2em 0 1.8em; }\n"
    "figure img { display: block; max-width: 100%; height: auto;\n"
    "  border: 1px solid var(--line); border-radius: 6px; }\n"
    "figcaption { color: var(--muted); font-size: 0.9em; margin-top: 0.4em; }\n"
    ".img-warning { position: sticky; top: 0; z-index: 1; margin: 0; padding: 10px 32px;\n"
    "  background: #b42318; color: #fff; font-weight: 600; }\n"
    "@media print { .scroll { overflow: visible; } main { max-width: none; } }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"img-warning\" class=\"img-warning\" role=\"alert\" hidden></div>\n"
    "<main>\n";

/* After load, count the images that decoded: data-images-loaded="ok/total"
 * on <body> lets a headless browser check the page, and a banner tells a
 * reader that the file is damaged instead of leaving blank figures. */
static const char html_tail[] =
    "</main>\n"
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  var imgs = document.images, ok = 0;\n"
    "  for (var i = 0; i < imgs.length; i++)\n"
    "    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;\n"
    "  document.body.dataset.imagesLoaded = ok + '/' + imgs.length;\n"
    "  if (ok < imgs.length) {\n"
    "    var w = document.getElementById('img-warning');\n"
    "    w.textContent = 'Warning: ' + (imgs.length - ok) + ' of ' + imgs.length +\n"
    "      ' images failed to load; this report file may be damaged or truncated.';\n"
    "    w.hidden = false;\n"
    "  }\n"
    "});\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/* ---------------------------------------------------------------- helpers */

/* Remember the first failure of a void call for rdoc_close. */
static void note_failure(rdoc *d, bench_status st, const char *what)
{
    if (!d->st)
        d->st = bench_fail(&d->err, st, "report %s: out of memory formatting %s", d->md_path, what);
}

/* vasprintf wrapper; NULL (failure remembered) when memory runs out. */
static char *format(rdoc *d, const char *what, const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        note_failure(d, BENCH_ENOMEM, what);
        return NULL;
    }
    return s;
}

/* Close an open bullet list: every block but an item calls this first. */
static void end_list(rdoc *d)
{
    if (!d->in_list)
        return;
    fputs("\n", d->md);
    fputs("</ul>\n", d->html);
    d->in_list = 0;
}

/* Write s to Markdown with each line after the first prefixed by prefix
 * (blockquote and list continuation lines). */
static void md_lines(const char *s, const char *prefix, FILE *f)
{
    for (; *s; s++) {
        fputc(*s, f);
        if (*s == '\n' && s[1])
            fputs(prefix, f);
    }
}

/* Text on one line: headings and alt texts cannot span lines. */
static void md_oneline(const char *s, const char *escape, FILE *f)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else if (strchr(escape, *s))
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
}

/* dir/name, malloc'ed; NULL when memory runs out. */
static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* ------------------------------------------------------------------ API */

bench_status rdoc_create(const char *outdir, const char *title, rdoc **out, bench_err *err)
{
    return rdoc_create_named(outdir, "report", title, out, err);
}

bench_status rdoc_create_named(const char *outdir, const char *base, const char *title, rdoc **out,
                               bench_err *err)
{
    bench_status st = BENCH_OK;
    rdoc *d = calloc(1, sizeof *d);
    char md[256], html[256];
    *out = NULL;
    if (strchr(base, '/') || (size_t)snprintf(md, sizeof md, "%s.md", base) >= sizeof md ||
        (size_t)snprintf(html, sizeof html, "%s.html", base) >= sizeof html) {
        free(d);
        return bench_fail(err, BENCH_EUSAGE, "report name '%s' is not a short file name", base);
    }
    if (!d || !(d->outdir = strdup(outdir)) || !(d->md_path = path_join(outdir, md)) ||
        !(d->html_path = path_join(outdir, html))) {
        st = bench_fail(err, BENCH_ENOMEM, "report in %s: out of memory", outdir);
        goto out;
    }
    if (!(d->md = fopen(d->md_path, "w"))) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create: %s", d->md_path, strerror(errno));
        goto out;
    }
    if (!(d->html = fopen(d->html_path, "w"))) {
        st = bench_fail(err, BENCH_EIO, "%s: cannot create: %s", d->html_path, strerror(errno));
        goto out;
    }
    fputs(html_head1, d->html);
    rtable_html_escape(title ? title : "", SIZE_MAX, d->html);
    fputs(html_head2, d->html);
    *out = d;
    d = NULL;
out:
    if (d) {
        if (d->md)
            fclose(d->md);
        if (d->html)
            fclose(d->html);
        free(d->outdir);
        free(d->md_path);
        free(d->html_path);
        free(d);
    }
    return st;
}

void rdoc_heading(rdoc *d, int level, const char *text)
{
    if (level < 1)
        level = 1;
    if (level > 4)
        level = 4;
    end_list(d);
    fprintf(d->md, "%.*s ", level, "####");
    md_oneline(text, "", d->md);
    fputs("\n\n", d->md);
    fprintf(d->html, "<h%d>", level);
    rtable_html_inline(text, d->html);
    fprintf(d->html, "</h%d>\n", level);
}

void rdoc_para(rdoc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = format(d, "a paragraph", fmt, ap);
    va_end(ap);
    if (!s)
        return;
    end_list(d);
    fprintf(d->md, "%s\n\n", s);
    fputs("<p>", d->html);
    rtable_html_inline(s, d->html);
    fputs("</p>\n", d->html);
    free(s);
}

void rdoc_note(rdoc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = format(d, "a note", fmt, ap);
    va_end(ap);
    if (!s)
        return;
    end_list(d);
    fputs("> **Note:** ", d->md);
    md_lines(s, "> ", d->md);
    fputs("\n\n", d->md);
    fputs("<div class=\"note\" role=\"note\"><strong>Note:</strong> ", d->html);
    rtable_html_inline(s, d->html);
    fputs("</div>\n", d->html);
    free(s);
}

void rdoc_item(rdoc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = format(d, "a list item", fmt, ap);
    va_end(ap);
    if (!s)
        return;
    if (!d->in_list) {
        fputs("<ul>\n", d->html);
        d->in_list = 1;
    }
    fputs("- ", d->md);
    md_lines(s, "  ", d->md);
    fputs("\n", d->md);
    fputs("<li>", d->html);
    rtable_html_inline(s, d->html);
    fputs("</li>\n", d->html);
    free(s);
}

void rdoc_table(rdoc *d, const rtable *t)
{
    end_list(d);
    rtable_write_md(t, d->md);
    fputs("\n", d->md);
    fputs("<div class=\"scroll\">\n", d->html);
    rtable_write_html(t, d->html);
    fputs("</div>\n", d->html);
}

void rdoc_code(rdoc *d, const char *text)
{
    end_list(d);
    /* The fence must be longer than any backtick run inside the text. */
    size_t run = 0, longest = 0;
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    size_t fence = longest < 3 ? 3 : longest + 1;
    size_t n = strlen(text);
    for (size_t i = 0; i < fence; i++)
        fputc('`', d->md);
    fprintf(d->md, "\n%s%s", text, n && text[n - 1] == '\n' ? "" : "\n");
    for (size_t i = 0; i < fence; i++)
        fputc('`', d->md);
    fputs("\n\n", d->md);
    fputs("<pre><code>", d->html);
    rtable_html_escape(text, n, d->html);
    fputs("</code></pre>\n", d->html);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

bench_status rdoc_image(rdoc *d, const char *file, const char *alt, bench_err *err)
{
    bench_status st = BENCH_OK;
    char *path = NULL, *data = NULL;
    size_t n = 0;
    const char *mime = has_suffix(file, ".png")   ? "image/png"
                       : has_suffix(file, ".svg") ? "image/svg+xml"
                                                  : NULL;
    if (!mime || file[0] == '/' || file[0] == '\0') {
        st = bench_fail(err, BENCH_EUSAGE,
                        "report image '%s': want a .png or .svg file name relative to %s", file,
                        d->outdir);
        goto out;
    }
    if (!(path = path_join(d->outdir, file))) {
        st = bench_fail(err, BENCH_ENOMEM, "report image %s: out of memory", file);
        goto out;
    }
    if ((st = file_read_all(path, IMAGE_MAX, &data, &n, err))) {
        if (st != BENCH_ENOMEM)
            st = BENCH_EIO;
        bench_wrap(err, st, "report image");
        goto out;
    }
    /* A truncated or mislabelled plot would embed as a broken image; say so
     * now, naming the file, rather than in the reader's browser. */
    if (mime[6] == 'p' ? n < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8) != 0
                       : !strstr(data, "<svg")) {
        st = bench_fail(err, BENCH_EIO, "report image %s: not a valid %s file", path,
                        mime[6] == 'p' ? "PNG" : "SVG");
        goto out;
    }
    end_list(d);
    const char *alttext = alt ? alt : "";
    fputs("![", d->md);
    md_oneline(alttext, "[]\\", d->md);
    /* A name with spaces or parentheses needs the <...> destination form. */
    fprintf(d->md, file[strcspn(file, " ()<>")] ? "](<%s>)\n\n" : "](%s)\n\n", file);
    fprintf(d->html, "<figure>\n<img src=\"data:%s;base64,", mime);
    b64_write((const unsigned char *)data, n, d->html);
    fputs("\" alt=\"", d->html);
    rtable_html_escape(alttext, SIZE_MAX, d->html);
    fputs("\" data-file=\"", d->html);
    rtable_html_escape(file, SIZE_MAX, d->html);
    fputs("\">\n<figcaption>", d->html);
    rtable_html_escape(alttext, SIZE_MAX, d->html);
    fputs("</figcaption>\n</figure>\n", d->html);
out:
    free(data);
    free(path);
    return st;
}

/* Flush and close one file; the first failure lands in *st / err. */
static void close_file(FILE *f, const char *path, bench_status *st, bench_err *err)
{
    errno = 0;
    int failed = fflush(f) != 0 || ferror(f);
    int e = errno ? errno : EIO; /* an earlier failed write left no errno */
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        e = errno ? errno : EIO;
    }
    if (failed && !*st)
        *st = bench_fail(err, BENCH_EIO, "%s: write failed: %s", path, strerror(e));
}

bench_status rdoc_close(rdoc *d, bench_err *err)
{
    if (!d)
        return BENCH_OK;
    bench_status st = d->st;
    if (st && err)
        *err = d->err;
    end_list(d);
    fputs(html_tail, d->html);
    close_file(d->md, d->md_path, &st, err);
    close_file(d->html, d->html_path, &st, err);
    free(d->outdir);
    free(d->md_path);
    free(d->html_path);
    free(d);
    return st;
}
