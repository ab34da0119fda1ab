package testproc

import (
	"context"
	"time"
)

// Poll calls cond every interval until it returns true, and reports
// whether it did before timeout passed or ctx ended.
func Poll(ctx context.Context, timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
		}
	}
	return true
}

// WaitFor polls cond every 10 milliseconds until it returns true, and
// fails the test if it has not after timeout; what names the awaited
// state in that failure.
func WaitFor(tb TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(context.Background(), timeout, 10*time.Millisecond, cond) {
		tb.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
