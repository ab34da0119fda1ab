package tasks_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// mediaDir is the shared sample media.
const mediaDir = "../testdata/media"

// copyMedia copies sample files into a new media root and returns it.
func copyMedia(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(mediaDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// clientSetup is what the client tests work with.
type clientSetup struct {
	client *tasks.Client
	redis  *testproc.Redis
	root   string
}

func setupClient(t *testing.T, files ...string) clientSetup {
	t.Helper()
	srv := testproc.StartRedis(t)
	root := copyMedia(t, files...)
	c, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:     srv.URL(),
		MediaRoots:   []string{root},
		PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return clientSetup{client: c, redis: srv, root: root}
}

func TestClientEnqueueLookupDuplicate(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg")
	ctx := t.Context()
	path := filepath.Join(s.root, "photo.jpg")
	sum := sha256File(t, path)

	enq, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: path})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if want := "upload:" + sum + ":self"; enq.ID != want || enq.Duplicate || enq.State != tasks.StatePending {
		t.Fatalf("Enqueue = %+v, want new pending task %s", enq, want)
	}
	p := enq.Payload
	if p.Path != path || p.ImageName != "photo.jpg" || p.ImageType != "jpg" || p.SHA256 != sum || p.Size != 1353 {
		t.Errorf("payload = %+v", p)
	}

	again, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: path, ImageName: "another name"})
	if err != nil {
		t.Fatalf("second Enqueue: %v", err)
	}
	if !again.Duplicate || again.ID != enq.ID || again.Existing == nil || again.Existing.State != tasks.StatePending {
		t.Fatalf("second Enqueue = %+v, want a duplicate of the pending task", again)
	}
	if again.Existing.Payload.ImageName != "photo.jpg" {
		t.Errorf("existing task's name = %q, want the first one", again.Existing.Payload.ImageName)
	}

	st, err := s.client.Lookup(ctx, enq.ID)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if st.State != tasks.StatePending || st.Queue != tasks.QueueDefault || st.MaxRetry != tasks.DefaultMaxRetry || st.Result != nil {
		t.Errorf("Lookup = %+v", st)
	}

	// Another merchant's upload of the same content is another task, and
	// its token never comes back from Lookup.
	merchant, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: path, Merchant: "2021000000000001", ImagePID: "2088000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	if merchant.ID == enq.ID || merchant.Duplicate || strings.Contains(merchant.ID, "2021000000000001") {
		t.Fatalf("merchant task = %+v", merchant)
	}
	// A token is queued only sealed: this client has no key file.
	if _, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: path, AppAuthToken: "merchant-secret-token"}); !errors.Is(err, tasks.ErrTokenNotSealed) {
		t.Errorf("token without a key file: err = %v, want ErrTokenNotSealed", err)
	}
	mst, err := s.client.Lookup(ctx, merchant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mst.Payload.Merchant != "2021000000000001" || mst.Payload.ImagePID != "2088000000000002" {
		t.Errorf("merchant status payload = %+v; want the PID and no token", mst.Payload)
	}

	if _, err := s.client.Lookup(ctx, "upload:nope"); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Lookup(unknown) = %v, want ErrNotFound", err)
	}
}

