package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestUploadsEveryFormat(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testUploadsEveryFormat)
}

func testUploadsEveryFormat(t *testing.T, proto upload.Protocol) {
	e := startEnv(t, envOptions{protocol: proto})
	samples := []struct{ file, declared, wantType, wantMIME string }{
		{"photo.jpg", "jpg", "jpg", "image/jpeg"},
		{"photo.jpeg", "", "jpg", "image/jpeg"},
		{"photo.png", "png", "png", "image/png"},
		{"anim.gif", "", "gif", "image/gif"},
		{"photo.bmp", "bmp", "bmp", "image/bmp"},
		{"clip.mp4", "mp4", "mp4", "video/mp4"},
	}
	ids := make([]string, len(samples))
	for i, s := range samples {
		p := payloadFor(t, e.sample(t, s.file))
		p.ImageType = s.declared
		ids[i] = e.enqueue(t, p)
	}
	for i, s := range samples {
		info := e.wait(t, ids[i])
		r := result(t, info)
		want := payloadFor(t, filepath.Join(e.root, s.file))
		if r.ImageID == "" || r.ImageURL == "" || r.TraceID == "" {
			t.Errorf("%s: incomplete result %+v", s.file, r)
		}
		if r.SHA256 != want.SHA256 || r.Bytes != want.Size || r.ImageType != s.wantType || r.Attempt != 1 || r.CompletedAt.IsZero() {
			t.Errorf("%s: result %+v, want sha256 %s, %d bytes, type %s, attempt 1", s.file, r, want.SHA256, want.Size, s.wantType)
		}
		up, err := e.uploadByID(r.ImageID)
		if err != nil {
			t.Errorf("%s: %v", s.file, err)
			continue
		}
		if up.SHA256 != want.SHA256 || up.Size != want.Size || up.ImageType != s.wantType || up.ContentType != s.wantMIME || up.ImageName != s.file || up.TraceID != r.TraceID || up.API != string(proto) {
			t.Errorf("%s: gateway saw %+v", s.file, up)
		}
		// The defaults of NewUploadTask reached Redis.
		if info.Queue != tasks.QueueDefault || info.MaxRetry != tasks.DefaultMaxRetry || info.Retention != tasks.DefaultRetention || info.Timeout != tasks.DefaultTimeout {
			t.Errorf("%s: task options %+v", s.file, info)
		}
	}
	if n := len(e.gw.Uploads()); n != len(samples) {
		t.Errorf("gateway recorded %d uploads, want %d", n, len(samples))
	}
}

