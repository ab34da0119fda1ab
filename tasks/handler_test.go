package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// fakeUploader reads the request body the way the real client does (exactly
// Size bytes) and answers with res or err.
type fakeUploader struct {
	mu    sync.Mutex
	calls []upload.Request
	body  []byte
	res   upload.Result
	err   error
	panic any
}

func (f *fakeUploader) Upload(_ context.Context, req upload.Request) (upload.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if f.panic != nil {
		panic(f.panic)
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, req.Content, req.Size); err != nil {
		return upload.Result{}, fmt.Errorf("%w: %w", upload.ErrContent, err)
	}
	f.body = buf.Bytes()
	return f.res, f.err
}

func (f *fakeUploader) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// recorder is an Observer that remembers what it was told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.events = append(r.events, s); r.mu.Unlock() }
func (r *recorder) Observe(a Attempt) {
	r.add(fmt.Sprintf("%s %s %d", a.Outcome, a.Reason, a.Bytes))
}
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "; ")
}

type bundle struct {
	h    *Handler
	up   *fakeUploader
	obs  *recorder
	root string
	logs *syncbuf.Buffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	root := t.TempDir()
	roots, err := mediaroot.New(root)
	if err != nil {
		t.Fatal(err)
	}
	val, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{up: &fakeUploader{res: upload.Result{ImageID: "img1", ImageURL: "http://x/img1", TraceID: "tr1"}}, obs: &recorder{}, root: root, logs: &syncbuf.Buffer{}}
	b.h, err = NewHandler(HandlerConfig{
		Uploader: b.up, Validator: val, Roots: roots, Observer: b.obs,
		Logger: slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("handler logs:\n" + b.logs.String())
		}
	})
	return b
}

// sample copies a file of testdata/media into the root and returns its path.
func (b *bundle) sample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "media", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(b.root, filepath.Base(name))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func payloadFor(t *testing.T, path string) UploadPayload {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, size, err := Digest(f)
	if err != nil {
		t.Fatal(err)
	}
	return UploadPayload{Version: PayloadVersion, Path: path, ImageName: "shop front", SHA256: sum, Size: size}
}

func taskOf(t *testing.T, p UploadPayload) *asynq.Task {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.NewTask(TypeUpload, data)
}

func TestHandlerUploads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := b.sample(t, "photo.jpeg")
	p := payloadFor(t, path)
	p.ImagePID = "2088000000000001"
	p.Version, p.AppAuthToken = PayloadVersion1, "202401BBtoken" // version 1 jobs still run
	if err := b.h.ProcessTask(context.Background(), taskOf(t, p)); err != nil {
		t.Fatalf("ProcessTask: %v", err)
	}
	if b.up.Calls() != 1 {
		t.Fatalf("uploader called %d times", b.up.Calls())
	}
	req := b.up.calls[0]
	want, _ := os.ReadFile(path)
	if !bytes.Equal(b.up.body, want) {
		t.Error("uploaded bytes differ from the file")
	}
	if req.ImageType != "jpg" || req.ContentType != "image/jpeg" || req.ImageName != "shop front" ||
		req.ImagePID != p.ImagePID || req.AppAuthToken != p.AppAuthToken || req.Size != p.Size {
		t.Errorf("request = %+v", req)
	}
	if got := b.obs.String(); got != fmt.Sprintf("success  %d", p.Size) {
		t.Errorf("observer: %s", got)
	}
	if strings.Contains(b.logs.String(), p.AppAuthToken) {
		t.Error("logs contain the app_auth_token")
	}
}

func TestHandlerRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		task   func(t *testing.T, b *bundle) *asynq.Task
		reason string
		text   string
	}{
		{"undecodable", func(t *testing.T, b *bundle) *asynq.Task {
			return asynq.NewTask(TypeUpload, []byte("{not json"))
		}, "bad_payload", "tasks: invalid payload"},
		{"unknown version", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			p.Version = 3
			return taskOf(t, p)
		}, "payload_version", "unknown payload version 3"},
		{"wrong task type", func(t *testing.T, b *bundle) *asynq.Task {
			data, _ := json.Marshal(payloadFor(t, b.sample(t, "photo.png")))
			return asynq.NewTask("something:else", data)
		}, "bad_payload", `task type "something:else"`},
		{"type mismatch", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			p.ImageType = "jpg"
			return taskOf(t, p)
		}, "type_mismatch", "type_mismatch"},
		{"text as jpg", func(t *testing.T, b *bundle) *asynq.Task {
			return taskOf(t, payloadFor(t, b.sample(t, "bad/text.jpg")))
		}, "unsupported_type", "unsupported_type"},
		{"truncated", func(t *testing.T, b *bundle) *asynq.Task {
			return taskOf(t, payloadFor(t, b.sample(t, "bad/truncated.png")))
		}, "corrupt", "corrupt"},
		{"missing file", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			os.Remove(p.Path)
			return taskOf(t, p)
		}, "not_found", "no such file"},
		{"outside the roots", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			p.Path = b.root + "/../" + filepath.Base(b.root) + "/photo.png"
			return taskOf(t, p)
		}, "traversal", `".." element`},
		{"symlink escape", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			outside := filepath.Join(t.TempDir(), "secret.png")
			os.Rename(p.Path, outside)
			if err := os.Symlink(outside, p.Path); err != nil {
				t.Fatal(err)
			}
			return taskOf(t, p)
		}, "symlink_escape", "symbolic link"},
		{"directory", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			p.Path = filepath.Join(b.root, "sub.png")
			os.Mkdir(p.Path, 0o755)
			return taskOf(t, p)
		}, "not_regular", "directory"},
		{"fifo", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			fifo := filepath.Join(b.root, "pipe.png")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			p.Path = fifo
			return taskOf(t, p)
		}, "not_regular", "FIFO"},
		{"size changed", func(t *testing.T, b *bundle) *asynq.Task {
			p := payloadFor(t, b.sample(t, "photo.png"))
			p.Size++
			return taskOf(t, p)
		}, "changed", "changed since enqueue: size is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			err := b.h.ProcessTask(context.Background(), tt.task(t, b))
			t.Logf("error: %v", err)
			if !errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("err = %v, want SkipRetry", err)
			}
			if !strings.Contains(err.Error(), tt.text) || strings.Contains(err.Error(), asynq.SkipRetry.Error()) {
				t.Errorf("err = %q, want it to contain %q and not asynq's %q", err, tt.text, asynq.SkipRetry)
			}
			if b.up.Calls() != 0 {
				t.Errorf("uploader called %d times", b.up.Calls())
			}
			obs := b.obs.String()
			if obs != "rejected "+tt.reason+" 0" {
				t.Errorf("observer: %s", obs)
			}
		})
	}
}

func TestHandlerChangedWhileStreaming(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := b.sample(t, "photo.png")
	p := payloadFor(t, path)
	// Same size, one byte different, after enqueue.
	data, _ := os.ReadFile(path)
	data[len(data)-20] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err := b.h.ProcessTask(context.Background(), taskOf(t, p))
	if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged and SkipRetry", err)
	}
	if !strings.Contains(err.Error(), "changed since enqueue") {
		t.Errorf("err = %q", err)
	}
	if len(b.up.body) != 0 {
		t.Error("the uploader received a complete body")
	}
	if got := b.obs.String(); !strings.Contains(got, "rejected changed") {
		t.Errorf("observer: %s", got)
	}
}

func TestHandlerUploadErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		skip      bool
		throttled bool
		observed  string
	}{
		{"throttled", &upload.APIError{Code: "40005", Msg: "Call Limited", SubCode: "isv.app-call-limited"}, false, true, "throttled alipay_40005 0"},
		{"no slot under the fleet's rate limit", fmt.Errorf("%w: none within 30s: %w", upload.ErrRateLimit, upload.ErrThrottled), false, true, "throttled rate_limit 0"},
		{"unavailable", &upload.APIError{Code: "20000", Msg: "Service Currently Unavailable"}, false, false, "retry alipay_20000 0"},
		{"http 503", &upload.HTTPError{StatusCode: 503}, false, false, "retry http_503 0"},
		{"transport", fmt.Errorf("post: connection reset: %w", upload.ErrRetryable), false, false, "retry transport 0"},
		{"business", &upload.APIError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAM"}, true, false, "rejected alipay_40004 0"},
		{"bad signature", fmt.Errorf("%w: %w", upload.ErrBadSignature, upload.ErrPermanent), true, false, "rejected bad_signature 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.up.err = tt.err
			err := b.h.ProcessTask(context.Background(), taskOf(t, payloadFor(t, b.sample(t, "photo.jpg"))))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, asynq.SkipRetry); got != tt.skip {
				t.Errorf("SkipRetry = %v, want %v (err %v)", got, tt.skip, err)
			}
			var te *ThrottledError
			if got := errors.As(err, &te); got != tt.throttled {
				t.Errorf("throttled = %v, want %v", got, tt.throttled)
			}
			if IsFailure(err) == tt.throttled {
				t.Errorf("IsFailure = %v for %v", IsFailure(err), err)
			}
			if !errors.Is(err, tt.err) && !strings.Contains(err.Error(), tt.err.Error()) {
				t.Errorf("err %q lost the cause %q", err, tt.err)
			}
			if got := b.obs.String(); !strings.Contains(got, tt.observed) {
				t.Errorf("observer: %s, want %q", got, tt.observed)
			}
		})
	}
}

func TestHandlerScrubsSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const token = "202401BBsupersecret"
	cause := &upload.APIError{Code: "20001", Msg: "Insufficient Token Permissions", SubCode: "aop.invalid-app-auth-token", SubMsg: "token " + token + " is invalid"}
	b.up.err = fmt.Errorf(`post "https://gw/gateway.do?app_auth_token=%s&sign=c2lnbmF0dXJl&sign_type=RSA2": %w`, token, cause)
	p := payloadFor(t, b.sample(t, "photo.jpg"))
	p.Version, p.AppAuthToken = PayloadVersion1, token
	err := b.h.ProcessTask(context.Background(), taskOf(t, p))
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{token, "c2lnbmF0dXJl"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %s", secret, err)
		}
		if strings.Contains(b.logs.String(), secret) {
			t.Errorf("logs show %q", secret)
		}
	}
	var api *upload.APIError
	if !errors.As(err, &api) || !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("scrubbing broke the error chain: %v", err)
	}
	if !strings.Contains(err.Error(), "sign_type=RSA2") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %q", err)
	}
}

func TestHandlerRecoversPanics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.up.panic = "nil map write"
	err := b.h.ProcessTask(context.Background(), taskOf(t, payloadFor(t, b.sample(t, "photo.jpg"))))
	if !errors.Is(err, ErrPanic) || errors.Is(err, asynq.SkipRetry) || !IsFailure(err) {
		t.Fatalf("err = %v, want a retryable ErrPanic", err)
	}
	if !strings.Contains(err.Error(), "nil map write") {
		t.Errorf("err = %q", err)
	}
	if got := b.obs.String(); got != "retry panic 0" {
		t.Errorf("observer: %s", got)
	}
	if logs := b.logs.String(); !strings.Contains(logs, "panicked") || !strings.Contains(logs, "handler_test.go") {
		t.Errorf("panic not logged with its stack: %s", logs)
	}
}

func TestNewHandlerRequiresDependencies(t *testing.T) {
	t.Parallel()
	val, _ := validate.New(validate.Config{})
	roots, err := mediaroot.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]HandlerConfig{
		"uploader":  {Validator: val, Roots: roots},
		"validator": {Uploader: &fakeUploader{}, Roots: roots},
		"roots":     {Uploader: &fakeUploader{}, Validator: val},
	} {
		if _, err := NewHandler(cfg); !errors.Is(err, ErrHandlerConfig) {
			t.Errorf("without %s: err = %v", name, err)
		}
	}
}

// TestHandlerRefusesBadNamesFromOtherPrograms: a payload written by a
// program in another language, with each of the shared bad names as it
// would write it (invalid UTF-8 raw, not replaced), is archived as bad_name
// before the file is opened or sent. Before, encoding/json turned invalid
// UTF-8 into U+FFFD and the rest passed, so the name was uploaded.
func TestHandlerRefusesBadNamesFromOtherPrograms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := payloadFor(t, b.sample(t, "photo.png"))
	names := map[string]string{"lone_surrogate_escape": `"a\ud800b.png"`}
	for _, c := range badnames.Cases {
		names[c.Why] = badnames.JSONString(c.Name)
	}
	for why, lit := range names {
		data := fmt.Sprintf(`{"version":1,"path":%q,"image_name":%s,"sha256":%q,"size":%d}`, p.Path, lit, p.SHA256, p.Size)
		b.obs = &recorder{}
		b.h.obs = b.obs
		err := b.h.ProcessTask(context.Background(), asynq.NewTask(TypeUpload, []byte(data)))
		if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, validate.ErrBadName) {
			t.Errorf("%s: err = %v, want bad_name and SkipRetry", why, err)
		}
		if obs := b.obs.String(); obs != "rejected bad_name 0" {
			t.Errorf("%s: observer: %s", why, obs)
		}
	}
	if b.up.Calls() != 0 {
		t.Errorf("uploader called %d times", b.up.Calls())
	}
}
