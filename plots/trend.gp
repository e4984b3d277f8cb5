# trend.gp - one headline figure of the nightly runs over time (bench report --trend):
# one line per model, red rings on the runs whose comparison with the baseline
# flagged a regression behind this figure, dashed grey lines where a run was
# promoted to baseline.
#
# Data: <datafile>, written by harness/plot.c: one block per series, blocks
# separated by two blank lines, a "# series: <title>" comment at each head.
#   column 1: date of the run (seconds since 1970-01-01 UTC; drawn as a UTC date)
#   column 2: the figure (unit in ylabel)
#   column 3: label (regression and promotion blocks: the model or the run)
# The blocks are, in order: one per model, then ALWAYS two more:
#   block nseries-1: regression markers (date, the model's value that night)
#   block nseries:   baseline promotions (date, top of the data: drawn as a
#                    vertical line from 0)
# An empty block is a single NaN row.
#
# Variables (only datafile is required when re-plotting by hand):
#   datafile   data file (.dat)             outfile  output file (default: datafile with .png/.svg)
#   term       'png' (pngcairo) or 'svg'    plot_title, xlabel, ylabel  texts
#   nseries    number of series (default: blocks in datafile)
#   logx, logy accepted for uniformity; logy=1 draws y on a log scale, logx is ignored
#   titles     series titles separated by sep (default sep '|'; bench passes
#              "\037", which no title contains); default "series N"
#   npoints    0 draws an empty frame saying "no data" (bench passes the count)
# By hand:
#   gnuplot -e "datafile='trend_tps_c8.dat'; titles='mistral-7b|mixtral-8x7b|regression|baseline promoted'" plots/trend.gp

# ---- common prelude (the same in every template) ----
if (!exists("datafile")) { print "set datafile='<file>.dat' with -e"; exit status 1 }
if (!exists("term")) { term = "png" }
if (!exists("outfile")) {
    outfile = (datafile[strlen(datafile)-3:] eq ".dat" ? datafile[1:strlen(datafile)-4] : datafile) . "." . term
}
if (!exists("plot_title")) { plot_title = "" }
if (!exists("sep")) { sep = "|" }
if (!exists("titles")) { titles = "" }
if (!exists("logx")) { logx = 0 }
if (!exists("logy")) { logy = 0 }
if (!exists("npoints")) { npoints = 1 }
if (!exists("nseries")) { stats datafile using 1 nooutput; nseries = STATS_blocks }
nth(s, n) = (n <= 1) ? (strstrt(s, sep) ? s[1:strstrt(s, sep)-1] : s) \
          : (strstrt(s, sep) ? nth(s[strstrt(s, sep)+strlen(sep):], n-1) : "")
stitle(i) = (nth(titles, i) ne "") ? nth(titles, i) : sprintf("series %d", i)
# colour-blind-safe palette (Okabe-Ito) and filled point types, cycled
array colour[8] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#7f7f7f"]
array filled[6] = [7, 5, 9, 11, 13, 15]
lc_of(k) = colour[(k - 1) % 8 + 1]
pt_of(k) = filled[(k - 1) % 6 + 1]
dt_of(k) = ((k - 1) / 8) % 5 + 1   # solid for the first 8 series, then dashes
if (term eq "svg") {
    set terminal svg size 1000,620 dynamic noenhanced font "DejaVu Sans,12" background "white"
} else {
    set terminal pngcairo size 1000,620 noenhanced font "DejaVu Sans,11" background "white"
}
set output outfile
set title plot_title font ",14"
set grid xtics ytics mxtics mytics lt 1 lc rgb "#d4d4d4" lw 1, lt 1 lc rgb "#eeeeee" lw 1
set border 3
set tics nomirror out
set key opaque box lc rgb "#b0b0b0" Left reverse samplen 3
# ---- end of prelude ----

nmodels = nseries - 2
set xlabel (exists("xlabel") ? xlabel : "date of the run (UTC)")
set ylabel (exists("ylabel") ? ylabel : "value")
# the span of the dates (before "set xdata time": stats refuses time data);
# one night alone gets a day either side, or gnuplot's range would be empty
if (npoints > 0) {
    stats datafile using 1 nooutput
    xlo = STATS_min; xhi = STATS_max
    if (xhi - xlo < 60) { xlo = xlo - 43200; xhi = xhi + 43200 }
}
set xdata time
set timefmt "%s"
set format x "%Y-%m-%d\n%H:%M"
if (npoints > 0) {
    pad = (xhi - xlo) * 0.04
    set xrange [xlo - pad : xhi + pad]
    # about six labels, at a round interval; dates alone from a day up
    step = (xhi - xlo) / 6.0
    tic = step <= 60 ? 60 : step <= 300 ? 300 : step <= 900 ? 900 : step <= 3600 ? 3600 : \
          step <= 10800 ? 10800 : step <= 21600 ? 21600 : step <= 43200 ? 43200 : \
          step <= 86400 ? 86400 : step <= 172800 ? 172800 : step <= 604800 ? 604800 : \
          ceil(step / 604800.0) * 604800
    set xtics tic
    set mxtics 1
    if (tic >= 86400) { set format x "%Y-%m-%d" }
}
set offsets 0, 0, graph 0.08, 0
if (logy) { set logscale y; set format y "%g" }
set yrange [0:*]
if (logy) { set yrange [*:*] }
set mytics 2
set key outside bottom center horizontal
set bmargin 7
# the regression rings: pure red, open, larger than any model point
reg_colour = "#e00000"

if (npoints == 0 || nmodels < 1) {
    unset key
    unset xdata
    set label 1 "no data" at graph 0.5, 0.5 center font ",16"
    plot [0:1] [0:1] NaN notitle
} else {
    plot for [i=1:nmodels] datafile index (i-1) using 1:2 with linespoints \
            lw 2 dt dt_of(i) lc rgb lc_of(i) pt pt_of(i) ps 1.2 title stitle(i), \
         datafile index (nseries-2) using 1:2 with points \
            pt 6 ps 3 lw 2.5 lc rgb reg_colour title stitle(nseries-1), \
         datafile index (nseries-1) using 1:2 with impulses \
            lw 1.5 dt 2 lc rgb "#707070" title stitle(nseries)
}
unset output
