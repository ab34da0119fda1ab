package importer_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/validate"
)

const mediaDir = "../../testdata/media"

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mediaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// longName is a 150-character base name; the importer cuts it to 128.
var longName = strings.Repeat("x", 146) + ".bmp"

const unicodeName = "店铺照片-正面 (门头).jpeg"

// expect is the outcome a file of the test tree must get.
type expect struct {
	state  importer.State
	reason string
}

// mixedTree builds a media root with good and bad files and returns it with
// the expected outcome of each file, by path relative to the root.
func mixedTree(t *testing.T) (string, map[string]expect) {
	t.Helper()
	root := t.TempDir()
	outside := t.TempDir()
	want := map[string]expect{}
	good := func(rel string, data []byte) {
		write(t, filepath.Join(root, rel), data)
		want[rel] = expect{state: importer.StateQueued}
	}
	bad := func(rel, reason string) {
		want[rel] = expect{state: importer.StateRejected, reason: reason}
	}
	good("photo.jpg", sample(t, "photo.jpg"))
	good("photo.png", sample(t, "photo.png"))
	good("video/clip.mp4", sample(t, "clip.mp4"))
	good("nested/a/b/anim.gif", sample(t, "anim.gif"))
	good("nested/"+unicodeName, sample(t, "photo.jpeg"))
	good("nested/a/"+longName, sample(t, "photo.bmp"))
	// The same content as photo.jpg: the same task.
	good("nested/a/photo-copy.jpg", sample(t, "photo.jpg"))

	write(t, filepath.Join(root, "bad/text.jpg"), sample(t, "bad/text.jpg"))
	bad("bad/text.jpg", "unsupported_type")
	write(t, filepath.Join(root, "bad/empty.jpg"), nil)
	bad("bad/empty.jpg", "empty")
	write(t, filepath.Join(root, "bad/truncated.png"), sample(t, "bad/truncated.png"))
	bad("bad/truncated.png", "corrupt")
	write(t, filepath.Join(root, "bad/big.jpg"), nil)
	if err := os.Truncate(filepath.Join(root, "bad/big.jpg"), validate.DefaultMaxSize+1); err != nil {
		t.Fatal(err)
	}
	bad("bad/big.jpg", "too_large")
	if err := syscall.Mkfifo(filepath.Join(root, "bad/pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad("bad/pipe.jpg", "not_regular")
	if err := os.Symlink("gone.jpg", filepath.Join(root, "bad/dangling.jpg")); err != nil {
		t.Fatal(err)
	}
	bad("bad/dangling.jpg", "not_found")
	write(t, filepath.Join(outside, "secret.jpg"), sample(t, "photo.jpeg"))
	if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "bad/escape.jpg")); err != nil {
		t.Fatal(err)
	}
	bad("bad/escape.jpg", "symlink_escape")
	// chmod 000 denies reading only to an unprivileged user; root reads
	// anyway, so there the FIFO and the dangling link above stand for
	// unreadable files and this one is not created.
	if os.Geteuid() != 0 {
		write(t, filepath.Join(root, "bad/locked.jpg"), sample(t, "photo.png"))
		if err := os.Chmod(filepath.Join(root, "bad/locked.jpg"), 0); err != nil {
			t.Fatal(err)
		}
		bad("bad/locked.jpg", "permission")
	} else {
		t.Log("running as root: chmod 000 does not deny reads, skipping the unreadable-file case (FIFO and dangling link cover it)")
	}
	// Hidden files and directories are skipped.
	write(t, filepath.Join(root, ".DS_Store"), []byte("junk"))
	write(t, filepath.Join(root, ".thumbs/x.jpg"), sample(t, "photo.jpg"))
	return root, want
}

type importSetup struct {
	redis  *testproc.Redis
	client *tasks.Client
	root   string
	want   map[string]expect
}

func setup(t *testing.T) importSetup {
	t.Helper()
	srv := testproc.StartRedis(t)
	root, want := mixedTree(t)
	return importSetup{redis: srv, client: newClient(t, srv.URL(), root), root: root, want: want}
}

