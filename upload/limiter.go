package upload

import (
	"context"
	"errors"
	"fmt"
)

// Limiter paces the calls a [Client] makes to the gateway, for instance to
// keep a whole fleet of workers under one rate limit per app_id
// (upload/ratelimit's *Limiter does that through Redis). Set it as
// Config.Limiter; without one (the default) a Client calls at once and
// asks nothing of anyone.
//
// The Client calls Wait before every request it sends (uploads and JSON
// calls), after checking the request and before signing it, so that the
// timestamp is the time it goes. It calls Throttled after every answer
// that throttled (classic code 40005, v3 app-call-limited or HTTP 429), so
// that the limiter can slow down every caller, not only this one. Both are
// called from many goroutines at once.
type Limiter interface {
	// Wait blocks until the call may be sent, or ctx ends (see
	// [WithWaitContext]). An error means the call is not sent: one
	// matching [ErrRateLimit] makes the call throttled (no slot in time;
	// retry later without counting it as a failure), any other retryable.
	Wait(ctx context.Context) error
	// Throttled reports that the gateway throttled a call. It should
	// return quickly; its own failures are its own to log.
	Throttled(ctx context.Context)
}

// ErrRateLimit is what a [Limiter] returns when it gave a call no slot in
// time. The call was not sent; the Client's error is throttled (it matches
// [ErrThrottled] too).
var ErrRateLimit = errors.New("upload: no slot under the rate limit")

// waitKey is the context key of [WithWaitContext].
type waitKey struct{}

// WithWaitContext returns a copy of ctx under which a Client's wait for a
// [Limiter] slot also ends when wait ends; the request itself follows ctx
// alone. It is for a caller that sends under a context that is never
// cancelled (context.WithoutCancel), so that a request once sent runs to
// its answer, but that must not keep waiting for a slot once its own
// context (wait) is over: nothing has been sent while it waits.
func WithWaitContext(ctx, wait context.Context) context.Context {
	return context.WithValue(ctx, waitKey{}, wait)
}

// wait waits for the limiter's slot, if there is a limiter. Its errors are
// classified failures: throttled for [ErrRateLimit], retryable otherwise.
func (c *Client) wait(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	if w, ok := ctx.Value(waitKey{}).(context.Context); ok {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(w, stop)()
	}
	err := c.limiter.Wait(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRateLimit):
		return &failure{class: Throttled, err: err}
	default:
		return retryable(fmt.Errorf("upload: waiting for a slot under the rate limit: %w", err))
	}
}

// throttled tells the limiter, if any, that the gateway throttled a call
// that ended with err. A throttled error the limiter made itself is not
// the gateway's and is not reported.
func (c *Client) throttled(ctx context.Context, err error) {
	if c.limiter == nil || err == nil || errors.Is(err, ErrRateLimit) || Classify(err) != Throttled {
		return
	}
	c.limiter.Throttled(context.WithoutCancel(ctx))
}
