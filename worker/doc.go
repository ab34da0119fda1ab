// Package worker assembles the upload worker: configuration, start-up
// checks, logging and the asynq server that runs the tasks package's
// handler. cmd/worker is a call to [Main].
//
// # Configuration
//
// [ConfigFromEnv] reads a [Config] from environment variables (listed, with
// defaults, by [EnvVars] and by "worker -help"); [Main] lets a flag of the
// same name override each one (REDIS_URL → -redis-url). Syntax errors are
// reported all at once, each naming its variable.
//
// # Start-up checks
//
// [New] loads the keys (public key or certificate mode), builds the
// validator, opens the media roots and pings Redis with a timeout. Every
// failure is collected into a [*StartupError] whose problems each name the
// variable to fix. Messages name files, never their content, and show the
// Redis URL with its password masked.
//
// # Running and stopping
//
// [Worker.Run] serves the configured queues until its context ends. On
// SIGTERM or SIGINT, [Main] cancels that context: the server stops taking
// tasks, in-flight uploads get ShutdownTimeout to finish (their context is
// not the cancelled one), and the unfinished ones go back to their queue for
// the next worker. A second signal ends the process at once.
//
// Retries follow the tasks package's policy: exponential backoff with
// jitter for transient failures, a separate delay for throttling, which
// does not spend the retry budget (tasks.IsFailure). asynq only looks for
// due retries every DelayedTaskCheckInterval, so delays below that interval
// round up to it; lower it (WORKER_DELAYED_TASK_CHECK_INTERVAL) for short
// delays.
//
// # Extending
//
// Other components reach the worker's pieces through exported accessors:
// [Worker.RedisConnOpt] for an asynq.Inspector or a dashboard on the same
// Redis, [Worker.Ping] for a readiness probe, and Config.Observer for
// metrics (the metrics package's Uploads implements tasks.Observer).
//
// Logs go through log/slog, text or JSON; asynq's own records are routed
// there too, marked component=asynq. No log record or error carries a
// private key, an app_auth_token or a signature.
package worker