func newClient(t *testing.T, redisURL string, roots ...string) *tasks.Client {
	t.Helper()
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: redisURL, MediaRoots: roots, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runImport runs an import and returns its summary and manifest rows by
// path relative to root.
func runImport(t *testing.T, ctx context.Context, cfg importer.Config, root string) (importer.Summary, map[string]importer.Row, error) {
	t.Helper()
	var man bytes.Buffer
	cfg.Manifest = &man
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	sum, err := importer.Run(ctx, cfg)
	return sum, parseManifest(t, man.Bytes(), root), err
}

func parseManifest(t *testing.T, data []byte, root string) map[string]importer.Row {
	t.Helper()
	rows := map[string]importer.Row{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r importer.Row
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		rel, err := filepath.Rel(root, r.Path)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := rows[rel]; dup {
			t.Errorf("file %s appears twice in the manifest", rel)
		}
		rows[rel] = r
	}
	return rows
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestImportManifestAndRerun(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := t.Context()
	sum, rows, err := runImport(t, ctx, importer.Config{Client: s.client, Paths: []string{s.root}}, s.root)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := keys(rows), keys(s.want); !slices.Equal(got, want) {
		t.Fatalf("manifest files:\n got %q\nwant %q", got, want)
	}
	queuedTwins := 0
	for rel, w := range s.want {
		r := rows[rel]
		if rel == "photo.jpg" || rel == "nested/a/photo-copy.jpg" {
			// One of the twins is queued, the other finds its task.
			switch {
			case r.State == importer.StateQueued && !r.Duplicate:
				queuedTwins++
			case r.State == importer.StatePending && r.Duplicate:
				// It says which file's task it reuses, and that task's name.
				twin := map[string]string{"photo.jpg": "nested/a/photo-copy.jpg", "nested/a/photo-copy.jpg": "photo.jpg"}[rel]
				if !strings.Contains(r.Note, "same content as "+filepath.Join(s.root, twin)) || r.ImageName != filepath.Base(twin) {
					t.Errorf("%s: duplicate of its twin, image_name %q, note %q", rel, r.ImageName, r.Note)
				}
			default:
				t.Errorf("%s: state %s duplicate %v", rel, r.State, r.Duplicate)
			}
			continue
		}
		if r.State != w.state || r.Reason != w.reason {
			t.Errorf("%s: state %q reason %q (%s), want %q %q", rel, r.State, r.Reason, r.Error, w.state, w.reason)
		}
		if w.state == importer.StateRejected && (r.TaskID != "" || r.Error == "") {
			t.Errorf("%s: rejected row has task %q, error %q", rel, r.TaskID, r.Error)
		}
		// The reason is its own field: the error says what was found and
		// what to do, without the reason again or library wording.
		if w.state == importer.StateRejected && (strings.Contains(r.Error, w.reason) || strings.Contains(r.Error, "validate:") || strings.Contains(r.Error, "skip retry")) {
			t.Errorf("%s: rejected row's error %q repeats the reason %q or carries library wording", rel, r.Error, w.reason)
		}
		if w.state == importer.StateQueued && (!strings.HasPrefix(r.TaskID, "upload:"+r.SHA256) || r.Duplicate) {
			t.Errorf("%s: queued row %+v", rel, r)
		}
	}
	if queuedTwins != 1 {
		t.Errorf("%d of the two identical files queued, want 1", queuedTwins)
	}
	if rows["photo.jpg"].TaskID != rows["nested/a/photo-copy.jpg"].TaskID {
		t.Error("identical files got different task IDs")
	}
	// A row names the image_name its task carries: its own when it queued
	// the task, its twin's otherwise.
	jpg := rows["photo.jpg"]
	if jpg.Size != 1353 || jpg.SHA256 != sha(sample(t, "photo.jpg")) || jpg.ImageType != "jpg" ||
		jpg.ImageName != map[bool]string{true: "photo-copy.jpg", false: "photo.jpg"}[jpg.Duplicate] {
		t.Errorf("photo.jpg row = %+v", jpg)
	}
	if got := rows["nested/"+unicodeName]; got.ImageName != unicodeName || got.ImageType != "jpg" {
		t.Errorf("unicode row: name %q type %q", got.ImageName, got.ImageType)
	}
	if got, want := rows["nested/a/"+longName].ImageName, strings.Repeat("x", 124)+".bmp"; got != want {
		t.Errorf("long name became %q (%d runes), want %q", got, len([]rune(got)), want)
	}
	rejected := int64(len(s.want) - 7)
	if sum.Files != int64(len(s.want)) || sum.Queued != 6 || sum.Pending != 1 || sum.Rejected != rejected || sum.OK() {
		t.Errorf("summary = %+v", sum)
	}

	// A second run queues nothing new.
	sum2, rows2, err := runImport(t, ctx, importer.Config{Client: s.client, Paths: []string{s.root}}, s.root)
	if err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if sum2.Queued != 0 || sum2.Pending != 7 || sum2.Rejected != rejected {
		t.Errorf("second summary = %+v", sum2)
	}
	for rel, w := range s.want {
		r := rows2[rel]
		// A file meeting its own task needs no note; the twin that did
		// not queue it meets its twin's again.
		wantNote := rows[rel].Duplicate
		if w.state == importer.StateQueued && (r.State != importer.StatePending || !r.Duplicate || r.TaskID != rows[rel].TaskID || (r.Note != "") != wantNote) {
			t.Errorf("second run %s: %+v", rel, r)
		}
	}
}

func TestImportWaitWithWorker(t *testing.T) {
	t.Parallel()
	s := setup(t)
	w := workertest.Start(t, workertest.Config{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
	ctx := t.Context()
	var (
		mu       sync.Mutex
		progress []importer.Progress
		rowsSeen int
	)
	sum, rows, err := runImport(t, ctx, importer.Config{
		Client: s.client, Paths: []string{s.root}, Wait: true,
		OnRow: func(importer.Row) { rowsSeen++ },
		OnProgress: func(p importer.Progress) {
			mu.Lock()
			progress = append(progress, p)
			mu.Unlock()
		},
		ProgressInterval: 10 * time.Millisecond,
	}, s.root)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	ids := map[string]bool{}
	for rel, want := range s.want {
		r := rows[rel]
		if want.state == importer.StateRejected {
			continue
		}
		if r.State != importer.StateCompleted || r.ImageID == "" || !strings.Contains(r.ImageURL, r.ImageID) || r.Error != "" {
			t.Errorf("%s: %+v, want completed with an image_id", rel, r)
		}
		ids[r.ImageID] = true
	}
	// Six distinct contents: six uploads, the twins share one image_id.
	if len(ids) != 6 || len(w.Gateway.Uploads()) != 6 {
		t.Errorf("%d image_ids, %d uploads at the gateway; want 6", len(ids), len(w.Gateway.Uploads()))
	}
	if sum.Completed != 7 || sum.Queued != 0 || sum.Pending != 0 {
		t.Errorf("summary = %+v", sum)
	}
	// The last progress report comes after the last row, and says so.
	mu.Lock()
	last := progress[len(progress)-1]
	mu.Unlock()
	if last.Phase != importer.PhaseDone || last.Files != sum.Files || last.Completed != 7 || last.Waiting != 0 || int64(rowsSeen) != sum.Files {
		t.Errorf("last progress %+v after %d rows; summary %+v", last, rowsSeen, sum)
	}

	// A later run reports the stored results and uploads nothing.
	sum2, rows2, err := runImport(t, ctx, importer.Config{Client: s.client, Paths: []string{s.root}}, s.root)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Completed != 7 || sum2.Queued != 0 || len(w.Gateway.Uploads()) != 6 {
		t.Errorf("re-run summary %+v, %d uploads", sum2, len(w.Gateway.Uploads()))
	}
	if r := rows2["photo.png"]; r.State != importer.StateCompleted || r.ImageID != rows["photo.png"].ImageID || !r.Duplicate {
		t.Errorf("re-run photo.png = %+v", r)
	}
}

func TestImportRequeueFailed(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "photo.png"), sample(t, "photo.png"))
	client := newClient(t, srv.URL(), root)
	w := workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}})
	// The gateway's first answer has a bad signature: a permanent failure.
	if err := w.Gateway.Faults().Next(alipaytest.FaultBadSignature, 1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cfg := importer.Config{Client: client, Paths: []string{root}, Wait: true}
	sum, rows, err := runImport(t, ctx, cfg, root)
	if err != nil || sum.Failed != 1 || sum.OK() {
		t.Fatalf("first run: %+v, %v", sum, err)
	}
	if r := rows["photo.png"]; r.State != importer.StateFailed || r.Error == "" || r.ImageID != "" {
		t.Fatalf("first run row = %+v", r)
	}
	// Without the flag the failure is reported again, nothing re-run.
	sum, rows, err = runImport(t, ctx, importer.Config{Client: client, Paths: []string{root}}, root)
	if err != nil || sum.Failed != 1 || rows["photo.png"].State != importer.StateFailed || !rows["photo.png"].Duplicate {
		t.Fatalf("second run: %+v %+v, %v", sum, rows["photo.png"], err)
	}
	cfg.RequeueFailed = true
	sum, rows, err = runImport(t, ctx, cfg, root)
	if err != nil || sum.Completed != 1 || !sum.OK() {
		t.Fatalf("requeue run: %+v, %v", sum, err)
	}
	if r := rows["photo.png"]; r.State != importer.StateCompleted || !r.Requeued || r.ImageID == "" {
		t.Errorf("requeue row = %+v", r)
	}
}