func TestClientRejectsBeforeQueueing(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg", "photo.png", "bad/empty.jpg", "bad/text.jpg", "bad/truncated.png")
	outside := copyMedia(t, "anim.gif")
	if err := os.Symlink(filepath.Join(outside, "anim.gif"), filepath.Join(s.root, "escape.gif")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(s.root, "pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(s.root, "big.jpg")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, validate.DefaultMaxSize+1); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		req    tasks.UploadRequest
		reason tasks.Reason
	}{
		{"outside the roots", tasks.UploadRequest{Path: filepath.Join(outside, "anim.gif")}, "outside_roots"},
		{"symlink out of the root", tasks.UploadRequest{Path: filepath.Join(s.root, "escape.gif")}, "symlink_escape"},
		{"fifo", tasks.UploadRequest{Path: filepath.Join(s.root, "pipe.jpg")}, "not_regular"},
		{"missing", tasks.UploadRequest{Path: filepath.Join(s.root, "nope.jpg")}, "not_found"},
		{"traversal", tasks.UploadRequest{Path: s.root + "/../x.jpg"}, "traversal"},
		{"empty", tasks.UploadRequest{Path: filepath.Join(s.root, "empty.jpg")}, "empty"},
		{"too large", tasks.UploadRequest{Path: big}, "too_large"},
		{"text named jpg", tasks.UploadRequest{Path: filepath.Join(s.root, "text.jpg")}, "unsupported_type"},
		{"truncated", tasks.UploadRequest{Path: filepath.Join(s.root, "truncated.png")}, "corrupt"},
		{"declared type differs", tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg"), ImageType: "png"}, "type_mismatch"},
		{"control character in name", tasks.UploadRequest{Path: filepath.Join(s.root, "photo.png"), ImageName: "a\tb"}, "bad_name"},
		{"pid too long", tasks.UploadRequest{Path: filepath.Join(s.root, "photo.png"), ImagePID: strings.Repeat("9", 17)}, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.client.Enqueue(t.Context(), c.req)
			var rej *tasks.RejectError
			if !errors.As(err, &rej) || !errors.Is(err, tasks.ErrRejected) {
				t.Fatalf("Enqueue = %v, want a RejectError", err)
			}
			if rej.Reason != c.reason {
				t.Errorf("reason = %q, want %q (%v)", rej.Reason, c.reason, err)
			}
		})
	}
	// Nothing reached Redis.
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
	defer insp.Close()
	if qs, err := insp.Queues(); err != nil || len(qs) != 0 {
		t.Errorf("queues after rejections = %v, %v; want none", qs, err)
	}
}

// runServer processes the queue with handler until the test ends.
func runServer(t *testing.T, redisAddr string, handler asynq.HandlerFunc) {
	t.Helper()
	srv := asynq.NewServer(asynq.RedisClientOpt{Addr: redisAddr}, asynq.Config{
		Concurrency: 2,
		Queues:      map[string]int{tasks.QueueDefault: 1},
		LogLevel:    asynq.FatalLevel,
	})
	if err := srv.Start(handler); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

func TestClientWaitCompletedArchivedAndRequeue(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg", "photo.png")
	ctx := t.Context()
	failPNG := make(chan bool, 1)
	failPNG <- true
	runServer(t, s.redis.Addr(), func(ctx context.Context, task *asynq.Task) error {
		var p tasks.UploadPayload
		if err := json.Unmarshal(task.Payload(), &p); err != nil {
			return err
		}
		if p.ImageType == "png" {
			select {
			case <-failPNG:
				return fmt.Errorf("gateway said no: %w", asynq.SkipRetry)
			default:
			}
		}
		res, _ := json.Marshal(tasks.Result{ImageID: "id-" + p.ImageType, ImageURL: "http://img/" + p.ImageType, SHA256: p.SHA256, Bytes: p.Size, Attempt: 1})
		_, err := task.ResultWriter().Write(res)
		return err
	})

	jpg, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.client.Wait(ctx, jpg.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if st.State != tasks.StateCompleted || st.Result == nil || st.Result.ImageID != "id-jpg" || st.Result.Bytes != 1353 || st.CompletedAt.IsZero() {
		t.Fatalf("Wait = %+v (result %+v)", st, st.Result)
	}

	png, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.png")})
	if err != nil {
		t.Fatal(err)
	}
	st, err = s.client.Wait(ctx, png.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if st.State != tasks.StateArchived || !strings.Contains(st.LastError, "gateway said no") || st.Result != nil {
		t.Fatalf("Wait on a failing task = %+v", st)
	}
	// Enqueueing it again reports the archived task; Requeue runs it.
	again, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.png")})
	if err != nil || !again.Duplicate || again.State != tasks.StateArchived {
		t.Fatalf("Enqueue of an archived task = %+v, %v", again, err)
	}
	if _, err := s.client.Requeue(ctx, png.ID); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	st, err = s.client.Wait(ctx, png.ID)
	if err != nil || st.State != tasks.StateCompleted || st.Result.ImageID != "id-png" {
		t.Fatalf("Wait after Requeue = %+v, %v", st, err)
	}
	if _, err := s.client.Requeue(ctx, "upload:unknown"); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("Requeue(unknown) = %v, want ErrNotFound", err)
	}
	// A pending task has nothing to re-run; that is not Redis failing.
	pending, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg"), ImagePID: "2088000000000009"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.client.Requeue(ctx, pending.ID)
	if err == nil || errors.Is(err, tasks.ErrUnavailable) || strings.Contains(err.Error(), "asynq") || !strings.Contains(err.Error(), "nothing to re-run") {
		t.Errorf("Requeue(pending) = %v, want a plain 'nothing to re-run'", err)
	}

	// Wait gives up with the context.
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	block, err := tasks.NewClient(tasks.ClientConfig{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}, Queue: "nobody-listens"})
	if err != nil {
		t.Fatal(err)
	}
	defer block.Close()
	queued, err := block.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := block.Wait(waitCtx, queued.ID); !errors.Is(err, context.DeadlineExceeded) || st.State != tasks.StatePending {
		t.Errorf("Wait past the deadline = %+v, %v", st, err)
	}
}

func TestClientRedisDown(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg")
	s.redis.Kill()
	ctx := t.Context()
	if err := s.client.Ping(ctx); !errors.Is(err, tasks.ErrUnavailable) {
		t.Errorf("Ping = %v, want ErrUnavailable", err)
	}
	if _, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg")}); !errors.Is(err, tasks.ErrUnavailable) {
		t.Errorf("Enqueue = %v, want ErrUnavailable", err)
	}
	if _, err := s.client.Requeue(ctx, "x"); !errors.Is(err, tasks.ErrUnavailable) || strings.Contains(err.Error(), "asynq") ||
		!strings.HasPrefix(err.Error(), "Redis failed while re-running a task: ") {
		t.Errorf("Requeue = %v, want ErrUnavailable without asynq's words", err)
	}
	_, err := s.client.Lookup(ctx, "x")
	if !errors.Is(err, tasks.ErrUnavailable) {
		t.Errorf("Lookup = %v, want ErrUnavailable", err)
	}
	// asynq's wrapping ("asynq: UNKNOWN: UNKNOWN: redis command error:
	// SISMEMBER failed: ...") is translated: what failed, why, where.
	msg := fmt.Sprint(err)
	for _, bad := range []string{"asynq", "UNKNOWN", "SISMEMBER", "redis command error"} {
		if strings.Contains(msg, bad) {
			t.Errorf("Lookup = %q, carries %q", msg, bad)
		}
	}
	if want := "Redis failed while looking up a task: "; !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "(is Redis reachable at "+s.redis.Addr()+"/0?)") {
		t.Errorf("Lookup = %q, want %q..., the cause and the address", msg, want)
	}
}

func TestNewClientConfigErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cases := map[string]tasks.ClientConfig{
		"no roots":      {},
		"missing root":  {MediaRoots: []string{filepath.Join(root, "nope")}},
		"bad redis url": {MediaRoots: []string{root}, RedisURL: "http://user:hunter2@host/"},
	}
	for name, cfg := range cases {
		_, err := tasks.NewClient(cfg)
		if !errors.Is(err, tasks.ErrClientConfig) {
			t.Errorf("%s: NewClient = %v, want ErrClientConfig", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error leaks the Redis password: %v", name, err)
		}
	}
}

func TestClientHashesLargeFileInPlace(t *testing.T) {
	t.Parallel()
	s := setupClient(t)
	// A noisy 600x400 JPEG is a few hundred KB: more than the buffer small
	// files are read into, so it is checked in place and streamed.
	data, err := mediagen.Encode("jpg", mediagen.Noise(600, 400, 1))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.root, "large.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() <= 64<<10 {
		t.Fatalf("test file has only %d bytes", fi.Size())
	}
	p, err := s.client.Prepare(t.Context(), tasks.UploadRequest{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if p.Payload.SHA256 != sha256File(t, path) || p.Payload.Size != fi.Size() || p.Payload.ImageType != "jpg" {
		t.Errorf("payload = %+v, file %d bytes", p.Payload, fi.Size())
	}
}

// enqueueHook runs around each asynq enqueue script that goes through the
// Redis connections it is added to, once armed: around gets the enqueue's
// number (1, 2, ...) and run, which sends the command to Redis. Returning
// an error without calling run fails the enqueue as Redis would.
type enqueueHook struct {
	n      int
	around func(n int, run func() error) error
}

func (h *enqueueHook) DialHook(redis.DialHook) redis.DialHook { return nil }

func (h *enqueueHook) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return nil
}

