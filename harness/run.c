typedef int bench_placeholder_run_;
