package convert

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// tryAcquire reports whether acquire(n) returns within a short wait, and its
// release function when it does.
func tryAcquire(t *testing.T, b *memBudget, n int64) (func(), bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rel, err := b.acquire(ctx, n)
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("acquire(%d): %v", n, err)
		}
		return nil, false
	}
	return rel, true
}

// acquireInLine starts acquire(n) in its own goroutine and returns once
// the request waits in b's queue; the channel yields its release function
// when granted.
func acquireInLine(t *testing.T, b *memBudget, n int64) <-chan func() {
	t.Helper()
	granted := make(chan func())
	go func() {
		rel, err := b.acquire(context.Background(), n)
		if err != nil {
			t.Error(err)
		}
		granted <- rel
	}()
	waitQueued(b, 1)
	return granted
}

// waitQueued returns once n requests wait in b's queue.
func waitQueued(b *memBudget, n int) {
	for {
		b.mu.Lock()
		queued := len(b.queue)
		b.mu.Unlock()
		if queued == n {
			return
		}
		runtime.Gosched()
	}
}

func TestMemBudget(t *testing.T) {
	t.Parallel()
	b := &memBudget{limit: 100}
	small1, ok := tryAcquire(t, b, 40)
	if !ok {
		t.Fatal("40 of 100 not granted with nothing held")
	}
	small2, ok := tryAcquire(t, b, 60)
	if !ok {
		t.Fatal("60 more not granted with 40 of 100 held")
	}
	if _, ok := tryAcquire(t, b, 1); ok {
		t.Fatal("1 more granted with the budget spent")
	}
	small1()
	small1() // a second call gives nothing back twice
	if b.used != 60 || b.holders != 1 {
		t.Fatalf("after one release: used %d by %d; want 60 by 1", b.used, b.holders)
	}
	// A request over the whole budget waits for everything to be given
	// back, then runs alone; a request queued behind it waits too.
	big := acquireInLine(t, b, 500)
	if _, ok := tryAcquire(t, b, 10); ok {
		t.Fatal("a small request passed the large one queued before it")
	}
	small2()
	relBig := <-big
	if _, ok := tryAcquire(t, b, 10); ok {
		t.Fatal("a request granted beside one over the whole budget")
	}
	relBig()
	if rel, ok := tryAcquire(t, b, 100); !ok {
		t.Fatal("the whole budget not granted once free")
	} else {
		rel()
	}
	if b.used != 0 || b.holders != 0 || len(b.queue) != 0 {
		t.Fatalf("at the end: used %d by %d, %d queued; want nothing", b.used, b.holders, len(b.queue))
	}
}

func TestMemBudgetTryAcquire(t *testing.T) {
	t.Parallel()
	b := &memBudget{limit: 100}
	first, ok := b.tryAcquire(70)
	if !ok {
		t.Fatal("70 of 100 not granted with nothing held")
	}
	if _, ok := b.tryAcquire(40); ok {
		t.Fatal("40 more granted with 70 of 100 held")
	}
	// A request waiting in line comes first, even when a smaller one
	// would fit.
	queued := acquireInLine(t, b, 50)
	if _, ok := b.tryAcquire(10); ok {
		t.Fatal("10 granted past a waiting request")
	}
	first()
	second := <-queued
	third, ok := b.tryAcquire(50)
	if !ok {
		t.Fatal("50 not granted beside 50 of 100")
	}
	second()
	third()
	if b.used != 0 || b.holders != 0 {
		t.Errorf("after every release: used %d by %d; want none", b.used, b.holders)
	}
}
