package tasks

import "time"

// Outcomes passed to [Observer.UploadFinished].
const (
	OutcomeSuccess   = "success"   // uploaded, result written
	OutcomeRetry     = "retry"     // transient failure, asynq retries
	OutcomeThrottled = "throttled" // gateway said 40005, retried later
	OutcomeRejected  = "rejected"  // permanent failure, task archived
)

// Observer is told what the [Handler] does, so metrics can be attached
// without changing this package. Reasons are short, stable, low-cardinality
// strings such as "type_mismatch", "changed", "alipay_40004", "transport",
// "panic". Methods must be safe for concurrent use and should return
// quickly.
type Observer interface {
	// UploadFinished is called once per attempt with its outcome (one of
	// the Outcome constants), the reason (empty on success), the bytes
	// uploaded (the file size on success, 0 otherwise) and the attempt's
	// duration.
	UploadFinished(outcome, reason string, bytes int64, d time.Duration)
	// Retrying is called when an attempt failed transiently.
	Retrying(reason string)
	// Throttled is called when the gateway throttled an attempt.
	Throttled()
	// Rejected is called when a task failed permanently.
	Rejected(reason string)
}

// NopObserver is an [Observer] that does nothing; a nil Observer in
// [HandlerConfig] means NopObserver.
type NopObserver struct{}

func (NopObserver) UploadFinished(string, string, int64, time.Duration) {}
func (NopObserver) Retrying(string)                                     {}
func (NopObserver) Throttled()                                          {}
func (NopObserver) Rejected(string)                                     {}
