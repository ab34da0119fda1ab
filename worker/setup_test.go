package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// testEnv is a running worker with its private Redis and gateway emulator.
type testEnv struct {
	cfg    Config
	redis  *testproc.Redis
	gw     *alipaytest.Server
	root   string
	logs   *syncbuf.Buffer
	client *asynq.Client
	insp   *asynq.Inspector

	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan error
	worker *Worker
}

type envOptions struct {
	// protocol is the worker's Config.Protocol (default classic).
	protocol upload.Protocol
	gateway  alipaytest.Config
	config   func(*Config)
	noStart  bool
}

// protocols are the protocols the end-to-end tests run over: the worker
// must give the same results, and retry and archive the same way, over
// both.
var protocols = []upload.Protocol{upload.Classic, upload.V3}

// eachProtocol runs f as a parallel subtest per protocol.
func eachProtocol(t *testing.T, f func(t *testing.T, p upload.Protocol)) {
	t.Helper()
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			f(t, p)
		})
	}
}

// testConfig is a worker configuration for the given Redis and emulator,
// with short retry delays so tests stay quick.
func testConfig(redis asynq.RedisConnOpt, gw *alipaytest.Server, root string) Config {
	return Config{
		Redis:                    redis,
		GatewayURL:               gw.URL,
		AppID:                    alipaytest.TestAppID,
		Keys:                     upload.Keys{Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: gw.PublicKey()},
		MediaRoots:               []string{root},
		Concurrency:              2,
		ShutdownTimeout:          10 * time.Second,
		Retry:                    tasks.RetryPolicy{BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, ThrottleDelay: 100 * time.Millisecond, Jitter: -1},
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		TaskCheckInterval:        20 * time.Millisecond,
	}
}

func startEnv(t *testing.T, opts ...envOptions) *testEnv {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	e := &testEnv{redis: testproc.StartRedis(t), root: t.TempDir(), logs: &syncbuf.Buffer{}}
	e.gw = alipaytest.Start(t, o.gateway)
	e.cfg = testConfig(asynq.RedisClientOpt{Addr: e.redis.Addr()}, e.gw, e.root)
	e.cfg.Protocol = o.protocol
	if o.config != nil {
		o.config(&e.cfg)
	}
	e.client = asynq.NewClient(e.cfg.Redis)
	e.insp = asynq.NewInspector(e.cfg.Redis)
	t.Cleanup(func() {
		e.stopWorker(t)
		e.client.Close()
		e.insp.Close()
		if t.Failed() {
			t.Log("worker logs:\n" + e.logs.String())
		}
	})
	if !o.noStart {
		e.startWorker(t)
	}
	return e
}

// newWorker builds a worker for e.cfg that logs into e.logs; it is closed
// when the test ends.
func (e *testEnv) newWorker(t *testing.T) *Worker {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := New(context.Background(), e.cfg, logger)
	if err != nil {
		t.Fatalf("worker.New: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// startWorker builds and runs a worker for e.cfg.
func (e *testEnv) startWorker(t *testing.T) {
	t.Helper()
	w := e.newWorker(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.mu.Lock()
	e.worker, e.stop, e.done = w, cancel, done
	e.mu.Unlock()
}

// stopWorker cancels Run, as SIGTERM does, and waits for it to return.
func (e *testEnv) stopWorker(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	stop, done := e.stop, e.done
	e.stop, e.done = nil, nil
	e.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// file writes data into the media root and returns its path.
func (e *testEnv) file(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(e.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sample copies testdata/media/<name> into the media root.
func (e *testEnv) sample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "media", name))
	if err != nil {
		t.Fatal(err)
	}
	return e.file(t, name, data)
}

// payloadFor describes the file at path as it is now.
func payloadFor(t *testing.T, path string) tasks.UploadPayload {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, size, err := tasks.Digest(f)
	if err != nil {
		t.Fatal(err)
	}
	return tasks.UploadPayload{Path: path, ImageName: filepath.Base(path), SHA256: sum, Size: size}
}

// enqueue queues an upload of p and returns its task ID.
func (e *testEnv) enqueue(t *testing.T, p tasks.UploadPayload, opts ...asynq.Option) string {
	t.Helper()
	task, err := tasks.NewUploadTask(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.client.Enqueue(task)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return info.ID
}

// enqueueRaw queues a task with any payload, bypassing NewUploadTask.
func (e *testEnv) enqueueRaw(t *testing.T, id string, payload []byte) string {
	t.Helper()
	info, err := e.client.Enqueue(asynq.NewTask(tasks.TypeUpload, payload, asynq.TaskID(id), asynq.Queue(tasks.QueueDefault)))
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return info.ID
}

// wait polls a task until it reaches one of the states. The limit only
// keeps a broken test from hanging; it asserts nothing about speed.
func (e *testEnv) wait(t *testing.T, id string, states ...asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	if len(states) == 0 {
		states = []asynq.TaskState{asynq.TaskStateCompleted, asynq.TaskStateArchived}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		info, err := e.insp.GetTaskInfo(tasks.QueueDefault, id)
		if err == nil {
			for _, s := range states {
				if info.State == s {
					return info
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s never reached %v: last %+v, %v", id, states, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result decodes a completed task's result.
func result(t *testing.T, info *asynq.TaskInfo) tasks.Result {
	t.Helper()
	if info.State != asynq.TaskStateCompleted {
		t.Fatalf("task %s is %v (last error %q), want completed", info.ID, info.State, info.LastErr)
	}
	var r tasks.Result
	if err := json.Unmarshal(info.Result, &r); err != nil {
		t.Fatalf("result %q: %v", info.Result, err)
	}
	return r
}

// uploadByID finds the emulator's record of an image.
func (e *testEnv) uploadByID(imageID string) (alipaytest.Upload, error) {
	for _, u := range e.gw.Uploads() {
		if u.ImageID == imageID {
			return u, nil
		}
	}
	return alipaytest.Upload{}, errors.New("no upload with image_id " + imageID)
}

func describe(info *asynq.TaskInfo) string {
	return fmt.Sprintf("state=%v retried=%d/%d last_err=%q", info.State, info.Retried, info.MaxRetry, info.LastErr)
}
