package tasks

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestIsFailure(t *testing.T) {
	t.Parallel()
	throttled := fmt.Errorf("wrapped: %w", &ThrottledError{Err: errors.New("alipay 40005")})
	if IsFailure(throttled) {
		t.Error("throttle counted as a failure")
	}
	if !IsFailure(errors.New("boom")) {
		t.Error("plain error not counted as a failure")
	}
	if IsFailure(nil) {
		t.Error("nil counted as a failure")
	}
}

func TestRetryPolicyBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 10 * time.Second, Jitter: -1}
	want := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for n, w := range want {
		if got := p.Delay(n, errors.New("x"), nil); got != w*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w*time.Second)
		}
	}
	// Large retry counts do not overflow.
	if got := p.Delay(1000, errors.New("x"), nil); got != 10*time.Second {
		t.Errorf("Delay(1000) = %v", got)
	}
}

func TestRetryPolicyThrottleAndJitter(t *testing.T) {
	t.Parallel()
	r := 0.0
	p := RetryPolicy{BaseDelay: time.Second, ThrottleDelay: 40 * time.Second, Jitter: 0.5, Rand: func() float64 { return r }}
	th := &ThrottledError{Err: errors.New("40005")}
	if got := p.Delay(3, th, nil); got != 40*time.Second {
		t.Errorf("throttle delay = %v, want 40s whatever the retry count", got)
	}
	r = 0.999999
	if got := p.Delay(0, errors.New("x"), nil); got <= 500*time.Millisecond || got > time.Second {
		t.Errorf("jittered delay %v outside (0.5s, 1s]", got)
	}
	if got := p.Delay(0, th, nil); got <= 20*time.Second || got > 40*time.Second {
		t.Errorf("jittered throttle delay %v outside (20s, 40s]", got)
	}
}

func TestRetryPolicyDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	d := RetryPolicy{}.WithDefaults()
	if d.BaseDelay != DefaultBaseDelay || d.MaxDelay != DefaultMaxDelay || d.ThrottleDelay != DefaultThrottleDelay || d.Jitter != DefaultJitter || d.Rand == nil {
		t.Errorf("defaults: %+v", d)
	}
	if err := (RetryPolicy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	for _, p := range []RetryPolicy{
		{BaseDelay: time.Minute, MaxDelay: time.Second},
		{BaseDelay: -time.Second},
		{Jitter: 1.5},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
		}
	}
}

// TestDeferredIsNotAFailure: a deferred attempt (issue 12, item 4) does
// not spend the retry budget and waits BaseDelay, however many retries
// came before.
func TestDeferredIsNotAFailure(t *testing.T) {
	deferred := fmt.Errorf("wrapped: %w", &DeferredError{Err: errors.New("worker w1 holds it")})
	if IsFailure(deferred) {
		t.Error("IsFailure(deferred) = true")
	}
	p := RetryPolicy{BaseDelay: 3 * time.Second, Jitter: -1}
	for _, n := range []int{0, 5} {
		if d := p.Delay(n, deferred, nil); d != 3*time.Second {
			t.Errorf("Delay(%d, deferred) = %v, want the base delay", n, d)
		}
	}
}
