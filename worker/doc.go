// Package worker assembles the upload worker: [New] builds, from settings
// and keys already loaded, the asynq server that runs the tasks package's
// handler, with its dashboard, metrics and health probes. It is the only
// assembly of the worker: cmd/worker, the tests, the demo and the
// benchmarks all run what New builds. The package reads no environment
// variable and no key file; cmd/worker does (see its --help).
//
// # Start-up checks
//
// [New] checks the [Config], builds the validator, opens the media roots,
// builds the dashboard and pings Redis (its context bounds the ping).
// Every problem is collected into a [*StartupError] whose problems are
// [*ConfigError] values naming the Config field to fix; Redis not
// answering is a [*RedisError]. Messages never show a key, a token or the
// Redis password.
//
// # One Redis client
//
// New opens one Redis client from Config.Redis. The asynq server, the
// dashboard (asynqmon), the inspector behind the queue metrics and the
// readiness probe all share it; [Worker.Close] closes it. The probe and the
// start-up ping honour their context; the queue metrics read Redis through
// asynq's Inspector, whose methods take no context, so a scrape is bounded
// only by go-redis's own timeouts.
//
// # Running and stopping
//
// [Worker.Run] serves the configured queues, and the HTTP listener when
// Config.HTTP is set, until its context ends (cmd/worker cancels it on
// SIGTERM or SIGINT): the server stops taking tasks, in-flight uploads get
// ShutdownTimeout to finish (their context is not the cancelled one), and
// the unfinished ones go back to their queue for the next worker.
// [Worker.Listen] binds the HTTP address first, so a taken address is
// known before any task is taken.
//
// Retries follow the tasks package's policy: exponential backoff with
// jitter for transient failures, a separate delay for throttling, which
// does not spend the retry budget (tasks.IsFailure). asynq only looks for
// due retries every DelayedTaskCheckInterval, so delays below that interval
// round up to it.
//
// # One rate limit for the fleet
//
// Config.RateLimit (off when nil) keeps every worker of the app, in any
// number of processes sharing the Redis, under one rate of calls to the
// gateway, through upload/ratelimit: each call waits for its slot, under
// the Redis key [RateLimitKey] of the app_id, and a throttled answer
// pauses the whole fleet for the cool-down. A call given no slot within
// the limit's MaxWait is throttled, as a 40005 is, without spending the
// retry budget. With Config.HTTP the waits are counted in the
// alipay_media_rate_* metrics.
//
// # Metrics
//
// With Config.HTTP, the worker counts every attempt in its upload metrics
// (worker/metrics) and serves them on /metrics with asynq's queue metrics;
// Config.Observer, when set, is told about every attempt too.
//
// # Merchants
//
// With Config.MerchantKeys (the merchant key file's keyring), New builds a
// merchant.Store on the worker's Redis and upload client: the handler
// reads the current token of the merchant a job names when it uploads,
// renews it once within the attempt when Alipay refuses it, and opens
// tokens applications sealed into payloads; /metrics then counts refreshes
// by outcome and merchants needing re-authorization. Without it, such jobs
// are archived as merchant_not_configured.
//
// Logs go through log/slog; asynq's own records are routed there too,
// marked component=asynq, at the logger's level. No log record or error
// carries a private key, an app_auth_token or a signature.
package worker