func TestBadInputsAreArchivedWithoutUpload(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	type job struct {
		name string
		id   string
		want []string
	}
	var jobs []job
	add := func(name, id string, want ...string) { jobs = append(jobs, job{name, id, want}) }

	for _, c := range []struct{ file, want string }{
		{"bad/text.jpg", "unsupported_type"},
		{"bad/quicktime.mov", "unsupported_type"},
		{"bad/truncated.jpg", "corrupt"},
		{"bad/truncated-header.jpg", "corrupt"},
		{"bad/truncated.png", "corrupt"},
		{"bad/truncated.gif", "corrupt"},
		{"bad/truncated.bmp", "corrupt"},
		{"bad/truncated.mp4", "corrupt"},
	} {
		add(c.file, e.enqueue(t, payloadFor(t, e.sample(t, c.file))), c.want+": ")
	}

	p := payloadFor(t, e.sample(t, "photo.png"))
	p.ImageType = "jpg"
	add("type mismatch", e.enqueue(t, p), `type_mismatch: image_type says "jpg" but the content is png`)

	big := make([]byte, 5<<20+1)
	copy(big, mediagen.Sample("png", 1))
	add("too large", e.enqueue(t, payloadFor(t, e.file(t, "big.png", big))), "too_large")

	p = payloadFor(t, e.file(t, "a/shop.png", mediagen.Sample("png", 2)))
	p.Path = e.root + "/a/../a/shop.png"
	add("traversal", e.enqueue(t, p), `".." element`)

	outside := filepath.Join(t.TempDir(), "outside.png")
	if err := os.WriteFile(outside, mediagen.Sample("png", 3), 0o644); err != nil {
		t.Fatal(err)
	}
	p = payloadFor(t, outside)
	p.Path = filepath.Join(e.root, "link.png")
	if err := os.Symlink(outside, p.Path); err != nil {
		t.Fatal(err)
	}
	add("symlink escape", e.enqueue(t, p), "symbolic link leads outside the media root")

	p = payloadFor(t, outside)
	p.Path = outside
	add("outside the roots", e.enqueue(t, p, asynq.TaskID("outside")), "outside the media roots")

	p = payloadFor(t, e.file(t, "dir.png", mediagen.Sample("png", 4)))
	os.Remove(p.Path)
	os.Mkdir(p.Path, 0o755)
	add("directory", e.enqueue(t, p), "not a regular file", "directory")

	p = payloadFor(t, e.file(t, "fifo.png", mediagen.Sample("png", 5)))
	os.Remove(p.Path)
	if err := syscall.Mkfifo(p.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	add("fifo", e.enqueue(t, p), "not a regular file", "FIFO")

	p = payloadFor(t, e.file(t, "gone.png", mediagen.Sample("png", 6)))
	os.Remove(p.Path)
	add("missing", e.enqueue(t, p), "no such file")

	p = payloadFor(t, e.file(t, "grown.png", mediagen.Sample("png", 7)))
	p.Size--
	add("size changed", e.enqueue(t, p), "changed since enqueue", "size is")

	add("undecodable", e.enqueueRaw(t, "raw-garbage", []byte("\x00garbage")), "tasks: invalid payload")
	raw, _ := json.Marshal(map[string]any{"version": 3, "path": e.root + "/x.png", "image_name": "x", "sha256": strings.Repeat("0", 64), "size": 5})
	add("unknown version", e.enqueueRaw(t, "raw-v3", raw), "unknown payload version 3")
	raw, _ = json.Marshal(map[string]any{"version": 1, "path": e.sample(t, "bad/empty.jpg"), "image_name": "empty", "sha256": strings.Repeat("0", 64), "size": 0})
	add("empty", e.enqueueRaw(t, "raw-empty", raw), "size 0 is not positive")

	for _, j := range jobs {
		info := e.wait(t, j.id)
		if info.State != asynq.TaskStateArchived || info.Retried != 0 {
			t.Errorf("%s: %s, want archived at the first attempt", j.name, describe(info))
			continue
		}
		if strings.Contains(info.LastErr, asynq.SkipRetry.Error()) {
			t.Errorf("%s: last error %q carries asynq's %q", j.name, info.LastErr, asynq.SkipRetry)
		}
		for _, w := range j.want {
			if !strings.Contains(info.LastErr, w) {
				t.Errorf("%s: last error %q does not contain %q", j.name, info.LastErr, w)
			}
		}
	}
	if st := e.gw.Stats(); st.Requests != 0 {
		t.Errorf("gateway received %d requests, want none", st.Requests)
	}
	// Each archive is logged once, by the handler, with its reason;
	// asynq's "Retry exhausted" for a task archived at its first attempt
	// is not a warning.
	for line := range strings.Lines(e.logs.String()) {
		if strings.Contains(line, "Retry exhausted") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("worker log: %s", line)
		}
	}
	if n := strings.Count(e.logs.String(), `msg="upload rejected; archiving the task"`); n != len(jobs) {
		t.Errorf("%d archives logged by the handler, want %d", n, len(jobs))
	}
}

func TestEmptyFileCannotBeQueued(t *testing.T) {
	t.Parallel()
	_, err := tasks.NewUploadTask(tasks.UploadPayload{Path: "/srv/media/empty.jpg", ImageName: "empty", SHA256: strings.Repeat("0", 64), Size: 0})
	if !errors.Is(err, tasks.ErrInvalidPayload) {
		t.Fatalf("err = %v", err)
	}
}

func TestChangedSinceEnqueueAbortsTheUpload(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testChangedSinceEnqueueAbortsTheUpload)
}

