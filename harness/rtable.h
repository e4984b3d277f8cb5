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
bench_status rtable_create(size_t ncols, const char *const *header, const char *align,
                           rtable **out, bench_err *err);

/* Append a row of ncols cells (copied; NULL = empty). highlight marks the row
 * (Markdown: bold cells; HTML: class="hl"). */
bench_status rtable_add_row(rtable *t, const char *const *cells, int highlight, bench_err *err);

/* printf-style helper for one cell: returns a pointer into a small ring of
 * static buffers, valid until 16 further calls (for building a row). "-" for
 * NaN values is the caller's choice. */
const char *rtable_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

size_t rtable_rows(const rtable *t);

/* Render. Markdown escapes '|' in cells; HTML escapes &, <, >, ". */
void rtable_write_md(const rtable *t, FILE *f);
void rtable_write_html(const rtable *t, FILE *f);

void rtable_destroy(rtable *t);

#endif
