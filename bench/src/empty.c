void bench_empty_preload(void) {}
