package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestSweepSpool(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := t.Context()
	later := httpapi.SweepOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	sweep := func(opt httpapi.SweepOptions) httpapi.SweepResult {
		t.Helper()
		res, err := s.api.SweepSpool(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	post := func(name string) httpapi.Task {
		t.Helper()
		a := s.postFile(t, nil, name, bytes.NewReader(sample(t, name)))
		if a.status != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s", name, a.status, a.errorMsg)
		}
		return a.task
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
	defer insp.Close()

	// A queued file is kept, inside the grace period or not.
	png := post("photo.png")
	if res := sweep(httpapi.SweepOptions{}); res.Young != 1 || res.Removed != 0 || !exists(png.Path) {
		t.Fatalf("fresh file: %+v", res)
	}
	if res := sweep(later); res.Kept != 1 || res.Removed != 0 || !exists(png.Path) {
		t.Fatalf("queued file two hours later: %+v", res)
	}
	// Archived: it may be run again, so it stays.
	if err := insp.ArchiveTask(tasks.QueueDefault, png.TaskID); err != nil {
		t.Fatal(err)
	}
	if res := sweep(later); res.Kept != 1 || !exists(png.Path) {
		t.Fatalf("archived file: %+v", res)
	}
	// Deleted from Redis: nothing proves it finished (Redis may have
	// lost it), so it stays, counted as unproven, until removed by hand.
	if err := insp.DeleteTask(tasks.QueueDefault, png.TaskID); err != nil {
		t.Fatal(err)
	}
	if res := sweep(later); res.Unproven != 1 || res.Removed != 0 || !exists(png.Path) {
		t.Fatalf("file of a deleted task: %+v", res)
	}
	if err := os.Remove(png.Path); err != nil {
		t.Fatal(err)
	}

	// Names the server did not write, and files without a record of
	// their tasks, stay; a dead request's temporary file goes.
	untracked := filepath.Join(s.spool, strings.Repeat("ab", 32)+".jpg")
	other := filepath.Join(s.spool, "notes.txt")
	tmp := filepath.Join(s.spool, ".upload-123.part")
	for _, p := range []string{untracked, other, tmp} {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// However short the grace, a request may still be writing it.
	if res := sweep(httpapi.SweepOptions{Grace: time.Nanosecond, Now: func() time.Time { return time.Now().Add(time.Minute) }}); res.Removed != 0 || !exists(tmp) {
		t.Fatalf("a temporary file a minute old: %+v, exists %v", res, exists(tmp))
	}
	if res := sweep(later); res.Untracked != 1 || res.Removed != 0 || !exists(untracked) || !exists(other) || exists(tmp) {
		t.Fatalf("untracked and foreign files: %+v", res)
	}
	if err := os.Remove(untracked); err != nil {
		t.Fatal(err)
	}

	// Completed: the upload is done, the file goes.
	gif := post("anim.gif")
	workertest.Start(t, workertest.Config{RedisURL: "redis://" + s.redis.Addr() + "/0", MediaRoots: []string{s.root}})
	testproc.WaitFor(t, time.Minute, "the gif's upload to complete", func() bool {
		return s.do(t, "GET", "/v1/uploads/"+gif.TaskID, "", nil, "Bearer "+token).task.State == "completed"
	})
	if res := sweep(httpapi.SweepOptions{}); res.Young != 1 || !exists(gif.Path) {
		t.Fatalf("completed but fresh: %+v", res)
	}
	if res := sweep(later); res.Removed != 1 || exists(gif.Path) {
		t.Fatalf("completed file two hours later: %+v", res)
	}
	// Sent again after that: the completed task answers, the file is
	// stored again for it, and a later sweep removes it again.
	again := s.postFile(t, nil, "anim.gif", bytes.NewReader(sample(t, "anim.gif")))
	if again.status != http.StatusOK || !again.task.Duplicate || again.task.State != "completed" || !exists(gif.Path) {
		t.Fatalf("re-sent gif: %d %+v", again.status, again.task)
	}
	if res := sweep(later); res.Removed != 1 || exists(gif.Path) {
		t.Fatalf("re-sent completed file: %+v", res)
	}
}

// TestSweepWaitsForARequestOfAnotherServer: two servers share a spool. While
// one holds a file's lock to hand it to a new task, the other's sweep
// waits, then sees the new task and keeps the file; a file sent again is
// touched, so its grace period starts anew.
func TestSweepWaitsForARequestOfAnotherServer(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := t.Context()
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}, Sealer: testSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	other, err := httpapi.New(httpapi.Config{Client: client, Token: token, SpoolDir: s.spool})
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
	defer insp.Close()

	a := s.postFile(t, nil, "photo.png", bytes.NewReader(sample(t, "photo.png")))
	if a.status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", a.status, a.errorMsg)
	}
	// The task completes; then no worker runs.
	w, err := workertest.New(workertest.Config{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := client.Wait(ctx, a.task.TaskID); err != nil || st.State != tasks.StateCompleted {
		t.Fatalf("the first task: %+v %v", st, err)
	}
	w.Stop()
	// Now nothing needs the file. This server takes its lock, as a
	// request for another merchant would, and gives it to a new task.
	name := filepath.Base(a.task.Path)
	add, unlock, err := s.api.LockSpoolRefs(name)
	if err != nil {
		t.Fatal(err)
	}
	later := httpapi.SweepOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	swept := make(chan httpapi.SweepResult, 1)
	go func() {
		res, err := other.SweepSpool(ctx, later)
		if err != nil {
			t.Error(err)
		}
		swept <- res
	}()
	time.Sleep(200 * time.Millisecond) // the other server's sweep reaches the lock
	enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: a.task.Path, ImageName: "again.png", ImagePID: "2088000000000009"})
	if err != nil {
		t.Fatal(err)
	}
	if err := add(enq.ID); err != nil {
		t.Fatal(err)
	}
	unlock()
	if res := <-swept; res.Kept != 1 || res.Removed != 0 || !exists(a.task.Path) {
		t.Fatalf("sweep by the other server: %+v; the file of the new task must stay", res)
	}

	// Sent again long after it was first written: touched.
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(a.task.Path, old, old); err != nil {
		t.Fatal(err)
	}
	again := s.postFile(t, map[string]string{"image_pid": "2088000000000010"}, "photo.png", bytes.NewReader(sample(t, "photo.png")))
	if again.status != http.StatusAccepted || again.task.Path != a.task.Path {
		t.Fatalf("POST again: %d %+v", again.status, again.task)
	}
	if fi, err := os.Stat(a.task.Path); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("a file sent again was not touched: %v %v", fi.ModTime(), err)
	}
}

