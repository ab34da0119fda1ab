package tasks

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload"
)

// flakyUploader panics on its first panics calls, then uploads.
type flakyUploader struct {
	fakeUploader
	mu     sync.Mutex
	panics int
}

func (f *flakyUploader) Upload(ctx context.Context, req upload.Request) (upload.Result, error) {
	f.mu.Lock()
	p := f.panics > 0
	f.panics--
	f.mu.Unlock()
	if p {
		var m map[string]int
		m["boom"]++ // a real runtime panic: assignment to entry in nil map
	}
	return f.fakeUploader.Upload(ctx, req)
}

// TestPanicsUnderAsynq runs the handler in a real asynq server: a panicking
// attempt is retried like a transient failure, and archived once the
// budget is spent, with the panic in the task's last error.
func TestPanicsUnderAsynq(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rs := testproc.StartRedis(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr()}
	up := &flakyUploader{fakeUploader: fakeUploader{res: upload.Result{ImageID: "img-after-panic", ImageURL: "http://x/y"}}, panics: 1}
	h, err := NewHandler(HandlerConfig{Uploader: up, Validator: b.h.val, Roots: b.h.roots, Observer: b.obs, Logger: b.h.log})
	if err != nil {
		t.Fatal(err)
	}
	policy := RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Jitter: -1}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency:              1,
		RetryDelayFunc:           policy.Delay,
		IsFailure:                IsFailure,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		TaskCheckInterval:        20 * time.Millisecond,
		LogLevel:                 asynq.FatalLevel, // asynq never logs at Fatal: quiet
	})
	if err := srv.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })

	wait := func(id string) *asynq.TaskInfo {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			info, err := insp.GetTaskInfo(QueueDefault, id)
			if err == nil && (info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived) {
				return info
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s did not finish: %+v %v", id, info, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// One panic, then success: retried once, result written.
	task, err := NewUploadTask(payloadFor(t, b.sample(t, "photo.jpg")), asynq.MaxRetry(1))
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	got := wait(info.ID)
	var r Result
	if got.State != asynq.TaskStateCompleted || got.Retried != 1 || json.Unmarshal(got.Result, &r) != nil || r.ImageID != "img-after-panic" || r.Attempt != 2 {
		t.Fatalf("after one panic: state %v retried %d result %s", got.State, got.Retried, got.Result)
	}

	// Panics every time: archived when the budget is spent.
	up.mu.Lock()
	up.panics = 100
	up.mu.Unlock()
	task, err = NewUploadTask(payloadFor(t, b.sample(t, "photo.png")), asynq.MaxRetry(1))
	if err != nil {
		t.Fatal(err)
	}
	info, err = client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	got = wait(info.ID)
	if got.State != asynq.TaskStateArchived || got.Retried != 1 ||
		!strings.Contains(got.LastErr, "upload handler panicked") || !strings.Contains(got.LastErr, "nil map") {
		t.Fatalf("always panicking: state %v retried %d last error %q", got.State, got.Retried, got.LastErr)
	}
	if !strings.Contains(b.logs.String(), "handler_asynq_test.go") {
		t.Error("the stack of the panic was not logged")
	}
}
