/* plot.h - report plots rendered by gnuplot, run as an external program.
 *
 * Each plot is a template script in plots/ (plots/<name>.gp) plus the data
 * it reads, written next to the output as <name>.dat (gnuplot's plain
 * whitespace-separated format, one block per series separated by two blank
 * lines, a "# series: <title>" comment at each block's head), so a user can
 * re-plot by hand: `gnuplot -e "datafile='x.dat'; outfile='x.png'; term='png'" plots/x.gp`.
 * Every plot is rendered twice, as <name>.png and <name>.svg. */
#ifndef BENCH_PLOT_H
#define BENCH_PLOT_H

#include <stddef.h>
#include "status.h"

/* One named series of (x, y) points; label[i] (may be NULL, or entries NULL)
 * is a per-point text label (used by the trade-off plot for "c=8"). x2/y2
 * optional second coordinates (NULL when unused), e.g. the timeline's first-token mark. */
typedef struct {
    const char *title;   /* legend entry, e.g. the model name */
    const double *x, *y; /* n points, borrowed */
    const double *x2, *y2;
    const char *const *label;
    size_t n;
} plot_series;

typedef struct {
    const char *name;   /* template plots/<name>.gp and output base name */
    const char *title;  /* plot title */
    const char *xlabel; /* axis labels with units, e.g. "concurrency (requests in flight)" */
    const char *ylabel;
    const plot_series *series;
    size_t n_series;
    int logx, logy; /* log scales */
} plot_spec;

/* Write <outdir>/<name>.dat and render <outdir>/<name>.png and .svg with
 * gnuplot using the template <plots_dir>/<name>.gp. Fails, naming the plot,
 * when gnuplot is missing (BENCH_EIO, "gnuplot not found: install gnuplot-nox"),
 * exits non-zero (with its stderr's last line), or produces no file. */
bench_status plot_render(const plot_spec *p, const char *plots_dir, const char *outdir,
                         bench_err *err);

#endif
