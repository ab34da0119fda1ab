// Package cli is the worker command: it reads the settings (environment
// variables, each overridden by the flag of the same name), loads the key
// files, builds the logger, runs the start-up checks and runs the worker
// that worker.New assembles until SIGINT or SIGTERM. cmd/worker's main is a
// call to [Main].
//
// # Start-up checks
//
// Every problem is reported at once, each naming the variable to fix:
// syntax errors in the settings, unreadable or mismatched keys and
// certificates, then what worker.New finds (media roots, allowed types,
// the dashboard's settings, Redis not answering within REDIS_PING_TIMEOUT).
// The exit status is 2 (internal/command.ExitUsage), or 3
// (ExitUnavailable) when Redis not answering is the only problem.
// "worker --check" stops there, with status 0 when all is well.
//
// # Stopping
//
// SIGTERM or SIGINT is the worker's normal stop: in-flight uploads get
// SHUTDOWN_TIMEOUT to finish, the rest go back to their queue, and the
// status is 0. A second SIGINT (Ctrl-C again) ends the process at once
// with status 130; a repeated SIGTERM does not.
package cli
