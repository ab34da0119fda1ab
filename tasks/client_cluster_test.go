package tasks_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestClientOnRedisCluster reaches a Redis Cluster through a
// redis-cluster:// RedisURL, the same form the worker's REDIS_URL takes.
func TestClientOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := testproc.StartCluster(t)
	root := copyMedia(t, "photo.jpg", "photo.png")
	c, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:     cluster.URL(),
		MediaRoots:   []string{root},
		PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("NewClient(%s): %v", cluster.URL(), err)
	}
	defer c.Close()
	ctx := t.Context()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for _, name := range []string{"photo.jpg", "photo.png"} {
		path := filepath.Join(root, name)
		enq, err := c.Enqueue(ctx, tasks.UploadRequest{Path: path})
		if err != nil {
			t.Fatalf("Enqueue %s: %v", name, err)
		}
		if enq.Duplicate || enq.State != tasks.StatePending {
			t.Errorf("Enqueue %s = %+v, want a new pending task", name, enq)
		}
		again, err := c.Enqueue(ctx, tasks.UploadRequest{Path: path})
		if err != nil || !again.Duplicate || again.ID != enq.ID {
			t.Errorf("second Enqueue %s = %+v, %v; want a duplicate of %s", name, again, err, enq.ID)
		}
		st, err := c.Lookup(ctx, enq.ID)
		if err != nil || st.State != tasks.StatePending || st.Payload.Path != path {
			t.Errorf("Lookup %s = %+v, %v", enq.ID, st, err)
		}
	}
	// Find scans every master for a SHA-256 prefix.
	sum := sha256File(t, filepath.Join(root, "photo.png"))
	if got, err := c.Find(ctx, sum[:10]); err != nil || len(got) != 1 || got[0].Payload.Path != filepath.Join(root, "photo.png") {
		t.Errorf("Find(%s) on the cluster = %+v, %v; want the photo.png task", sum[:10], got, err)
	}
	if _, err := c.Lookup(ctx, "upload:nope"); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Lookup of an unknown task = %v, want ErrNotFound", err)
	}
}
