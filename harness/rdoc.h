/* rdoc.h - one report written as two documents at once: report.md
 * (Markdown, images linked) and report.html (one self-contained page:
 * CSS inline, images embedded as data: URIs, no network needed). The
 * report code describes its content once; rdoc renders both. */
#ifndef BENCH_RDOC_H
#define BENCH_RDOC_H

#include "rtable.h"
#include "status.h"

typedef struct rdoc rdoc;

/* Create <outdir>/report.md and <outdir>/report.html (outdir must exist).
 * *out owned by the caller; rdoc_close releases it. */
bench_status rdoc_create(const char *outdir, const char *title, rdoc **out, bench_err *err);

/* Section heading, level 1-4. */
void rdoc_heading(rdoc *d, int level, const char *text);
/* A paragraph of plain text (escaped for HTML; Markdown receives it as is,
 * so the caller may use `code` and **bold** which HTML shows literally
 * stripped of the markers). */
void rdoc_para(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A highlighted notice (e.g. "measured on a SIMULATED endpoint"). */
void rdoc_note(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bullet list item (consecutive items form one list). */
void rdoc_item(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rdoc_table(rdoc *d, const rtable *t);
/* Preformatted text (e.g. the configuration JSON). */
void rdoc_code(rdoc *d, const char *text);
/* An image file in outdir (relative name, e.g. "ttft_vs_concurrency.png"):
 * Markdown links it; HTML embeds its bytes as a data: URI (PNG or SVG by
 * extension). BENCH_EIO naming the file when it cannot be read. */
bench_status rdoc_image(rdoc *d, const char *file, const char *alt, bench_err *err);

/* Finish both documents and free d (NULL is fine). Returns the first write
 * failure seen, naming the file. */
bench_status rdoc_close(rdoc *d, bench_err *err);

#endif