func (h *enqueueHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		// asynq's enqueue script has KEYS asynq:{queue}:t:<id> and
		// asynq:{queue}:pending, so its fifth argument is the latter.
		args := cmd.Args()
		name := cmd.Name()
		if h.around == nil || (name != "evalsha" && name != "eval") || len(args) < 5 || args[4] != "asynq:{"+tasks.QueueDefault+"}:pending" {
			return next(ctx, cmd)
		}
		h.n++
		err := h.around(h.n, func() error { return next(ctx, cmd) })
		if err != nil && cmd.Err() == nil {
			cmd.SetErr(err)
		}
		return err
	}
}

// hookedRedis is a Redis connection with a hook added to every client made
// from it.
type hookedRedis struct {
	asynq.RedisClientOpt
	hook redis.Hook
}

func (h hookedRedis) MakeRedisClient() any {
	c := h.RedisClientOpt.MakeRedisClient().(*redis.Client)
	c.AddHook(h.hook)
	return c
}

// TestClientEnqueueAfterConflictAndDeletion: the task is deleted between
// EnqueuePrepared's ID conflict and its look-up, so it enqueues again; what
// that second enqueue meets decides the answer.
func TestClientEnqueueAfterConflictAndDeletion(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// second runs before the second enqueue; an error fails it.
		second func(t *testing.T, s clientSetup, prep *tasks.Prepared) error
		check  func(t *testing.T, enq tasks.Enqueued, err error)
	}{
		{
			name:   "queued anew",
			second: func(*testing.T, clientSetup, *tasks.Prepared) error { return nil },
			check: func(t *testing.T, enq tasks.Enqueued, err error) {
				if err != nil || enq.Duplicate || enq.State != tasks.StatePending {
					t.Errorf("EnqueuePrepared = %+v, %v; want a new pending task", enq, err)
				}
			},
		},
		{
			name: "queued by another client meanwhile",
			second: func(t *testing.T, s clientSetup, prep *tasks.Prepared) error {
				if _, err := s.client.EnqueuePrepared(t.Context(), prep); err != nil {
					t.Errorf("other client's EnqueuePrepared: %v", err)
				}
				return nil
			},
			check: func(t *testing.T, enq tasks.Enqueued, err error) {
				if err != nil || !enq.Duplicate || enq.Existing == nil || enq.State != tasks.StatePending {
					t.Errorf("EnqueuePrepared = %+v, %v; want a duplicate of the pending task", enq, err)
				}
			},
		},
		{
			name: "Redis fails",
			second: func(*testing.T, clientSetup, *tasks.Prepared) error {
				return errors.New("read tcp: connection reset by peer")
			},
			check: func(t *testing.T, enq tasks.Enqueued, err error) {
				if !errors.Is(err, tasks.ErrUnavailable) || errors.Is(err, tasks.ErrNotFound) || !strings.Contains(err.Error(), "connection reset by peer") {
					t.Errorf("EnqueuePrepared = %+v, %v; want ErrUnavailable with the cause", enq, err)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := setupClient(t, "photo.jpg")
			ctx := t.Context()
			hook := &enqueueHook{}
			hc, err := tasks.NewClient(tasks.ClientConfig{
				Redis:      hookedRedis{RedisClientOpt: asynq.RedisClientOpt{Addr: s.redis.Addr()}, hook: hook},
				MediaRoots: []string{s.root},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer hc.Close()
			insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
			defer insp.Close()

			prep, err := hc.Prepare(ctx, tasks.UploadRequest{Path: filepath.Join(s.root, "photo.jpg")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.client.EnqueuePrepared(ctx, prep); err != nil {
				t.Fatal(err)
			}
			hook.around = func(n int, run func() error) error {
				switch n {
				case 1: // conflicts with the task queued above, then it goes
					err := run()
					if derr := insp.DeleteTask(tasks.QueueDefault, prep.TaskID); derr != nil {
						t.Errorf("DeleteTask: %v", derr)
					}
					return err
				case 2:
					if err := c.second(t, s, prep); err != nil {
						return err
					}
				}
				return run()
			}
			enq, err := hc.EnqueuePrepared(ctx, prep)
			if hook.n != 2 {
				t.Fatalf("%d enqueues, want the conflicting one and the retry", hook.n)
			}
			if err == nil && enq.ID != prep.TaskID {
				t.Errorf("ID = %q, want %q", enq.ID, prep.TaskID)
			}
			c.check(t, enq, err)
		})
	}
}

// TestClientRefusesBadNames: the Go API (Client.Enqueue and
// NewUploadTask) refuses each of the shared bad names with bad_name, the
// answer every entry point gives.
func TestClientRefusesBadNames(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.png")
	path := filepath.Join(s.root, "photo.png")
	for _, c := range badnames.Cases {
		_, err := s.client.Enqueue(t.Context(), tasks.UploadRequest{Path: path, ImageName: c.Name})
		var rej *tasks.RejectError
		if !errors.As(err, &rej) || rej.Reason != tasks.Reason(validate.ReasonBadName) {
			t.Errorf("%s: Enqueue = %v, want a bad_name rejection", c.Why, err)
		}
		p := tasks.UploadPayload{Path: path, ImageName: c.Name, SHA256: strings.Repeat("a", 64), Size: 1}
		if _, err := tasks.NewUploadTask(p); !errors.Is(err, validate.ErrBadName) || !errors.Is(err, tasks.ErrInvalidPayload) {
			t.Errorf("%s: NewUploadTask = %v, want bad_name", c.Why, err)
		}
	}
}

// prefixSealer stands in for the merchant key file's keyring: enough to
// see what the client puts into the payload.
type prefixSealer struct{}

func (prefixSealer) SealToken(tok string) (string, error) {
	return "sealed:" + strings.ToUpper(hex.EncodeToString([]byte(tok))), nil
}
func (prefixSealer) OpenToken(s string) (string, error) { return "", errors.New("not used") }

// Jobs name the merchant, or carry a token only sealed: no token reaches
// Redis in clear, and the task ID hashes the merchant or the token's digest.
func TestClientMerchantAndSealedToken(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := copyMedia(t, "photo.jpg")
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{root}, Sealer: prefixSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	path := filepath.Join(root, "photo.jpg")
	const tok = "202612BBappHeldTokenXYZ"

	m, err := c.Enqueue(ctx, tasks.UploadRequest{Path: path, Merchant: "2021000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Payload.Version != tasks.PayloadVersion || m.Payload.Merchant != "2021000000000001" || m.ID == tasks.TaskID(tasks.UploadPayload{SHA256: m.Payload.SHA256}) {
		t.Errorf("merchant job = %+v", m)
	}
	s, err := c.Enqueue(ctx, tasks.UploadRequest{Path: path, AppAuthToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == m.ID || s.Payload.TokenDigest != tasks.TokenDigest(tok) {
		t.Errorf("sealed job = %+v", s)
	}
	if _, err := c.Enqueue(ctx, tasks.UploadRequest{Path: path, AppAuthToken: tok, Merchant: "2021000000000001"}); !errors.Is(err, tasks.ErrInvalidPayload) {
		t.Errorf("merchant and token: err = %v", err)
	}
	ins := asynq.NewInspector(asynq.RedisClientOpt{Addr: srv.Addr()})
	defer ins.Close()
	info, err := ins.GetTaskInfo(tasks.QueueDefault, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(info.Payload, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["version"] != float64(2) || raw["sealed_token"] == nil || raw["app_auth_token"] != nil || strings.Contains(string(info.Payload), tok) {
		t.Errorf("stored payload %s", info.Payload)
	}
	// Lookup never gives the sealed token back either.
	st, err := c.Lookup(ctx, s.ID)
	if err != nil || st.Payload.SealedToken != "" || st.Payload.TokenDigest == "" {
		t.Errorf("Lookup = %+v, %v", st.Payload, err)
	}
}
