package importer_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
)

// TestWaitWokenByNotices: with a poll interval longer than the test, an
// import with Wait still ends with every task completed: the worker,
// started only once the import waits, announces each ended attempt.
func TestWaitWokenByNotices(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "photo.jpg"), sample(t, "photo.jpg"))
	write(t, filepath.Join(root, "photo.png"), sample(t, "photo.png"))
	client := newClient(t, srv.URL(), root)
	waiting := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	type result struct {
		sum importer.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := importer.Run(ctx, importer.Config{
			Client: client, Paths: []string{root}, Wait: true,
			PollInterval:     10 * time.Minute,
			ProgressInterval: 10 * time.Millisecond,
			OnProgress: func(p importer.Progress) {
				if p.Phase == importer.PhaseWait {
					once.Do(func() { close(waiting) })
				}
			},
		})
		done <- result{sum, err}
	}()
	select {
	case <-waiting:
	case r := <-done:
		t.Fatalf("Run ended before waiting: %+v, %v", r.sum, r.err)
	}
	time.Sleep(200 * time.Millisecond) // let the first look-up find them pending
	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}})
	r := <-done
	if r.err != nil || r.sum.Completed != 2 || r.sum.Queued != 0 {
		t.Fatalf("Run = %+v, %v; want 2 completed", r.sum, r.err)
	}
}
