package tasks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// neverPoll is a poll interval no test lasts: a Wait that returns was
// woken by a notice.
const neverPoll = 10 * time.Minute

// gate is a handler that holds every task until released, then writes a
// result and succeeds.
type gate struct {
	release chan struct{}
	started chan string
}

func newGate() *gate { return &gate{release: make(chan struct{}), started: make(chan string, 16)} }

func (g *gate) ProcessTask(ctx context.Context, task *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	g.started <- id
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	res, _ := json.Marshal(tasks.Result{ImageID: "img-" + id, Attempt: 1})
	_, err := task.ResultWriter().Write(res)
	return err
}

// startGateServer runs the default queue with g until the test ends; with
// notify, behind tasks.NotifyEnded as the worker runs it.
func startGateServer(t *testing.T, url string, g *gate, notify bool) {
	t.Helper()
	conn, err := redisurl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := conn.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { rdb.Close() })
	mux := asynq.NewServeMux()
	if notify {
		mux.Use(tasks.NotifyEnded(rdb, nil))
	}
	mux.Handle(tasks.TypeUpload, g)
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       2,
		Queues:            map[string]int{tasks.QueueDefault: 1},
		TaskCheckInterval: 20 * time.Millisecond,
		LogLevel:          asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

// waitCounter is a log handler that counts Wait's "waiting for task"
// records, each written after a look-up that found the task unfinished.
type waitCounter struct {
	mu   sync.Mutex
	n    int
	more chan struct{}
}

func newWaitCounter() *waitCounter { return &waitCounter{more: make(chan struct{}, 100)} }

func (c *waitCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *waitCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *waitCounter) WithGroup(string) slog.Handler            { return c }
func (c *waitCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "waiting for task" {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		c.more <- struct{}{}
	}
	return nil
}

// awaitLooks blocks until Wait has looked the task up n times in all.
func (c *waitCounter) awaitLooks(t *testing.T, n int) {
	t.Helper()
	for {
		c.mu.Lock()
		got := c.n
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c.more:
		case <-time.After(time.Minute):
			t.Fatalf("Wait looked the task up %d times, want %d", got, n)
		}
	}
}

