// Package tasks defines the store media upload job: its asynq task type,
// its payload, how to build one, and how a worker runs it.
//
// # Queuing a job
//
// A job names a file by path; the file itself never travels through Redis.
// The enqueuing side computes the file's SHA-256 and size with [Digest],
// fills an [UploadPayload] and calls [NewUploadTask], which validates the
// payload and applies the defaults: the "default" queue, a retry budget of
// [DefaultMaxRetry], a per-attempt [DefaultTimeout], and a
// [DefaultRetention] so the task's result stays readable after it
// completes.
//
// The task ID comes from the content hash and the merchant identity (see
// [TaskID]): the same file queued twice for the same merchant is refused by
// asynq with ErrTaskIDConflict, which callers should read as "already
// known", and look the task up instead. A merchant enters the ID through a
// hash of its auth_app_id, never its token, so refreshing a token never
// makes a file upload twice.
//
// # Merchants
//
// An ISV uploading for a merchant names it (UploadPayload.Merchant, its
// auth_app_id, authorized beforehand with the merchant package); the
// [Handler] asks its [Tokens] (a merchant.Store) for the merchant's
// current token when it uploads. When the gateway refuses that token
// (20001: invalid or timed out) the handler renews it (Tokens.Renew: one
// refresh per merchant across the fleet) and sends the file once more
// within the same attempt, without spending the retry budget. A merchant
// that must authorize the app again archives its jobs at once as
// [ReasonMerchantUnauthorized], with the command that re-authorizes it and
// re-runs them. An application that holds a merchant's token itself gives
// it to the [Client], which seals it with the merchant key file
// ([Sealer]) into the payload: no token reaches Redis in clear.
//
// # Applications
//
// Applications need none of the above: a [Client] (see [NewClient]) checks a
// file locally with the worker's own rules, hashes it and queues it
// ([Client.Enqueue]); a file already known for the same merchant comes back
// as the existing task rather than as a second upload. [Client.Lookup]
// reads a task's state, result and last error, [Client.Wait] waits for it
// to complete or be archived, and [Client.Requeue] runs an archived task
// again.
//
// # Waking waiters
//
// The worker publishes a task's ID on [NoticeChannel] of its queue when an
// attempt at it ends ([NotifyEnded], installed by worker.New). A Client
// holds one subscription to its queue's channel, shared by every
// [Client.Watch]; [Client.Wait], the importer's --wait and the HTTP API's
// long poll look a task up as soon as they hear of it. asynq records the
// new state just after the handler returns, so the notice comes a moment
// early: [Client.Recheck] looks again after short pauses while the task
// still reads active. [Client.Completed] reads many tasks in one round
// trip (the importer's --wait looks there first). Polling stays, slower
// ([DefaultPollInterval]), so a lost notice costs latency, never a result.
//
// # Payload versions
//
// Payloads carry a version. A worker archives a payload whose version it
// does not know rather than guessing, so the format can change with a new
// version while old and new workers share a queue. [PayloadVersion] (2)
// names the merchant or seals its token; version 1 payloads, which carried
// the token in clear, still run, so that queues drain, and are no longer
// written.
//
// # Running a job
//
// A [Handler], built by [NewHandler] with its dependencies (the upload
// client, the validator, the media roots, a logger and an optional
// [Observer] for metrics), runs one attempt:
//
//  1. decode the payload; an undecodable payload or an unknown version is
//     archived at once;
//  2. open the file through the media roots, which refuse ".." paths,
//     symbolic links leading out of the roots, and anything that is not a
//     regular file, without opening it for reading;
//  3. compare the size with the one recorded at enqueue time, then validate
//     name, declared type, size, real type and structure;
//  4. stream the file to the gateway through a reader that hashes what it
//     passes on and, at the recorded size, fails with [ErrChanged] instead
//     of ending if the SHA-256 differs, so the request is aborted before its
//     body completes;
//  5. write a [Result] (image_id, image_url, sha256, bytes, trace_id,
//     attempt, ...) through the task's ResultWriter.
//
// # Redis outages: the ledger
//
// With a [Ledger] (worker.New always gives the handler one), an attempt
// first looks for the result of an earlier one, kept in this process or
// stored in Redis, and completes with it without uploading; otherwise it
// claims the job for its process before step 2. A claim held by another
// worker process that is alive defers the attempt ([*DeferredError]); one
// held by a process without a heartbeat is taken over. A result Redis
// cannot take is kept in memory and stored by the ledger's loop as soon as
// Redis answers, and the attempt is deferred meanwhile. So a file is
// uploaded once however long Redis is away, as long as the process that
// uploaded it lives; see [Ledger] for the keys and timings.
//
// A panic in an attempt is recovered by the handler itself (asynq would
// also recover it, but without the task's context): it is logged with its
// stack, reported to the Observer with reason "panic", and the attempt
// counts as a transient failure wrapping [ErrPanic].
//
// # Retry policy
//
// Transient failures (network errors, HTTP 5xx, gateway code 20000) are
// retried by asynq with exponential backoff and jitter, computed by
// [RetryPolicy.Delay]. Throttling (gateway code 40005) comes back as a
// [*ThrottledError]: [IsFailure] tells asynq not to count it against the
// retry budget, and the policy waits the longer ThrottleDelay. A deferred
// attempt ([*DeferredError]) is not counted either, and waits BaseDelay.
// Permanent
// failures match asynq.SkipRetry so the task is archived at once; their
// message, the task's last error, says the reason once ("corrupt: the
// file is cut short...; export or copy it again") without asynq's "skip
// retry for the task".
//
// # Messages
//
// What a person reads says once what happened, to which file, and what to
// do. asynq's wording is translated here, at the edge: Redis failing a
// command is "Redis failed while looking up a task: <cause> (is Redis
// reachable at <address>?)", matching [ErrUnavailable]; a completed task
// shows no LastError even when an earlier attempt failed; [Explain] gives
// the text of a rejection whose reason is said beside it.
//
// # Secrets
//
// Error messages end up in Redis and in the dashboard. Nothing in this
// package puts an app_auth_token, a signature or a key into an error
// message or a log record. As a second line of defence the handler scrubs
// the error of a failed attempt before asynq stores it: every token the
// attempt used (read from the merchant store, renewed, unsealed or, in a
// version 1 payload, its own) is replaced, then the shared rules of internal/secret hide sign=...,
// app_auth_token=... and similar values quoted from a URL. The dashboard's
// [github.com/storemedia/alipay-media-worker/dashboard.FormatPayload]
// masks the token when a payload is shown.
package tasks
