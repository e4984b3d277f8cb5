typedef int bench_placeholder_oai_;
