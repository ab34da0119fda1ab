package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/testworker"
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
	// Deleted from Redis: nothing needs it any more.
	if err := insp.DeleteTask(tasks.QueueDefault, png.TaskID); err != nil {
		t.Fatal(err)
	}
	if res := sweep(later); res.Removed != 1 || res.Bytes != png.Size || exists(png.Path) || exists(filepath.Join(s.spool, ".refs", filepath.Base(png.Path))) {
		t.Fatalf("file of a deleted task: %+v", res)
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
	if res := sweep(later); res.Untracked != 1 || res.Removed != 0 || !exists(untracked) || !exists(other) || exists(tmp) {
		t.Fatalf("untracked and foreign files: %+v", res)
	}
	if err := os.Remove(untracked); err != nil {
		t.Fatal(err)
	}

	// Completed: the upload is done, the file goes.
	gif := post("anim.gif")
	testworker.Start(t, testworker.Config{RedisURL: "redis://" + s.redis.Addr() + "/0", MediaRoots: []string{s.root}})
	deadline := time.Now().Add(time.Minute)
	for {
		if got := s.do(t, "GET", "/v1/uploads/"+gif.TaskID, "", nil, "Bearer "+token); got.task.State == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gif never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
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
	if err := insp.DeleteTask(tasks.QueueDefault, a.task.TaskID); err != nil {
		t.Fatal(err)
	}
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
