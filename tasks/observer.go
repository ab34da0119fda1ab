package tasks

import "time"

// Outcome is how one attempt ended.
type Outcome string

// Outcomes of an [Attempt].
const (
	OutcomeSuccess   Outcome = "success"   // uploaded, result written
	OutcomeRetry     Outcome = "retry"     // transient failure, asynq retries
	OutcomeThrottled Outcome = "throttled" // gateway said 40005, retried later
	OutcomeRejected  Outcome = "rejected"  // permanent failure, task archived
	OutcomeDeferred  Outcome = "deferred"  // held by another attempt or its result not stored yet; retried soon
)

// Attempt is the record of one attempt that the [Handler] gives its
// [Observer].
type Attempt struct {
	// Outcome is how the attempt ended.
	Outcome Outcome
	// Reason is a short, stable, low-cardinality code such as
	// "type_mismatch", "changed", "alipay_40004", "transport" or "panic";
	// empty on success.
	Reason string
	// Bytes is the file size on success, 0 otherwise.
	Bytes int64
	// Duration is how long the attempt took.
	Duration time.Duration
}

// Observer is told about every attempt the [Handler] runs, so metrics can
// be attached without changing this package (the worker's metrics package
// implements it). Observe must be safe for concurrent use and return
// quickly.
type Observer interface {
	Observe(Attempt)
}

// nopObserver stands in for a nil [HandlerConfig.Observer].
type nopObserver struct{}

func (nopObserver) Observe(Attempt) {}