func TestImportDryRunQueuesNothing(t *testing.T) {
	t.Parallel()
	s := setup(t)
	sum, rows, err := runImport(t, t.Context(), importer.Config{Client: s.client, Paths: []string{s.root}, DryRun: true}, s.root)
	if err != nil {
		t.Fatal(err)
	}
	if sum.WouldQueue != 7 || sum.Queued != 0 || rows["photo.png"].State != importer.StateWouldQueue || rows["photo.png"].TaskID == "" {
		t.Errorf("dry run: %+v, photo.png %+v", sum, rows["photo.png"])
	}
	if _, err := s.client.Lookup(t.Context(), rows["photo.png"].TaskID); !errors.Is(err, tasks.ErrNotFound) {
		t.Errorf("dry run queued a task: %v", err)
	}
}

func TestImportInterruptedWhileWaiting(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	var rows int
	cfg := importer.Config{Client: s.client, Paths: []string{s.root}, Wait: true, OnRow: func(importer.Row) { rows++ }}
	done := make(chan struct{})
	var (
		sum importer.Summary
		man map[string]importer.Row
		err error
	)
	go func() {
		defer close(done)
		sum, man, err = runImport(t, ctx, cfg, s.root)
	}()
	// No worker runs: once the files are handled, the import waits.
	deadline := time.After(time.Minute)
	for {
		st, lerr := s.client.Lookup(t.Context(), "upload:"+sha(sample(t, "clip.mp4"))+":self")
		if lerr == nil && st.State == tasks.StatePending {
			break
		}
		select {
		case <-deadline:
			t.Fatal("clip.mp4 never queued")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	// Interrupted or not, every file handled is in the manifest.
	if r := man["video/clip.mp4"]; r.State != importer.StateQueued || r.TaskID == "" {
		t.Errorf("clip.mp4 row after interrupt = %+v", r)
	}
	if int64(len(man)) != sum.Files || rows != len(man) {
		t.Errorf("manifest has %d rows, OnRow saw %d, summary counts %d files", len(man), rows, sum.Files)
	}
}

func TestImportRedisUnreachable(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "photo.png"), sample(t, "photo.png"))
	srv := testproc.StartRedis(t)
	client := newClient(t, srv.URL(), root)
	srv.Kill()
	_, _, err := runImport(t, t.Context(), importer.Config{Client: client, Paths: []string{root}}, root)
	if !errors.Is(err, tasks.ErrUnavailable) {
		t.Errorf("Run = %v, want ErrUnavailable", err)
	}
	// Said once, in Redis's or the network's words, with the address to
	// check; none of asynq's wrapping.
	msg := fmt.Sprint(err)
	for _, bad := range []string{"asynq", "UNKNOWN", "redis command error"} {
		if strings.Contains(msg, bad) {
			t.Errorf("Run = %q, carries %q", msg, bad)
		}
	}
	if !strings.HasPrefix(msg, "Redis failed while") || !strings.Contains(msg, "is Redis reachable at "+srv.Addr()) {
		t.Errorf("Run = %q, want it to say Redis failed and ask whether it is reachable at %s", msg, srv.Addr())
	}
}

func TestImportConfigErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	client := newClient(t, "redis://127.0.0.1:1/0", root)
	for name, cfg := range map[string]importer.Config{
		"no client":   {Paths: []string{root}},
		"no paths":    {Client: client},
		"bad pattern": {Client: client, Paths: []string{root}, Filter: importer.Filter{Exclude: []string{"["}}},
		"bad name":    {Client: client, Paths: []string{root}, Name: "template"},
	} {
		if _, err := importer.Run(t.Context(), cfg); !errors.Is(err, importer.ErrConfig) {
			t.Errorf("%s: Run = %v, want ErrConfig", name, err)
		}
	}
}

// watch records what an import reports: its notices, and when it starts
// waiting for its tasks (every file is queued).
type watch struct {
	notices syncbuf.Buffer
	waiting chan struct{}
	once    sync.Once
}

// watchImport makes cfg report to a new watch.
func watchImport(cfg *importer.Config) *watch {
	w := &watch{waiting: make(chan struct{})}
	cfg.OnNotice = func(line string) { fmt.Fprintln(&w.notices, line) }
	cfg.OnProgress = func(p importer.Progress) {
		if p.Phase == importer.PhaseWait {
			w.once.Do(func() { close(w.waiting) })
		}
	}
	cfg.ProgressInterval = 10 * time.Millisecond
	return w
}

