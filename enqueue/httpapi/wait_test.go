package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// waitSetup is an API served by Serve on loopback, whose client polls
// every poll, with its request log.
type waitSetup struct {
	url   string
	root  string
	redis *testproc.Redis
	logs  *syncbuf.Buffer
	stop  context.CancelFunc // stops Serve
	done  chan error         // Serve's result
}

func setupWait(t *testing.T, poll time.Duration) waitSetup {
	t.Helper()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "photo.jpg"), sample(t, "photo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{root}, PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	logs := &syncbuf.Buffer{}
	api, err := httpapi.New(httpapi.Config{Client: client, Token: token, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return waitSetup{url: "http://" + ln.Addr().String(), root: root, redis: srv, logs: logs, stop: cancel, done: done}
}

// get sends an authenticated GET and decodes the task or error it answers.
func (s waitSetup) get(ctx context.Context, path string) (int, httpapi.Task, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	if err != nil {
		return 0, httpapi.Task{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, httpapi.Task{}, err
	}
	defer resp.Body.Close()
	var task httpapi.Task
	err = json.NewDecoder(resp.Body).Decode(&task)
	return resp.StatusCode, task, err
}

// enqueue queues photo.jpg through the API and returns its Location.
func (s waitSetup) enqueue(t *testing.T) string {
	t.Helper()
	body := `{"path":"` + filepath.Join(s.root, "photo.jpg") + `"}`
	req, err := http.NewRequestWithContext(t.Context(), "POST", s.url+"/v1/uploads", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// TestLongPollReturnsOnCompletion: with a poll interval longer than the
// wait, the long poll still answers with the completed task: the worker's
// notice woke it.
func TestLongPollReturnsOnCompletion(t *testing.T) {
	t.Parallel()
	s := setupWait(t, 10*time.Minute)
	loc := s.enqueue(t)
	workertest.Start(t, workertest.Config{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
	status, task, err := s.get(t.Context(), loc+"?wait=60s")
	if err != nil || status != http.StatusOK || task.State != "completed" || string(task.Result) == "null" {
		t.Fatalf("GET ?wait=60s = %d %+v, %v; want the completed task", status, task, err)
	}
}

// TestLongPollDeadline: without a worker, the long poll answers with the
// current state once the wait is over; a bad wait is a 400.
func TestLongPollDeadline(t *testing.T) {
	t.Parallel()
	s := setupWait(t, 50*time.Millisecond)
	loc := s.enqueue(t)
	start := time.Now()
	status, task, err := s.get(t.Context(), loc+"?wait=300ms")
	if err != nil || status != http.StatusOK || task.State != "pending" {
		t.Fatalf("GET ?wait=300ms = %d %+v, %v; want the pending task", status, task, err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("the long poll answered after %v, before its wait of 300ms", waited)
	}
	for _, bad := range []string{"soon", "-1s", "1.5"} {
		if status, _, _ := s.get(t.Context(), loc+"?wait="+bad); status != http.StatusBadRequest {
			t.Errorf("GET ?wait=%s = %d, want 400", bad, status)
		}
	}
	if status, task, err := s.get(t.Context(), loc+"?wait=1"); err != nil || status != http.StatusOK || task.State != "pending" {
		t.Errorf("GET ?wait=1 (seconds) = %d %+v, %v", status, task, err)
	}
}

// TestLongPollEndsOnShutdown: a server asked to stop answers its long
// polls at once with the current state, and a client that leaves ends its
// long poll on the server.
func TestLongPollEndsOnShutdown(t *testing.T) {
	t.Parallel()
	s := setupWait(t, time.Second)
	loc := s.enqueue(t)

	// A client that leaves: the server ends the request (and logs it)
	// long before the wait is over.
	leaving, leave := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() {
		_, _, err := s.get(leaving, loc+"?wait=60s")
		left <- err
	}()
	time.Sleep(200 * time.Millisecond)
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the leaving client got %v", err)
	}
	waitForLog(t, s.logs, "method=GET", 1)

	type answer struct {
		status int
		task   httpapi.Task
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		status, task, err := s.get(context.Background(), loc+"?wait=60s")
		got <- answer{status, task, err}
	}()
	time.Sleep(200 * time.Millisecond)
	s.stop()
	select {
	case a := <-got:
		if a.err != nil || a.status != http.StatusOK || a.task.State != "pending" {
			t.Fatalf("long poll at shutdown = %d %+v, %v; want the pending task", a.status, a.task, a.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the long poll did not end with the server")
	}
	if err := <-s.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	s.done <- nil // for the cleanup
}

// waitForLog waits until the request log holds n lines containing sub.
func waitForLog(t *testing.T, logs *syncbuf.Buffer, sub string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(logs.String(), sub) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the log has %d lines with %q, want %d:\n%s", strings.Count(logs.String(), sub), sub, n, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
