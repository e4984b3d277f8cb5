/* rdoc.h - one report written as two documents at once: report.md
 * (Markdown, images linked) and report.html (one self-contained page:
 * CSS inline, images embedded as data: URIs, no network needed). The
 * report code describes its content once; rdoc renders both. */
#ifndef BENCH_RDOC_H
#define BENCH_RDOC_H

#include "rtable.h"
#include "status.h"

typedef struct rdoc rdoc;

/* Create <outdir>/report.md and <outdir>/report.html (outdir must exist;
 * BENCH_EIO naming the file that cannot be created). title is the HTML
 * page title only: the caller writes its own first heading. *out owned by
 * the caller; rdoc_close releases it. The rdoc_* calls below that return
 * no status keep their first failure (out of memory) for rdoc_close. */
bench_status rdoc_create(const char *outdir, const char *title, rdoc **out, bench_err *err);
/* The same with <outdir>/<base>.md and <outdir>/<base>.html (base: a plain
 * file name without extension, e.g. "trend"). */
bench_status rdoc_create_named(const char *outdir, const char *base, const char *title, rdoc **out,
                               bench_err *err);

/* Section heading, level 1-4. */
void rdoc_heading(rdoc *d, int level, const char *text);
/* A paragraph of plain text. Markdown receives it as is, so the caller may
 * use `code` and **bold**; HTML escapes it and shows those two spans as
 * <code> and <strong> (no other Markdown is interpreted). Notes and items
 * are treated the same way. */
void rdoc_para(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A highlighted notice (e.g. "measured on a SIMULATED endpoint"). */
void rdoc_note(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bullet list item (consecutive items form one list). */
void rdoc_item(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rdoc_table(rdoc *d, const rtable *t);
/* Preformatted text (e.g. the configuration JSON). */
void rdoc_code(rdoc *d, const char *text);
/* An image file in outdir (relative name, e.g. "ttft_vs_concurrency.png"):
 * Markdown links it; HTML embeds its bytes as a base64 data: URI (PNG or SVG
 * by extension) with alt as caption. BENCH_EIO naming the file when it
 * cannot be read or does not look like a PNG / SVG; BENCH_EUSAGE for an
 * absolute name or another extension. Nothing is written on failure. */
bench_status rdoc_image(rdoc *d, const char *file, const char *alt, bench_err *err);

/* Finish both documents and free d (NULL is fine). Returns the first
 * failure seen: one kept from an earlier call, else a write failure
 * (BENCH_EIO) naming the file. */
bench_status rdoc_close(rdoc *d, bench_err *err);

/* Base64 (RFC 4648, standard alphabet, '=' padding) of n bytes as a
 * NUL-terminated string; the caller frees it. NULL only when memory runs
 * out. Exposed for the tests and for callers embedding other data. */
char *rdoc_base64(const void *data, size_t n);

#endif
