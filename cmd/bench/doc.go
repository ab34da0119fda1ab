// Command bench measures the upload pipeline against its baselines in one
// run and prints one table per scenario (see BENCHMARKS.md): latency on an
// idle worker, the pipeline against Alipay's official Node SDK, a gateway
// far away, CPU per file, phone-photo conversion against the vips command,
// end-to-end throughput for several file sizes and concurrencies (a direct
// upload loop, asynq with a no-op handler, and importer + Redis +
// cmd/worker, all against one gateway emulator), peak RSS, and the enqueue
// rates. --scenarios picks some; with --output it also rewrites their
// blocks in BENCHMARKS.md.
//
// It needs redis-server on PATH (a private one is started) and, unless
// --worker names a built binary, the Go toolchain to build cmd/worker.
package main
