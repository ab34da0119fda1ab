package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// token is a merchant app_auth_token that the browser must never show.
const token = "202611BBbrowserTokenSECRET77"

const queue = "uploads"

// copyFile copies a shared sample into the media root.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// enqueue queues an upload the way an application does with
// tasks.NewUploadTask, without the client-side check, so that a bad file
// reaches the worker and is archived there.
func enqueue(t *testing.T, c *asynq.Client, path string) string {
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
	task, err := tasks.NewUploadTask(tasks.UploadPayload{
		Version: tasks.PayloadVersion1, Path: path, ImageName: filepath.Base(path), AppAuthToken: token, SHA256: sum, Size: size,
	}, asynq.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// TestDashboardInBrowser runs a worker with its dashboard against the
// gateway emulator, uploads one good and one bad file, and reads the
// completed task's image_id and the archived task's reason from the page
// Chromium renders.
func TestDashboardInBrowser(t *testing.T) {
	requireTools(t) // fail fast, before starting anything
	rs := testproc.StartRedis(t)
	emu := alipaytest.Start(t, alipaytest.Config{})
	media := t.TempDir()
	good, bad := filepath.Join(media, "storefront.jpg"), filepath.Join(media, "notes.jpg")
	copyFile(t, filepath.Join("..", "..", "..", "testdata", "media", "photo.jpg"), good)
	copyFile(t, filepath.Join("..", "..", "..", "testdata", "media", "bad", "text.jpg"), bad)

	logger := alipaytest.TestLogger(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr()}
	w, err := worker.New(context.Background(), worker.Config{
		Redis:      opt,
		GatewayURL: emu.URL,
		AppID:      alipaytest.TestAppID,
		Keys:       upload.Keys{Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: emu.PublicKey()},
		MediaRoots: []string{media},
		Queues:     map[string]int{queue: 1},
		HTTP:       &dashboard.Config{Addr: "127.0.0.1:0"},
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()

	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	goodID := enqueue(t, client, good)
	badID := enqueue(t, client, bad)

	deadline := time.Now().Add(2 * time.Minute)
	var goodInfo, badInfo *asynq.TaskInfo
	for {
		goodInfo, _ = insp.GetTaskInfo(queue, goodID)
		badInfo, _ = insp.GetTaskInfo(queue, badID)
		if goodInfo != nil && badInfo != nil && goodInfo.State == asynq.TaskStateCompleted && badInfo.State == asynq.TaskStateArchived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks not finished in time: good %+v, bad %+v", goodInfo, badInfo)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var result struct {
		ImageID string `json:"image_id"`
	}
	if err := json.Unmarshal(goodInfo.Result, &result); err != nil || result.ImageID == "" {
		t.Fatalf("completed task result %q: %v", goodInfo.Result, err)
	}
	if !strings.Contains(badInfo.LastErr, "unsupported_type") {
		t.Fatalf("archived task error %q does not give the reason unsupported_type", badInfo.LastErr)
	}

	r := runScript(t, w.URL(), queue, artifactsDir(t), token)
	if r.Title != "Asynq - Monitoring" {
		t.Errorf("page title %q", r.Title)
	}
	if !slices.Contains(r.Completed.ImageIDs, result.ImageID) {
		t.Errorf("the completed page shows image_ids %q, want %q", r.Completed.ImageIDs, result.ImageID)
	}
	if !slices.Contains(r.CompletedTask.ImageIDs, result.ImageID) || !strings.Contains(r.CompletedTask.URL, "/tasks/") {
		t.Errorf("the task page %s shows image_ids %q, want %q", r.CompletedTask.URL, r.CompletedTask.ImageIDs, result.ImageID)
	}
	if len(r.Screenshots) != 4 {
		t.Errorf("screenshots %q, want 4", r.Screenshots)
	}
	if len(r.Archived.Rows) != 1 || !strings.Contains(r.Archived.Rows[0], "unsupported_type") ||
		!strings.Contains(r.Archived.Rows[0], "notes.jpg") {
		t.Errorf("the archived page shows %q, want notes.jpg rejected as unsupported_type", r.Archived.Rows)
	}
	if len(r.Leaks) != 0 {
		t.Errorf("the browser showed the app_auth_token: %q", r.Leaks)
	}
	for _, row := range append(r.Completed.Rows, r.Archived.Rows...) {
		if !strings.Contains(row, `"app_auth_token": "[redacted]"`) {
			t.Errorf("row does not show the token as redacted: %q", row)
		}
	}
	for _, shot := range r.Screenshots {
		f, err := os.Open(shot)
		if err != nil {
			t.Errorf("screenshot: %v", err)
			continue
		}
		head := make([]byte, 8)
		_, err = io.ReadFull(f, head)
		f.Close()
		if err != nil || !bytes.Equal(head, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot %s is not a PNG (%v)", shot, err)
		}
	}
	t.Logf("screenshots: %s", strings.Join(r.Screenshots, ", "))
}
