/* rtable.c - one table model, two renderings (GitHub Markdown and HTML).
 *
 * Cells are stored as copied strings; rendering never fails on its own (a
 * write error shows up in the FILE's error flag, which the document writer
 * checks when it closes the file). */
#include "rtable.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct rtable {
    size_t ncols;
    char **header; /* ncols owned strings */
    char *align;   /* ncols of 'l' / 'r' */
    char ***rows;  /* nrows arrays of ncols owned strings */
    int *hl;       /* per row: highlighted */
    size_t nrows, cap;
};

/* Copy n strings, NULL becoming "". Returns NULL (and frees what it made)
 * when memory runs out. */
static char **copy_cells(size_t n, const char *const *cells)
{
    char **c = calloc(n, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        c[i] = strdup(cells && cells[i] ? cells[i] : "");
        if (!c[i]) {
            for (size_t k = 0; k < i; k++)
                free(c[k]);
            free(c);
            return NULL;
        }
    }
    return c;
}

static void free_cells(char **c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        free(c[i]);
    free(c);
}

bench_status rtable_create(size_t ncols, const char *const *header, const char *align, rtable **out,
                           bench_err *err)
{
    bench_status st = BENCH_OK;
    rtable *t = NULL;
    *out = NULL;
    if (ncols == 0 || ncols > 1024) {
        st = bench_fail(err, BENCH_EUSAGE, "table: %zu columns (want 1 to 1024)", ncols);
        goto out;
    }
    if (align) {
        for (size_t i = 0; i < ncols; i++) {
            if (align[i] != 'l' && align[i] != 'r') {
                st = bench_fail(err, BENCH_EUSAGE,
                                "table: alignment \"%s\" must give 'l' or 'r' for each of %zu "
                                "columns (column %zu)",
                                align, ncols, i + 1);
                goto out;
            }
        }
    }
    t = calloc(1, sizeof *t);
    if (t)
        t->ncols = ncols;
    if (!t || !(t->align = malloc(ncols)) || !(t->header = copy_cells(ncols, header))) {
        st = bench_fail(err, BENCH_ENOMEM, "table: out of memory for %zu columns", ncols);
        goto out;
    }
    for (size_t i = 0; i < ncols; i++)
        t->align[i] = align ? align[i] : (i == 0 ? 'l' : 'r');
    *out = t;
    t = NULL;
out:
    rtable_destroy(t);
    return st;
}

bench_status rtable_add_row(rtable *t, const char *const *cells, int highlight, bench_err *err)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 16;
        char ***nr = realloc(t->rows, ncap * sizeof *nr);
        if (!nr)
            return bench_fail(err, BENCH_ENOMEM, "table: out of memory at row %zu", t->nrows + 1);
        t->rows = nr;
        int *nh = realloc(t->hl, ncap * sizeof *nh);
        if (!nh)
            return bench_fail(err, BENCH_ENOMEM, "table: out of memory at row %zu", t->nrows + 1);
        t->hl = nh;
        t->cap = ncap;
    }
    char **row = copy_cells(t->ncols, cells);
    if (!row)
        return bench_fail(err, BENCH_ENOMEM, "table: out of memory at row %zu", t->nrows + 1);
    t->rows[t->nrows] = row;
    t->hl[t->nrows] = highlight != 0;
    t->nrows++;
    return BENCH_OK;
}

/* A ring rather than one buffer so that a whole row of cells can be built
 * in one initializer; static storage, hence not thread-safe (the report is
 * written by one thread). Output longer than a slot is truncated. */
#define FMT_SLOTS 16
#define FMT_SLOT_SIZE 256

const char *rtable_fmt(const char *fmt, ...)
{
    static char ring[FMT_SLOTS][FMT_SLOT_SIZE];
    static unsigned next;
    char *s = ring[next];
    next = (next + 1) % FMT_SLOTS;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, FMT_SLOT_SIZE, fmt, ap);
    va_end(ap);
    return s;
}

