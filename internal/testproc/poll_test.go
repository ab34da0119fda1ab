package testproc

import (
	"context"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	calls := 0
	if !Poll(context.Background(), time.Minute, time.Millisecond, func() bool { calls++; return calls == 3 }) || calls != 3 {
		t.Errorf("a condition true at the third call: %d calls", calls)
	}
	if Poll(context.Background(), 0, time.Millisecond, func() bool { return false }) {
		t.Error("a condition never true was reported true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Poll(ctx, time.Minute, time.Millisecond, func() bool { return false }) {
		t.Error("a cancelled context: reported true")
	}
}