// waitWaiting returns once the import waits for its tasks.
func (w *watch) waitWaiting(t *testing.T) {
	t.Helper()
	select {
	case <-w.waiting:
	case <-time.After(time.Minute):
		t.Fatalf("the import never started waiting:\n%s", w.notices.String())
	}
}

func TestImportWaitRidesOutARedisRestart(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t, testproc.RedisOptions{AppendOnly: true})
	root, want := mixedTree(t)
	client := newClient(t, srv.URL(), root)
	cfg := importer.Config{Client: client, Paths: []string{root}, Wait: true}
	w := watchImport(&cfg)
	out := &w.notices
	done := make(chan struct{})
	var (
		sum  importer.Summary
		rows map[string]importer.Row
		err  error
	)
	go func() {
		defer close(done)
		sum, rows, err = runImport(t, t.Context(), cfg, root)
	}()
	// No worker yet: once queued, the import waits. Redis goes away for
	// a while, comes back with its data, and only then a worker runs.
	w.waitWaiting(t)
	srv.Kill()
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), "redis unavailable while waiting") {
		select {
		case <-deadline:
			t.Fatalf("no outage notice:\n%s", out.String())
		case <-done:
			t.Fatalf("Run returned during the outage: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // a few failed polls
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}})
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the import never finished:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	if sum.Completed != 7 || sum.Queued != 0 || sum.Pending != 0 {
		t.Errorf("summary %+v", sum)
	}
	for rel, w := range want {
		if w.state != importer.StateRejected && rows[rel].State != importer.StateCompleted {
			t.Errorf("%s: %+v, want completed", rel, rows[rel])
		}
	}
	if !strings.Contains(out.String(), "redis is back after") {
		t.Errorf("no recovery notice:\n%s", out.String())
	}
}