// refLines returns the lines of a spooled file's refs record.
func refLines(t *testing.T, spool, path string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(spool, ".refs", filepath.Base(path)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// TestPathRequestIntoSpoolKeepsFile (issue 12, item 11): a JSON request
// naming a spooled file (the path an earlier upload's task showed), for
// another merchant, queues a second task for that file. Before, that task
// was not recorded, and once the first task was gone the sweep deleted the
// file under the pending second one. A symbolic link into the spool, and
// the spool's own bookkeeping, cannot be named at all.
func TestPathRequestIntoSpoolKeepsFile(t *testing.T) {
	t.Parallel()
	s := setup(t)
	later := httpapi.SweepOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	up := s.postFile(t, nil, "photo.png", bytes.NewReader(sample(t, "photo.png")))
	if up.status != http.StatusAccepted {
		t.Fatalf("POST file: %d %s", up.status, up.errorMsg)
	}
	spooled := up.task.Path
	byPath := s.postJSON(t, `{"path":"`+spooled+`","app_auth_token":"merchant-b"}`)
	if byPath.status != http.StatusAccepted || byPath.task.TaskID == up.task.TaskID || byPath.task.Path != spooled {
		t.Fatalf("POST path in the spool: %d %+v %s", byPath.status, byPath.task, byPath.errorMsg)
	}
	again := s.postJSON(t, `{"path":"`+spooled+`","app_auth_token":"merchant-c"}`)
	if again.status != http.StatusAccepted || again.task.Path != spooled {
		t.Fatalf("POST path in the spool for a third merchant: %d %+v %s", again.status, again.task, again.errorMsg)
	}
	// A relative link inside the root is fine for the media root, but the
	// sweep could not tell its task needs the spooled file: refused.
	link := filepath.Join(s.root, "link.png")
	if err := os.Symlink(filepath.Join(".spool", filepath.Base(spooled)), link); err != nil {
		t.Fatal(err)
	}
	if a := s.postJSON(t, `{"path":"`+link+`","app_auth_token":"merchant-d"}`); a.status != http.StatusForbidden || a.errCode != "in_spool" {
		t.Errorf("POST symbolic link to the spooled file: %d %s %s, want 403 in_spool", a.status, a.errCode, a.errorMsg)
	}

	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
	defer insp.Close()
	for _, id := range []string{up.task.TaskID, byPath.task.TaskID} {
		if err := insp.DeleteTask(tasks.QueueDefault, id); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.api.SweepSpool(t.Context(), later)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 1 || res.Removed != 0 || !exists(spooled) {
		t.Fatalf("sweep with the third task still pending: %+v, file exists %v", res, exists(spooled))
	}
	// Once every task is gone from Redis, nothing proves they finished
	// (issue 12, item 5): the file stays, counted as unproven.
	if err := insp.DeleteTask(tasks.QueueDefault, again.task.TaskID); err != nil {
		t.Fatal(err)
	}
	if res, err := s.api.SweepSpool(t.Context(), later); err != nil || res.Unproven != 1 || res.Removed != 0 || !exists(spooled) {
		t.Fatalf("sweep once every task is gone: %+v %v", res, err)
	}

	tmp := filepath.Join(s.spool, ".upload-1.part")
	if err := os.WriteFile(tmp, sample(t, "photo.jpg"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tmp, filepath.Join(s.spool, ".refs"), s.spool} {
		if a := s.postJSON(t, `{"path":"`+p+`"}`); a.status != http.StatusForbidden || a.errCode != "in_spool" {
			t.Errorf("POST %s: %d %s, want 403 in_spool", p, a.status, a.errCode)
		}
	}
}

// TestSpoolRefsRecordEachTaskOnce (issue 12, item 16): sending the same
// file again, as a file or by its spool path, does not grow its refs
// record; before, every duplicate added a line.
func TestSpoolRefsRecordEachTaskOnce(t *testing.T) {
	t.Parallel()
	s := setup(t)
	png := sample(t, "photo.png")
	var first httpapi.Task
	for i := range 5 {
		a := s.postFile(t, nil, "photo.png", bytes.NewReader(png))
		if a.status != http.StatusAccepted && a.status != http.StatusOK {
			t.Fatalf("POST %d: %d %s", i, a.status, a.errorMsg)
		}
		first = a.task
	}
	for range 3 {
		if a := s.postJSON(t, `{"path":"`+first.Path+`"}`); a.status != http.StatusOK || !a.task.Duplicate {
			t.Fatalf("POST by path: %d %+v %s", a.status, a.task, a.errorMsg)
		}
	}
	if lines := refLines(t, s.spool, first.Path); len(lines) != 1 || lines[0] != first.TaskID {
		t.Errorf("refs record after 8 sends of one task: %q, want the task once", lines)
	}
	other := s.postJSON(t, `{"path":"`+first.Path+`","app_auth_token":"merchant-b"}`)
	if other.status != http.StatusAccepted {
		t.Fatalf("POST for another merchant: %d %s", other.status, other.errorMsg)
	}
	if lines := refLines(t, s.spool, first.Path); len(lines) != 2 || lines[1] != other.task.TaskID {
		t.Errorf("refs record with a second task: %q", lines)
	}
}

// TestSweepKeepsFilesAfterRedisLostItsData (issue 12, item 5): a
// multipart upload is accepted, then Redis restarts without persistence
// and comes back empty. The sweep cannot find the task; it must keep the
// spooled file (the only copy of an accepted upload), and the server must
// say loudly that Redis lost its data. Before, "task not found" counted as
// finished and the file was deleted.
func TestSweepKeepsFilesAfterRedisLostItsData(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t) // no persistence
	root := t.TempDir()
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{root}, Logger: log, Sealer: testSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	api, err := httpapi.New(httpapi.Config{Client: client, Token: token, SpoolDir: filepath.Join(root, ".spool"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s := apiSetup{api: api, http: http.DefaultClient, redis: srv, root: root}
	s.url = s.serve(t)
	a := s.postFile(t, nil, "photo.png", bytes.NewReader(sample(t, "photo.png")))
	if a.status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", a.status, a.errorMsg)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	res, err := api.SweepSpool(t.Context(), httpapi.SweepOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if !exists(a.task.Path) {
		t.Fatalf("the spooled file of an accepted upload was deleted after Redis lost its data: %+v", res)
	}
	if res.Removed != 0 || res.Unproven != 1 {
		t.Errorf("sweep %+v, want 0 removed and 1 unproven", res)
	}
	if !strings.Contains(logs.String(), "REDIS LOST ITS DATA") {
		t.Errorf("no warning that Redis lost its data in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), a.task.TaskID) {
		t.Errorf("the log does not name the task the kept file belongs to:\n%s", logs.String())
	}
}