size_t rtable_rows(const rtable *t)
{
    return t ? t->nrows : 0;
}

/* One Markdown cell: '|' would end the cell and a line break the row, so
 * they become "\|" and a space. */
static void md_cell(const char *s, FILE *f)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

/* A cell the caller already made bold as a whole must not be wrapped again:
 * "****x****" is not bold in GFM. */
static int is_bold(const char *s)
{
    size_t n = strlen(s);
    return n >= 5 && strncmp(s, "**", 2) == 0 && strcmp(s + n - 2, "**") == 0;
}

static void md_row(char *const *cells, size_t n, int bold, FILE *f)
{
    fputc('|', f);
    for (size_t i = 0; i < n; i++) {
        int wrap = bold && cells[i][0] && !is_bold(cells[i]);
        fputs(wrap ? " **" : " ", f);
        md_cell(cells[i], f);
        fputs(wrap ? "** |" : " |", f);
    }
    fputc('\n', f);
}

void rtable_write_md(const rtable *t, FILE *f)
{
    md_row(t->header, t->ncols, 0, f);
    fputc('|', f);
    for (size_t i = 0; i < t->ncols; i++)
        fputs(t->align[i] == 'r' ? " ---: |" : " :--- |", f);
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++)
        md_row(t->rows[r], t->ncols, t->hl[r], f);
}

void rtable_html_escape(const char *s, size_t n, FILE *f)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(s[i], f);
        }
    }
}

/* Position of the next occurrence of pat in s[from, n), or n. */
static size_t find(const char *s, size_t from, size_t n, const char *pat)
{
    size_t m = strlen(pat);
    for (size_t i = from; i + m <= n; i++)
        if (memcmp(s + i, pat, m) == 0)
            return i;
    return n;
}

static void inline_span(const char *s, size_t n, int allow_bold, FILE *f)
{
    size_t i = 0, lit = 0; /* s[lit, i) is plain text not yet written */
    while (i < n) {
        size_t end;
        if (s[i] == '`' && (end = find(s, i + 1, n, "`")) < n) {
            rtable_html_escape(s + lit, i - lit, f);
            fputs("<code>", f);
            rtable_html_escape(s + i + 1, end - i - 1, f);
            fputs("</code>", f);
            i = lit = end + 1;
        } else if (allow_bold && i + 1 < n && s[i] == '*' && s[i + 1] == '*' &&
                   (end = find(s, i + 2, n, "**")) < n && end > i + 2) {
            rtable_html_escape(s + lit, i - lit, f);
            fputs("<strong>", f);
            inline_span(s + i + 2, end - i - 2, 0, f);
            fputs("</strong>", f);
            i = lit = end + 2;
        } else {
            i++;
        }
    }
    rtable_html_escape(s + lit, n - lit, f);
}

void rtable_html_inline(const char *s, FILE *f)
{
    inline_span(s, strlen(s), 1, f);
}

void rtable_write_html(const rtable *t, FILE *f)
{
    fputs("<table>\n<thead>\n<tr>", f);
    for (size_t i = 0; i < t->ncols; i++) {
        fprintf(f, "<th class=\"%c\">", t->align[i]);
        rtable_html_inline(t->header[i], f);
        fputs("</th>", f);
    }
    fputs("</tr>\n</thead>\n<tbody>\n", f);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(t->hl[r] ? "<tr class=\"hl\">" : "<tr>", f);
        for (size_t i = 0; i < t->ncols; i++) {
            fprintf(f, "<td class=\"%c\">", t->align[i]);
            rtable_html_inline(t->rows[r][i], f);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
}

void rtable_destroy(rtable *t)
{
    if (!t)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        free_cells(t->rows[r], t->ncols);
    free(t->rows);
    free(t->hl);
    free_cells(t->header, t->ncols);
    free(t->align);
    free(t);
}