func testChangedSinceEnqueueAbortsTheUpload(t *testing.T, proto upload.Protocol) {
	e := startEnv(t, envOptions{protocol: proto})
	// A noise PNG larger than the first piece the worker reads before the
	// request starts; noise does not compress, so every seed gives the
	// same size.
	noisePNG := func(seed uint64) []byte {
		data, err := mediagen.Encode("png", mediagen.Noise(200, 150, seed))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	path := e.file(t, "shop.png", noisePNG(10))
	p := payloadFor(t, path)
	// The file changes between enqueue and upload: same size, other bytes.
	changed := noisePNG(11)
	if int64(len(changed)) != p.Size {
		t.Fatalf("noise PNGs of %d and %d bytes: the test needs a same-size change", p.Size, len(changed))
	}
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	info := e.wait(t, e.enqueue(t, p))
	if info.State != asynq.TaskStateArchived || info.Retried != 0 || !strings.Contains(info.LastErr, "changed since enqueue") {
		t.Fatalf("%s, want archived: changed since enqueue", describe(info))
	}
	// Only the hash can tell: the upload started and was cut off.
	if !strings.Contains(info.LastErr, "sha256 differs") {
		t.Errorf("last error %q, want the sha256 mismatch found while uploading", info.LastErr)
	}
	if n := len(e.gw.Uploads()); n != 0 {
		t.Errorf("gateway recorded %d uploads of a changed file", n)
	}
	// The gateway notices the abandoned request on its own schedule.
	st := e.gw.Stats()
	for deadline := time.Now().Add(30 * time.Second); st.Aborted == 0 && time.Now().Before(deadline); st = e.gw.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st.Successes != 0 || st.BytesReceived >= p.Size {
		t.Errorf("gateway stats %+v: the body should have been cut short", st)
	}
	if st.Requests != 1 || st.Aborted != 1 {
		t.Errorf("gateway stats %+v: want the one request, aborted by the client", st)
	}

	// A file that fits the first piece is verified whole before the
	// request: its change never starts one.
	path = e.file(t, "small.png", mediagen.Sample("png", 10))
	p = payloadFor(t, path)
	if err := os.WriteFile(path, mediagen.Sample("png", 11), 0o644); err != nil {
		t.Fatal(err)
	}
	info = e.wait(t, e.enqueue(t, p))
	if info.State != asynq.TaskStateArchived || info.Retried != 0 || !strings.Contains(info.LastErr, "changed since enqueue: sha256 differs") {
		t.Fatalf("small file: %s, want archived: changed since enqueue", describe(info))
	}
	if st2 := e.gw.Stats(); st2.Requests != st.Requests {
		t.Errorf("gateway stats %+v: a small changed file started a request", st2)
	}
}

func TestFaultPolicy(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testFaultPolicy)
}

func testFaultPolicy(t *testing.T, proto upload.Protocol) {
	e := startEnv(t, envOptions{protocol: proto})
	retried := []alipaytest.FaultKind{alipaytest.Fault502, alipaytest.Fault503, alipaytest.FaultUnavailable, alipaytest.FaultReset}
	for i, kind := range retried {
		if err := e.gw.Faults().Next(kind, 1); err != nil {
			t.Fatal(err)
		}
		info := e.wait(t, e.enqueue(t, payloadFor(t, e.file(t, string(kind)+".png", mediagen.Sample("png", uint64(100+i))))))
		r := result(t, info)
		if info.Retried != 1 || r.Attempt != 2 {
			t.Errorf("%s: %s, attempt %d; want one retry then success", kind, describe(info), r.Attempt)
		}
	}

	for i, c := range []struct {
		kind alipaytest.FaultKind
		want string
	}{
		{alipaytest.FaultBadSignature, "signature"},
		{alipaytest.FaultMalformed, "malformed"},
	} {
		if err := e.gw.Faults().Next(c.kind, 1); err != nil {
			t.Fatal(err)
		}
		info := e.wait(t, e.enqueue(t, payloadFor(t, e.file(t, string(c.kind)+".png", mediagen.Sample("png", uint64(200+i))))))
		if info.State != asynq.TaskStateArchived || info.Retried != 0 || !strings.Contains(info.LastErr, c.want) {
			t.Errorf("%s: %s; want archived at once, mentioning %q", c.kind, describe(info), c.want)
		}
	}

	// A transient failure that outlasts the budget ends archived.
	if err := e.gw.Faults().Next(alipaytest.Fault503, 5); err != nil {
		t.Fatal(err)
	}
	info := e.wait(t, e.enqueue(t, payloadFor(t, e.file(t, "exhausted.png", mediagen.Sample("png", 300))), asynq.MaxRetry(2)))
	if info.State != asynq.TaskStateArchived || info.Retried != 2 || !strings.Contains(info.LastErr, "503") || strings.Contains(info.LastErr, "skip retry") {
		t.Errorf("exhausted: %s; want archived after 2 retries with the 503", describe(info))
	}
	e.gw.Faults().Clear()
}

