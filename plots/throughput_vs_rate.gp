# throughput_vs_rate.gp - output tokens/s vs the offered rate of an open-loop
# sweep, one line per model.
#
# Data: <datafile>, written by harness/plot.c: one block per series, blocks
# separated by two blank lines, a "# series: <title>" comment at each head.
#   column 1: offered rate (requests/s)   column 2: output tokens/s (all requests)
#
# Variables (only datafile is required when re-plotting by hand):
#   datafile   data file (.dat)             outfile  output file (default: datafile with .png/.svg)
#   term       'png' (pngcairo) or 'svg'    plot_title, xlabel, ylabel  texts
#   nseries    number of series (default: blocks in datafile)
#   logx, logy 1 for a log scale (x: base 2, rates often double per level)
#   titles     series titles separated by sep (default sep '|'; bench passes
#              "\037", which no title contains); default "series N"
#   npoints    0 draws an empty frame saying "no data" (bench passes the count)
# By hand:
#   gnuplot -e "datafile='throughput_vs_rate.dat'; titles='model-a|model-b'" plots/throughput_vs_rate.gp

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

set xlabel (exists("xlabel") ? xlabel : "offered rate (requests/s)")
set ylabel (exists("ylabel") ? ylabel : "output tokens/s")
if (logx) { set logscale x 2; set format x "%g" }
if (logy) { set logscale y; set format y "%g" }
set xrange [0:*]
if (logx) { set xrange [*:*]; set autoscale xfix; set offsets graph 0.03, graph 0.03, 0, 0 }
set yrange [0:*]
if (logy) { set yrange [*:*] }
set mxtics 2
set mytics 2
set key top left

if (npoints == 0) {
    unset key
    set label 1 "no data" at graph 0.5, 0.5 center font ",16"
    plot [0:1] [0:1] NaN notitle
} else {
    plot for [i=1:nseries] datafile index (i-1) using 1:2 with linespoints \
        lw 2 dt dt_of(i) lc rgb lc_of(i) pt pt_of(i) ps 1.3 title stitle(i)
}
unset output