func TestImportWaitGivesUpAfterWaitOutage(t *testing.T) {
	t.Parallel()
	s := setup(t)
	cfg := importer.Config{Client: s.client, Paths: []string{s.root}, Wait: true, WaitOutage: 300 * time.Millisecond}
	w := watchImport(&cfg)
	out := &w.notices
	done := make(chan struct{})
	var (
		rows map[string]importer.Row
		err  error
	)
	go func() {
		defer close(done)
		_, rows, err = runImport(t, t.Context(), cfg, s.root)
	}()
	w.waitWaiting(t)
	s.redis.Kill()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run kept waiting with Redis gone")
	}
	if !errors.Is(err, importer.ErrWaitAbandoned) || !strings.Contains(err.Error(), "re-run the same command with --wait") {
		t.Fatalf("Run = %v, want ErrWaitAbandoned with what to do", err)
	}
	// What was queued is still in the manifest, as it stood.
	if r := rows["video/clip.mp4"]; r.State != importer.StateQueued || r.TaskID == "" {
		t.Errorf("clip.mp4 row = %+v", r)
	}
	if !strings.Contains(out.String(), "retrying for up to 300ms") {
		t.Errorf("output:\n%s", out.String())
	}
}

// importerGoroutines returns the stacks of the goroutines running code of
// package importer (not its tests).
func importerGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			// A frame in a file of the package that is not a test.
			if strings.Contains(line, "/enqueue/importer/") && !strings.Contains(line, "_test.go:") {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestRunLeavesNoGoroutine interrupts an import while it waits for its
// tasks, with the pre-count and progress reports on, and then one in the
// middle of its files: no goroutine of the package may be left once Run
// has returned. It does not
// run in parallel, so that no other import's goroutines are about.
func TestRunLeavesNoGoroutine(t *testing.T) {
	s := setup(t)
	cfg := importer.Config{Client: s.client, Paths: []string{s.root}, Wait: true}
	w := watchImport(&cfg)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := runImport(t, ctx, cfg, s.root)
		done <- err
	}()
	w.waitWaiting(t)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if left := importerGoroutines(); len(left) > 0 {
		t.Fatalf("%d goroutines left after Run returned:\n%s", len(left), strings.Join(left, "\n\n"))
	}

	// Interrupted at the first row of many: the walk, the pre-count, the
	// workers and the report stop wherever they are.
	many := filepath.Join(s.root, "many")
	png := sample(t, "photo.png")
	for i := range 3000 {
		write(t, filepath.Join(many, fmt.Sprintf("d%02d", i%30), fmt.Sprintf("%04d.png", i)), png)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cfg = importer.Config{Client: s.client, Paths: []string{many}, Workers: 4, Enqueuers: 2,
		OnProgress: func(importer.Progress) {}, OnRow: func(importer.Row) { cancel() }}
	if _, _, err := runImport(t, ctx, cfg, s.root); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if left := importerGoroutines(); len(left) > 0 {
		t.Fatalf("%d goroutines left after Run returned:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// TestImportRefusesBadNames: files whose base names are the shared bad
// names are rejected with bad_name, the answer of every entry point, and
// nothing is queued. Before, the importer replaced invalid UTF-8 with
// U+FFFD and queued it, and queued bidi overrides and zero-width names.
func TestImportRefusesBadNames(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	for _, c := range badnames.Cases {
		write(t, filepath.Join(root, c.Name), sample(t, "photo.png"))
	}
	client := newClient(t, srv.URL(), root)
	var man bytes.Buffer
	sum, err := importer.Run(t.Context(), importer.Config{Client: client, Paths: []string{root}, Manifest: &man, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Queued != 0 || sum.Rejected != int64(len(badnames.Cases)) {
		t.Errorf("summary %+v, want %d rejected and none queued\n%s", sum, len(badnames.Cases), man.String())
	}
	sc := bufio.NewScanner(&man)
	for sc.Scan() {
		var r importer.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.State != importer.StateRejected || r.Reason != string(validate.ReasonBadName) {
			t.Errorf("row %+v, want rejected bad_name", r)
		}
	}
}