func TestThrottlingDoesNotSpendRetries(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testThrottlingDoesNotSpendRetries)
}

func testThrottlingDoesNotSpendRetries(t *testing.T, proto upload.Protocol) {
	obs := &countingObserver{}
	e := startEnv(t, envOptions{protocol: proto, config: func(c *Config) { c.Observer = obs }})
	if err := e.gw.Faults().Next(alipaytest.FaultThrottled, 3); err != nil {
		t.Fatal(err)
	}
	info := e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg")), asynq.MaxRetry(1)))
	r := result(t, info)
	if info.Retried != 0 || r.Attempt != 1 {
		t.Errorf("%s, attempt %d: throttled attempts were counted", describe(info), r.Attempt)
	}
	st := e.gw.Stats()
	if st.Faults[alipaytest.FaultThrottled] != 3 || st.Successes != 1 {
		t.Errorf("gateway stats %+v, want 3 throttled requests then a success", st)
	}
	if !strings.Contains(e.logs.String(), "throttled") {
		t.Error("throttling was not logged")
	}
	if got := obs.String(); got != "throttled=3 success=1 retrying=0 rejected=0" {
		t.Errorf("observer saw %s", got)
	}
}

// countingObserver is a tasks.Observer that counts attempts by outcome.
type countingObserver struct {
	mu     sync.Mutex
	counts map[tasks.Outcome]int
}

func (o *countingObserver) Observe(a tasks.Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[tasks.Outcome]int{}
	}
	o.counts[a.Outcome]++
}

func (o *countingObserver) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("throttled=%d success=%d retrying=%d rejected=%d",
		o.counts[tasks.OutcomeThrottled], o.counts[tasks.OutcomeSuccess], o.counts[tasks.OutcomeRetry], o.counts[tasks.OutcomeRejected])
}

func TestDuplicateTaskIDIsRejected(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	p := payloadFor(t, e.sample(t, "photo.png"))
	id := e.enqueue(t, p)
	task, _ := tasks.NewUploadTask(p)
	if _, err := e.client.Enqueue(task); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("second enqueue: err = %v, want ErrTaskIDConflict", err)
	}
	result(t, e.wait(t, id))
	// Retention keeps the ID taken after completion.
	p.ImageName = "renamed"
	task, _ = tasks.NewUploadTask(p)
	if _, err := e.client.Enqueue(task); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("enqueue after completion: err = %v, want ErrTaskIDConflict", err)
	}
	// Another merchant may upload the same file.
	p.Version, p.AppAuthToken = tasks.PayloadVersion1, "202401BBothermerchant" // version 1 jobs still run
	other := e.enqueue(t, p)
	if other == id {
		t.Fatal("same task ID for another merchant")
	}
	result(t, e.wait(t, other))
	if n := len(e.gw.Uploads()); n != 2 {
		t.Errorf("gateway recorded %d uploads, want 2", n)
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testTokenNeverLeaks)
}

