// Package redislog silences go-redis's own process-wide logger.
//
// go-redis prints connection-pool retries straight to stderr, bypassing the
// commands' structured logs and repeating what they already report once,
// with a clear message and an exit status (for example an unreachable
// Redis at start-up). Commands call [Discard] first thing in main; library
// code never touches the process-wide logger.
package redislog
