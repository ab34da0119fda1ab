package testproc

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

func TestClusterSpreadsKeysOverEveryMaster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	if len(c.Nodes) != 3 {
		t.Fatalf("got %d nodes, want 3", len(c.Nodes))
	}
	if !strings.HasPrefix(c.URL(), "redis-cluster://127.0.0.1:") || strings.Count(c.URL(), ",") != 2 {
		t.Errorf("URL() = %q", c.URL())
	}
	ctx := context.Background()
	cl := c.Client(t)
	for i := 0; i < 100; i++ {
		if err := cl.Set(ctx, fmt.Sprintf("key-%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the cluster client: %v", err)
		}
	}
	// Every master holds some of the keys: the slots really are split.
	for _, n := range c.Nodes {
		var count int64
		err := cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			if m.Options().Addr == n.Addr() {
				v, err := m.DBSize(ctx).Result()
				count = v
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		if count == 0 {
			t.Errorf("master %s holds no keys", n.Addr())
		}
	}
}

func TestAsynqRunsOnCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	testAsynqRoundTrip(t, asynq.RedisClusterClientOpt{Addrs: c.Addrs()})
}

func TestAsynqRunsOnSentinel(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t)
	opt, err := asynq.ParseRedisURI(s.URL())
	if err != nil {
		t.Fatalf("ParseRedisURI(%q): %v", s.URL(), err)
	}
	testAsynqRoundTrip(t, opt)
}

// testAsynqRoundTrip enqueues tasks in three queues, processes them with a
// server, and checks each one completed with its result retained.
func testAsynqRoundTrip(t *testing.T, opt asynq.RedisConnOpt) {
	t.Helper()
	client := asynq.NewClient(opt)
	defer client.Close()
	queues := []string{"critical", "default", "low"}
	const perQueue = 5
	for _, q := range queues {
		for i := 0; i < perQueue; i++ {
			_, err := client.Enqueue(asynq.NewTask("echo", []byte(fmt.Sprintf("%s-%d", q, i))),
				asynq.Queue(q), asynq.TaskID(fmt.Sprintf("%s-%d", q, i)), asynq.Retention(time.Hour))
			if err != nil {
				t.Fatalf("enqueue: %v", err)
			}
		}
	}
	// A duplicate task ID is refused on this topology too.
	if _, err := client.Enqueue(asynq.NewTask("echo", nil), asynq.Queue("low"), asynq.TaskID("low-0")); err == nil {
		t.Fatal("duplicate task ID accepted")
	}
	var done atomic.Int64
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: 4,
		Queues:      map[string]int{"critical": 3, "default": 2, "low": 1},
		LogLevel:    asynq.FatalLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		w := task.ResultWriter()
		if _, err := w.Write(append([]byte("done:"), task.Payload()...)); err != nil {
			return err
		}
		done.Add(1)
		return nil
	}))
	if err != nil {
		t.Fatalf("server start: %v", err)
	}
	defer srv.Shutdown()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		completed := 0
		for _, q := range queues {
			info, err := insp.GetQueueInfo(q)
			if err == nil {
				completed += info.Completed
			}
		}
		if completed == len(queues)*perQueue {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d tasks completed (handler ran %d times)", completed, len(queues)*perQueue, done.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := insp.GetTaskInfo("low", "low-3")
	if err != nil {
		t.Fatalf("GetTaskInfo: %v", err)
	}
	if info.State != asynq.TaskStateCompleted || string(info.Result) != "done:low-3" {
		t.Errorf("task low-3: state %v result %q", info.State, info.Result)
	}
}
