package convert

import (
	"context"
	"fmt"
	"sync"
)

// memBudget bounds the memory conversions hold at once, by estimate: a
// conversion asks for its estimate before it decodes and gives it back
// when it is over. Requests are served in order, so a large one is not
// passed over forever by small ones; a request larger than the whole
// budget is served when nothing else holds any of it (it runs alone).
type memBudget struct {
	mu      sync.Mutex
	limit   int64
	used    int64
	holders int
	queue   []*memWaiter
}

type memWaiter struct {
	n     int64
	ready chan struct{} // closed when granted
}

// fits reports whether n can be granted now; b.mu is held.
func (b *memBudget) fits(n int64) bool { return b.holders == 0 || b.used+n <= b.limit }

// grantQueued grants queued requests in order while they fit; b.mu is held.
func (b *memBudget) grantQueued() {
	for len(b.queue) > 0 && b.fits(b.queue[0].n) {
		w := b.queue[0]
		b.queue = b.queue[1:]
		b.used += w.n
		b.holders++
		close(w.ready)
	}
}

// releaser returns the function that gives n granted bytes back.
func (b *memBudget) releaser(n int64) func() {
	return sync.OnceFunc(func() {
		b.mu.Lock()
		b.used -= n
		b.holders--
		b.grantQueued()
		b.mu.Unlock()
	})
}

// tryAcquire takes n bytes of the budget if they are free now and no
// request waits before this one, and returns the function that gives
// them back; otherwise it takes nothing and returns false.
func (b *memBudget) tryAcquire(n int64) (release func(), ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 || !b.fits(n) {
		return nil, false
	}
	b.used += n
	b.holders++
	return b.releaser(n), true
}

// acquire waits until n bytes of the budget are free (or nothing else
// holds any) and returns the function that gives them back.
func (b *memBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	release = b.releaser(n)
	b.mu.Lock()
	if len(b.queue) == 0 && b.fits(n) {
		b.used += n
		b.holders++
		b.mu.Unlock()
		return release, nil
	}
	w := &memWaiter{n: n, ready: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return release, nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.mu.Unlock()
		release()
	default:
		for i, q := range b.queue {
			if q == w {
				b.queue = append(b.queue[:i], b.queue[i+1:]...)
				break
			}
		}
		b.grantQueued() // the requests behind this one may fit now
		b.mu.Unlock()
	}
	return nil, fmt.Errorf("convert: waiting for %d MiB of the conversion memory budget: %w", n>>20, ctx.Err())
}
