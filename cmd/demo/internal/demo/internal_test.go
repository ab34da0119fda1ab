package demo

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

func goodRows(mediaDir string) []importer.Row {
	var rows []importer.Row
	for i, s := range Samples() {
		r := importer.Row{Path: mediaDir + "/" + s.Path, State: importer.State(s.State), Reason: s.Reason}
		if s.State == "completed" {
			r.ImageID = "img" + strconv.Itoa(i)
		}
		if s.ErrorContains != "" {
			r.Error = "alipay " + s.ErrorContains + " refused"
		}
		rows = append(rows, r)
	}
	return rows
}

func TestCheckAcceptsExpectedRows(t *testing.T) {
	t.Parallel()
	rows, problems := check(goodRows("/m"), "/m")
	if len(problems) != 0 || len(rows) != len(Samples()) {
		t.Fatalf("problems %q, %d rows", problems, len(rows))
	}
	if rows[0].Path != Samples()[0].Path {
		t.Errorf("row paths not made relative: %q", rows[0].Path)
	}
}

func TestCheckReportsEveryDeviation(t *testing.T) {
	t.Parallel()
	rows := goodRows("/m")
	rows[0].State = importer.StateFailed                          // storefront.jpg did not complete
	rows[1].ImageID = ""                                          // menu-board.png lost its image_id
	rows[5].Reason = "corrupt"                                    // notes.jpg for the wrong reason
	rows[9].Error = "alipay 40004 business failure"               // shop-sign.jpg for another error
	rows = append(rows[:3], rows[4:]...)                          // counter.bmp missing
	rows = append(rows, importer.Row{Path: "/m/store/extra.jpg"}) // unknown file
	_, problems := check(rows, "/m")
	joined := strings.Join(problems, "\n")
	for _, want := range []string{
		"store/storefront.jpg: state failed", "store/menu-board.png: completed without an image_id",
		"store/broken/notes.jpg: reason", "merchant/shop-sign.jpg: error", "store/counter.bmp: no result",
		"store/extra.jpg: not a sample file",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6:\n%s", len(problems), joined)
	}
}

// TestEnsureRedisStartsOneAndItStops: with StartRedis and nothing on the
// URL's port, a redis-server is started there in the given directory,
// found the second time, and gone once closed.
func TestEnsureRedisStartsOneAndItStops(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(testproc.FreePort(t))
	cfg := Config{RedisURL: "redis://" + addr + "/5", StartRedis: true}
	cfg.defaults()
	opt, _ := parseRedis(cfg.RedisURL)
	dir := filepath.Join(t.TempDir(), "redis")
	p, err := ensureRedis(cfg, dir, opt, func(string, ...any) {})
	if err != nil || p == nil {
		t.Fatalf("ensureRedis = %v, %v; want a started redis-server", p, err)
	}
	if err := testproc.Ping(addr); err != nil {
		p.Close()
		t.Fatalf("started redis-server does not answer: %v", err)
	}
	if p.Dir() != dir {
		t.Errorf("redis-server runs in %s, want %s", p.Dir(), dir)
	}
	if again, err := ensureRedis(cfg, dir, opt, func(string, ...any) {}); again != nil || err != nil {
		if again != nil {
			again.Close()
		}
		t.Errorf("ensureRedis with a Redis answering = %v, %v; want nothing started", again, err)
	}
	p.Close()
	if err := testproc.Ping(addr); err == nil {
		t.Fatal("redis-server still answers after stop")
	}
}

func TestEnsureRedisRefusesWhenNotAllowed(t *testing.T) {
	t.Parallel()
	port := strconv.Itoa(testproc.FreePort(t))
	cfg := Config{RedisURL: "redis://127.0.0.1:" + port + "/5"}
	cfg.defaults()
	opt, _ := parseRedis(cfg.RedisURL)
	p, err := ensureRedis(cfg, t.TempDir(), opt, func(string, ...any) {})
	if err == nil || p != nil || !strings.Contains(err.Error(), EnvRedisURL) {
		t.Fatalf("ensureRedis without StartRedis = %v, %v; want an error naming %s", p, err, EnvRedisURL)
	}
}

// TestClearQueueForgetsTaskIDs checks that a second demo run can queue the
// same files again: no task of the demo's queue survives, whatever its
// state, and other queues are untouched.
func TestClearQueueForgetsTaskIDs(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr(), DB: 5}
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	enqueue := func(id, queue string, opts ...asynq.Option) error {
		opts = append(opts, asynq.TaskID(id), asynq.Queue(queue), asynq.MaxRetry(0), asynq.Retention(time.Hour))
		_, err := client.Enqueue(asynq.NewTask("demo:test", nil), opts...)
		return err
	}
	for _, id := range []string{"done", "dead", "waiting"} {
		if err := enqueue(id, DefaultQueue); err != nil {
			t.Fatal(err)
		}
	}
	if err := enqueue("other", "someone-else"); err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServer(opt, asynq.Config{Queues: map[string]int{DefaultQueue: 1}, LogLevel: asynq.FatalLevel})
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		switch id, _ := asynq.GetTaskID(ctx); id {
		case "dead":
			return errors.New("broken")
		case "waiting":
			return errors.New("never reached")
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	for {
		in, err := insp.GetQueueInfo(DefaultQueue)
		if err == nil && in.Completed >= 1 && in.Archived >= 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Shutdown()
	if err := clearQueue(opt, DefaultQueue); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"done", "dead", "waiting"} {
		if err := enqueue(id, DefaultQueue); err != nil {
			t.Errorf("task %s cannot be queued again after clearQueue: %v", id, err)
		}
	}
	if err := enqueue("other", "someone-else"); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Errorf("another queue's task was touched: %v", err)
	}
	if err := clearQueue(asynq.RedisClientOpt{Addr: rs.Addr(), DB: 6}, DefaultQueue); err != nil {
		t.Errorf("clearing a queue that does not exist: %v", err)
	}
}
