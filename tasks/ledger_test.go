package tasks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// newTestLedger is a ledger with short liveness times on rdb.
func newTestLedger(t *testing.T, rdb redis.UniversalClient) *Ledger {
	t.Helper()
	l, err := NewLedger(LedgerConfig{Redis: rdb, Heartbeat: 50 * time.Millisecond, StaleAfter: 300 * time.Millisecond, DeadAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Beat(t.Context()); err != nil {
		t.Fatal(err)
	}
	return l
}

func isDeferred(err error) bool {
	var de *DeferredError
	return errors.As(err, &de)
}

// TestLedgerAcrossAnOutage (issue 12, item 4): worker A uploads a file,
// then Redis goes away for longer than A's heartbeats stay fresh, so A
// cannot store the result. Once Redis is back (with its data), worker B
// gets the task: it must not upload while A may still store its result;
// once A's loop has stored it, B completes with A's image_id.
func TestLedgerAcrossAnOutage(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t, testproc.RedisOptions{AppendOnly: true})
	rdbA := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	rdbB := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdbA.Close(); rdbB.Close() })
	a, b := newTestLedger(t, rdbA), newTestLedger(t, rdbB)
	ctx := t.Context()

	if res, err := a.begin(ctx, "t1"); res != nil || err != nil {
		t.Fatalf("A's first attempt: %v %v, want a claim", res, err)
	}
	res := Result{ImageID: "img-1", TraceID: "trace-1", Attempt: 1}
	a.keep("t1", res)
	srv.Kill()
	if err := a.store(ctx, "t1", res); err == nil {
		t.Fatal("stored with Redis down")
	}
	// A's own next attempt finds the result it keeps, Redis or not.
	if got, err := a.begin(ctx, "t1"); err != nil || got == nil || got.ImageID != "img-1" {
		t.Fatalf("A's next attempt: %v %v, want the kept result", got, err)
	}
	time.Sleep(700 * time.Millisecond) // A's heartbeat is stale now
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := b.begin(ctx, "t1"); got != nil || !isDeferred(err) {
		t.Fatalf("B while A holds the result: %v %v, want deferred", got, err)
	}
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Run(loop) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := b.begin(ctx, "t1")
		if err == nil && got != nil {
			if got.ImageID != "img-1" || got.TraceID != "trace-1" {
				t.Fatalf("B found %+v, want A's result", got)
			}
			break
		}
		if !isDeferred(err) || time.Now().After(deadline) {
			t.Fatalf("B: %v %v, want deferred until A stores its result", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a.Pending() != 0 {
		t.Errorf("A still keeps %d result(s)", a.Pending())
	}
}

// TestLedgerClaims: a claim given up lets another worker upload at once;
// a second attempt in the same worker waits for the first; a worker that
// stops beating is taken over only after it stayed stale for DeadAfter.
func TestLedgerClaims(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	a, b, gone := newTestLedger(t, rdb), newTestLedger(t, rdb), newTestLedger(t, rdb)
	ctx := t.Context()

	if _, err := a.begin(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.begin(ctx, "t2"); !isDeferred(err) {
		t.Fatalf("a second attempt in the same worker: %v, want deferred", err)
	}
	a.end(ctx, "t2", false) // failed without a result
	if res, err := b.begin(ctx, "t2"); res != nil || err != nil {
		t.Fatalf("B after A gave up: %v %v, want a claim", res, err)
	}

	if _, err := gone.begin(ctx, "t3"); err != nil {
		t.Fatal(err)
	}
	// gone never beats again. While its heartbeat is fresh, and then for
	// DeadAfter once suspected, B waits; then it takes over.
	start := time.Now()
	for {
		res, err := b.begin(ctx, "t3")
		if err == nil && res == nil {
			break
		}
		if !isDeferred(err) || time.Since(start) > 10*time.Second {
			t.Fatalf("B on a dead worker's claim: %v %v", res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < 550*time.Millisecond {
		t.Errorf("taken over after %v, before StaleAfter+DeadAfter", d)
	}
}
