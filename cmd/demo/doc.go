// Command demo runs the whole upload pipeline on this machine with
// throw-away settings: Redis on loopback (started if none is running), the
// Alipay gateway emulator, the worker with its dashboard, and a bulk import
// of generated sample media, then prints a result table and the dashboard
// URL and runs until Ctrl-C. `make demo` runs it.
//
// Usage:
//
//	demo [--once] [--dir .demo] [--http-addr 127.0.0.1:8090] [--queue demo-uploads]
//
// DEMO_REDIS_URL (or --demo-redis-url) overrides the Redis (default
// redis://127.0.0.1:6379/5). With --once it exits after the table. Exit
// statuses are README.md's: 1 when a sample file did not end as expected,
// 0 when it is stopped by Ctrl-C after the table.
package main
