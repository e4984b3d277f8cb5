/* rtable.h - a small table model rendered both as Markdown and as HTML, so
 * that report.md and report.html show the same tables from one source. */
#ifndef BENCH_RTABLE_H
#define BENCH_RTABLE_H

#include <stdio.h>
#include "status.h"

typedef struct rtable rtable;

/* A table with ncols columns and the given header cells (copied). Alignment
 * per column: 'l' or 'r' (align may be NULL: first column left, rest right).
 * *out owned by the caller: rtable_destroy. */
bench_status rtable_create(size_t ncols, const char *const *header, const char *align, rtable **out,
                           bench_err *err);

/* Append a row of ncols cells (copied; NULL = empty). highlight marks the row
 * (Markdown: bold cells; HTML: class="hl"). */
bench_status rtable_add_row(rtable *t, const char *const *cells, int highlight, bench_err *err);

/* printf-style helper for one cell: returns a pointer into a small ring of
 * static buffers (256 bytes each, longer output truncated), valid until 16
 * further calls (for building a row). Not thread-safe: the ring is shared
 * static state. "-" for NaN values is the caller's choice. */
const char *rtable_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

size_t rtable_rows(const rtable *t);

/* Render. Markdown escapes '|' in cells (line breaks become spaces) and
 * writes the alignment row; a highlighted row's non-empty cells are wrapped
 * in ** unless already bold. HTML escapes &, <, >, ", ' and shows `code` and
 * **bold** spans as <code> and <strong>, as Markdown would; cells carry
 * class "l" or "r" for their alignment, highlighted rows class "hl". Write
 * errors are left in f's error flag. */
void rtable_write_md(const rtable *t, FILE *f);
void rtable_write_html(const rtable *t, FILE *f);

/* HTML helpers shared with rdoc: escape at most n bytes of s (stopping at a
 * NUL) for text or a double- or single-quoted attribute; and escape s while
 * rendering its `code` and **bold** spans (unmatched markers stay literal). */
void rtable_html_escape(const char *s, size_t n, FILE *f);
void rtable_html_inline(const char *s, FILE *f);

void rtable_destroy(rtable *t);

#endif
