typedef int bench_placeholder_stats_;