func testTokenNeverLeaks(t *testing.T, proto upload.Protocol) {
	const token = "202401BBc0ffeeSecretMerchantToken"
	e := startEnv(t, envOptions{protocol: proto, gateway: alipaytest.Config{AppAuthTokens: []string{"202401BBtheonlyvalidtoken"}}})
	p := payloadFor(t, e.sample(t, "photo.jpg"))
	p.Version, p.AppAuthToken = tasks.PayloadVersion1, token // version 1 jobs still run
	id := e.enqueue(t, p)
	info := e.wait(t, id)
	refusal := "20001" // classic; v3 names the code
	if proto == upload.V3 {
		refusal = "invalid-app-auth-token"
	}
	if info.State != asynq.TaskStateArchived || !strings.Contains(info.LastErr, refusal) {
		t.Fatalf("%s, want archived with the gateway's %s", describe(info), refusal)
	}
	if strings.Contains(info.LastErr, token) || strings.Contains(id, token) {
		t.Errorf("token in the task ID or error: %q %q", id, info.LastErr)
	}
	if strings.Contains(e.logs.String(), token) {
		t.Error("token in the worker's logs")
	}
}

func TestShutdownLetsInFlightUploadsFinish(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	e.gw.Faults().SetSlowDelay(time.Second)
	if err := e.gw.Faults().Next(alipaytest.FaultSlow, 1); err != nil {
		t.Fatal(err)
	}
	id := e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg")))
	e.waitInFlight(t, id)
	e.stopWorker(t) // like SIGTERM; ShutdownTimeout is 10s
	info, err := e.insp.GetTaskInfo(tasks.QueueDefault, id)
	if err != nil {
		t.Fatal(err)
	}
	result(t, info)
	if len(e.gw.Uploads()) != 1 {
		t.Errorf("gateway recorded %d uploads, want 1", len(e.gw.Uploads()))
	}
}

func TestShutdownRequeuesUnfinishedUploads(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{config: func(c *Config) { c.ShutdownTimeout = 200 * time.Millisecond }})
	e.gw.Faults().SetSlowDelay(time.Minute)
	if err := e.gw.Faults().Next(alipaytest.FaultSlow, 1); err != nil {
		t.Fatal(err)
	}
	id := e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg")))
	e.waitInFlight(t, id)
	e.stopWorker(t)
	info, err := e.insp.GetTaskInfo(tasks.QueueDefault, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStatePending {
		t.Fatalf("after shutdown: %s, want pending (back in the queue)", describe(info))
	}
	// The next worker picks it up.
	e.startWorker(t)
	result(t, e.wait(t, id))
}

// waitInFlight waits until the task is active and its request has reached
// the gateway.
func (e *testEnv) waitInFlight(t *testing.T, id string) {
	t.Helper()
	e.wait(t, id, asynq.TaskStateActive)
	deadline := time.Now().Add(60 * time.Second)
	for e.gw.Stats().Requests == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the gateway")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCertificateMode(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testCertificateMode)
}

func testCertificateMode(t *testing.T, proto upload.Protocol) {
	certs := alipaytest.TestCerts()
	var gcfg alipaytest.Config
	certs.Configure(&gcfg)
	e := startEnv(t, envOptions{protocol: proto, gateway: gcfg, noStart: true})
	dir := filepath.Join(t.TempDir(), "keys")
	files, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyFiles, err := alipaytest.TestKeys().WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Keys, err = upload.CertKeysFromFiles(keyFiles.AppPrivateKey, files.AppCert, files.AlipayCert, files.RootCert)
	if err != nil {
		t.Fatal(err)
	}
	e.startWorker(t)
	r := result(t, e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.png")))))
	if up, err := e.uploadByID(r.ImageID); err != nil || up.API != string(proto) {
		t.Errorf("upload %+v (%v), want it over %s", up, err, proto)
	}
}

func TestRunsOnSentinel(t *testing.T) {
	t.Parallel()
	s := testproc.StartSentinel(t)
	opt, err := redisurl.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, envOptions{config: func(c *Config) { c.Redis = opt }})
	result(t, e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "anim.gif")))))
}
