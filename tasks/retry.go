package tasks

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// ThrottledError is returned by the [Handler] when the gateway answered
// 40005 (call frequency exceeded). [IsFailure] reports false for it, so the
// asynq server retries the task without spending its retry budget, and
// [RetryPolicy.Delay] gives it the longer throttle delay.
type ThrottledError struct {
	Err error
}

func (e *ThrottledError) Error() string { return throttledPrefix + e.Err.Error() }

func (e *ThrottledError) Unwrap() error { return e.Err }

// IsFailure is the asynq.Config.IsFailure of a server running the
// [Handler]: every error counts as a failed attempt except a
// [*ThrottledError] and a [*DeferredError].
//
// asynq checks the retry budget before it asks IsFailure, so a task whose
// budget is already spent by earlier transient failures is archived when its
// last attempt is throttled; the archived error then starts with
// "throttled:" and the task can be re-run from the dashboard or inspector.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var (
		t *ThrottledError
		d *DeferredError
	)
	return !errors.As(err, &t) && !errors.As(err, &d)
}

// RetryPolicy computes retry delays: exponential backoff with jitter for
// transient failures, and a separate, longer delay for throttling. Its
// [RetryPolicy.Delay] method is an asynq.RetryDelayFunc. The zero value is
// usable and takes the documented defaults.
//
// asynq moves tasks whose retry time has come back to their queue every
// asynq.Config.DelayedTaskCheckInterval (5s by default), so delays shorter
// than that interval are rounded up by it.
type RetryPolicy struct {
	// BaseDelay is the delay before the first retry; each further retry
	// doubles it. Default 10s.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default 10m.
	MaxDelay time.Duration
	// ThrottleDelay is the delay after a throttled (40005) attempt. It does
	// not grow, since throttled attempts are not counted. Default 1m.
	ThrottleDelay time.Duration
	// Jitter is the fraction of each delay that is random: a delay d becomes
	// a value in [d*(1-Jitter), d]. Zero means the default 0.5; a negative
	// value turns jitter off. At most 1.
	Jitter float64
	// Rand returns a value in [0, 1). Default math/rand/v2.Float64.
	Rand func() float64
}

// Default values of [RetryPolicy].
const (
	DefaultBaseDelay     = 10 * time.Second
	DefaultMaxDelay      = 10 * time.Minute
	DefaultThrottleDelay = time.Minute
	DefaultJitter        = 0.5
)

// WithDefaults returns a copy of p with zero fields set to their defaults.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	p.BaseDelay = cmp.Or(p.BaseDelay, DefaultBaseDelay)
	p.MaxDelay = cmp.Or(p.MaxDelay, DefaultMaxDelay)
	p.ThrottleDelay = cmp.Or(p.ThrottleDelay, DefaultThrottleDelay)
	p.Jitter = cmp.Or(p.Jitter, DefaultJitter)
	if p.Jitter < 0 {
		p.Jitter = 0
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Validate reports settings that make no sense, after defaults are applied.
func (p RetryPolicy) Validate() error {
	p = p.WithDefaults()
	switch {
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.ThrottleDelay < 0:
		return errors.New("tasks: retry delays must not be negative")
	case p.MaxDelay < p.BaseDelay:
		return fmt.Errorf("tasks: retry max delay %v is shorter than the base delay %v", p.MaxDelay, p.BaseDelay)
	case p.Jitter > 1:
		return fmt.Errorf("tasks: retry jitter %v is above 1", p.Jitter)
	}
	return nil
}

// Delay returns how long to wait before retrying a task that has already
// been retried n times and failed with err. It has the signature of
// asynq.RetryDelayFunc.
func (p RetryPolicy) Delay(n int, err error, _ *asynq.Task) time.Duration {
	p = p.WithDefaults()
	var d time.Duration
	var (
		t  *ThrottledError
		de *DeferredError
	)
	switch {
	case errors.As(err, &t):
		d = p.ThrottleDelay
	case errors.As(err, &de):
		d = p.BaseDelay // not counted, so it does not grow
	default:
		d = p.BaseDelay
		for i := 0; i < n && d < p.MaxDelay; i++ {
			d *= 2
		}
		d = min(d, p.MaxDelay)
	}
	if p.Jitter > 0 {
		d -= time.Duration(p.Jitter * p.Rand() * float64(d))
	}
	return d
}
