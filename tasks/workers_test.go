package tasks_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestWorkersAnnounceQueuesAndRoots runs a real worker: while it runs,
// Client.Workers lists it with its queues and media roots, and its roots
// decide which paths it reads; once it stops it is gone. An entry left by
// a process that died (its announcement lapsed) is not listed, and is
// removed from Redis.
func TestWorkersAnnounceQueuesAndRoots(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg")
	ctx := t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: s.redis.Addr()})
	defer rdb.Close()
	dead, _ := json.Marshal(tasks.WorkerInfo{Host: "gone", PID: 1, Queues: []string{"default"},
		MediaRoots: []string{"/srv"}, Expires: time.Now().Add(-time.Second)})
	if err := rdb.HSet(ctx, "alipay-media:workers", "gone:1", dead).Err(); err != nil {
		t.Fatal(err)
	}

	w := workertest.Start(t, workertest.Config{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
	workertest.WaitWorkers(t, s.client, 1)
	list, err := s.client.Workers(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Workers = %+v, %v; want the one running worker", list, err)
	}
	got := list[0]
	if !got.Serves(tasks.QueueDefault) || got.Serves("nope") || len(got.MediaRoots) != 1 || got.PID == 0 || got.Host == "" {
		t.Errorf("worker = %+v; want queue default and root %s", got, s.root)
	}
	for path, want := range map[string]bool{
		filepath.Join(s.root, "photo.jpg"):       true,
		filepath.Join(s.root, "sub", "a.jpg"):    true,
		s.root:                                   true,
		s.root + "-other/a.jpg":                  false,
		filepath.Join(filepath.Dir(s.root), "x"): false,
	} {
		if got.Reads(path) != want {
			t.Errorf("Reads(%s) = %v, want %v", path, !want, want)
		}
	}
	if n, _ := rdb.HLen(ctx, "alipay-media:workers").Result(); n != 1 {
		t.Errorf("%d entries in Redis; the lapsed one should be removed", n)
	}

	w.Stop()
	if list, err := s.client.Workers(ctx); err != nil || len(list) != 0 {
		t.Errorf("after Stop: Workers = %+v, %v; want none", list, err)
	}
}
