typedef int bench_placeholder_sse_;