// waitWokenByNotice checks, on the Redis at url, that a notice wakes
// Client.Wait: its poll interval is longer than the test, the task ends
// only after Wait has looked it up and its subscription is made, and Wait
// still returns the completed task.
func waitWokenByNotice(t *testing.T, url string) {
	root := copyMedia(t, "photo.jpg")
	logs := newWaitCounter()
	c, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:     url,
		MediaRoots:   []string{root},
		PollInterval: neverPoll,
		Logger:       slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := newGate()
	startGateServer(t, url, g, true)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	enq, err := c.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(root, "photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	<-g.started // the task is active, held by the gate
	type answer struct {
		st  tasks.Status
		err error
	}
	done := make(chan answer, 1)
	go func() {
		st, err := c.Wait(ctx, enq.ID)
		done <- answer{st, err}
	}()
	// Two look-ups: the first, and the one every watch makes once its
	// subscription is confirmed. From then on only a notice (or a poll,
	// minutes away) makes Wait look again.
	logs.awaitLooks(t, 2)
	close(g.release)
	a := <-done
	if a.err != nil || a.st.State != tasks.StateCompleted || a.st.Result == nil || a.st.Result.ImageID != "img-"+enq.ID {
		t.Fatalf("Wait = %+v, %v; want the completed task", a.st, a.err)
	}
}

func TestWaitWokenByNotice(t *testing.T) {
	t.Parallel()
	waitWokenByNotice(t, testproc.StartRedis(t).URL())
}

// TestWaitWokenByNoticeOnCluster: PUBLISH reaches the subscriber whatever
// the Cluster node each is connected to.
func TestWaitWokenByNoticeOnCluster(t *testing.T) {
	t.Parallel()
	waitWokenByNotice(t, testproc.StartCluster(t).URL())
}

// TestWaitWithoutNotices: a worker that publishes nothing (every notice
// lost), and a notice that comes too early (the task still active), still
// end in the completed task, through polling.
func TestWaitWithoutNotices(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := copyMedia(t, "photo.jpg")
	c, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:     srv.URL(),
		MediaRoots:   []string{root},
		PollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := newGate()
	startGateServer(t, srv.URL(), g, false)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	enq, err := c.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(root, "photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	<-g.started
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	done := make(chan error, 1)
	go func() {
		st, err := c.Wait(ctx, enq.ID)
		if err == nil && st.State != tasks.StateCompleted {
			err = &unexpected{st}
		}
		done <- err
	}()
	// A notice while the task is still active: Wait re-checks, finds it
	// active, and goes back to waiting.
	for {
		n, err := rdb.Publish(ctx, tasks.NoticeChannel(tasks.QueueDefault), enq.ID).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned while the task was active: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

type unexpected struct{ st tasks.Status }

func (u *unexpected) Error() string { return "Wait ended in state " + string(u.st.State) }

// TestWatchTake: a notice marks its ID for every watch of it, and only
// for those.
func TestWatchTake(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{t.TempDir()}, Queue: "watched"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := c.Watch("t1", "t2")
	defer a.Close()
	// The subscription, once made, asks every watch to look everything
	// up again.
	<-a.Changed()
	if ended, all := a.Take(); len(ended) != 0 || !all {
		t.Fatalf("after subscribing: Take = %v, %v; want nothing ended, all", ended, all)
	}
	b := c.Watch("t2")
	defer b.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := t.Context()
	for _, id := range []string{"t1", "t3", "t2"} {
		if err := rdb.Publish(ctx, tasks.NoticeChannel("watched"), id).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Notices of another queue are not heard.
	if err := rdb.Publish(ctx, tasks.NoticeChannel("other"), "t1").Err(); err != nil {
		t.Fatal(err)
	}
	<-b.Changed()
	if ended, all := b.Take(); len(ended) != 1 || ended[0] != "t2" || all {
		t.Errorf("b.Take = %v, %v; want [t2]", ended, all)
	}
	// a heard t1 and t2 (in order, through one subscription): wait for t2.
	var got []string
	for len(got) < 2 {
		<-a.Changed()
		ended, _ := a.Take()
		got = append(got, ended...)
	}
	if len(got) != 2 || !(got[0] == "t1" && got[1] == "t2" || got[0] == "t2" && got[1] == "t1") {
		t.Errorf("a heard %v; want t1 and t2", got)
	}
	a.Remove("t1")
	if err := rdb.Publish(ctx, tasks.NoticeChannel("watched"), "t1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, tasks.NoticeChannel("watched"), "t2").Err(); err != nil {
		t.Fatal(err)
	}
	<-a.Changed()
	if ended, _ := a.Take(); len(ended) != 1 || ended[0] != "t2" {
		t.Errorf("after Remove(t1): a.Take = %v; want [t2]", ended)
	}
}

// TestNoNotices: a client with NoNotices never subscribes, so its watches
// stay silent; its Wait polls.
func TestNoNotices(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{t.TempDir()}, NoNotices: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Watch("t1")
	defer w.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	n, err := rdb.Publish(t.Context(), tasks.NoticeChannel(tasks.QueueDefault), "t1").Result()
	if err != nil || n != 0 {
		t.Fatalf("PUBLISH reached %d subscribers (%v); want none", n, err)
	}
	select {
	case <-w.Changed():
		t.Fatal("a watch of a NoNotices client was signalled")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestHandlerNotifiesAfterResult: the worker's handler publishes the end
// of a successful attempt itself, in the round trip that stores its
// result in the ledger and in asynq's task: once the notice arrives, the
// task soon reads completed with that result (Client.RecheckCompleted,
// else Client.Wait), and Client.Completed agrees with Client.Lookup.
func TestHandlerNotifiesAfterResult(t *testing.T) {
	t.Parallel()
	url := testproc.StartRedis(t).URL()
	root := copyMedia(t, "photo.jpg")
	w, err := workertest.New(workertest.Config{RedisURL: url, MediaRoots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: url, MediaRoots: []string{root}, PollInterval: neverPoll})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	p, err := c.Prepare(ctx, tasks.UploadRequest{Path: filepath.Join(root, "photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	watch := c.Watch(p.TaskID)
	defer watch.Close()
	// The subscription is made before the task is queued, so its notice
	// cannot be missed.
	<-watch.Changed()
	if _, all := watch.Take(); !all {
		t.Fatal("the first signal of a watch is not its subscription")
	}
	if _, err := c.EnqueuePrepared(ctx, p); err != nil {
		t.Fatal(err)
	}
	for ended := false; !ended; {
		select {
		case <-watch.Changed():
		case <-ctx.Done():
			t.Fatal("no notice of the task's end")
		}
		ids, _ := watch.Take()
		ended = slices.Contains(ids, p.TaskID)
	}
	if _, err := c.RecheckCompleted(ctx, p.TaskID); err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait(ctx, p.TaskID)
	if err != nil || st.State != tasks.StateCompleted || st.Result == nil || st.Result.ImageID == "" {
		t.Fatalf("Wait = %+v, %v; want the completed task", st, err)
	}
	completed, err := c.Completed(ctx, p.TaskID, "upload:no-such-task")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := completed[p.TaskID]
	if len(completed) != 1 || !ok || got.State != tasks.StateCompleted || got.Result == nil || string(got.RawResult) != string(st.RawResult) {
		t.Fatalf("Completed = %+v; want the task as Lookup reads it, %s", completed, st.RawResult)
	}
}
