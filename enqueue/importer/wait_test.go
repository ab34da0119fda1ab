package importer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestLookupRoundStopsAtTheFirstFailure: with Redis gone, a round over
// many waiting tasks gives up after its first failed lookup (plus those
// already in flight) instead of failing once per task, so an outage is
// noticed, and WaitOutage honoured, whatever the number of tasks.
func TestLookupRoundStopsAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	srv.Kill()
	var calls atomic.Int64
	const enqueuers = 4
	r := &run{cfg: Config{Enqueuers: enqueuers}, lookup: func(ctx context.Context, id string) (tasks.Status, error) {
		calls.Add(1)
		return client.Lookup(ctx, id)
	}}
	waiting := map[string][]Row{}
	for i := range 200 {
		waiting[fmt.Sprintf("upload:%064x:self", i)] = nil
	}
	finished, err := r.lookupRound(t.Context(), waiting)
	if err == nil || errors.Is(err, context.Canceled) || len(finished) != 0 {
		t.Fatalf("round with Redis gone: %d finished, err %v; want the Redis error", len(finished), err)
	}
	// The workers in flight when the first lookup failed, and at most one
	// more each before they see the round is over.
	if n := calls.Load(); n > 2*enqueuers {
		t.Errorf("%d lookups for 200 waiting tasks with Redis gone; want at most %d", n, 2*enqueuers)
	}
}
