package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/cmd/demo/internal/demo"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// TestRunOnce runs the whole demo in-process (as `demo -once` does) on a
// private Redis and checks the table, the dashboard and the metrics while
// it is still running.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	var out bytes.Buffer
	ready := false
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := demo.Run(ctx, demo.Config{
		RedisURL: "redis://" + rs.Addr() + "/5",
		Dir:      t.TempDir(),
		HTTPAddr: "127.0.0.1:0",
		Once:     true,
		Out:      &out,
		Logger:   alipaytest.TestLogger(t),
		OnReady: func(rep demo.Report) {
			ready = true
			checkDashboard(t, rep)
			checkMetrics(t, rep)
		},
	})
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !ready {
		t.Fatal("OnReady was not called")
	}
	if len(rep.Rows) != len(demo.Samples()) || len(rep.Problems) != 0 {
		t.Fatalf("rows %d (want %d), problems %q", len(rep.Rows), len(demo.Samples()), rep.Problems)
	}
	text := out.String()
	for _, r := range rep.Rows {
		if r.State == importer.StateCompleted && !strings.Contains(text, r.ImageID) {
			t.Errorf("table does not show %s's image_id %s", r.Path, r.ImageID)
		}
	}
	for _, want := range []string{"FILE", "IMAGE_ID / REASON", "store/broken/notes.jpg", "unsupported_type", "too_large",
		"merchant/shop-sign.jpg", "failed", "20001", "dashboard:  " + rep.DashboardURL} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The worker runs before the import, which has nothing to warn about.
	if strings.Contains(text, "no running worker") {
		t.Error("the import warned that no worker runs, with the demo's worker running")
	}
	if strings.Contains(text, demo.RefusedMerchantToken) {
		t.Error("output shows the merchant token")
	}
	// Everything was stopped: the dashboard no longer answers.
	if resp, err := http.Get(rep.DashboardURL); err == nil {
		resp.Body.Close()
		t.Errorf("dashboard still answers after Run returned")
	}
}

func checkDashboard(t *testing.T, rep demo.Report) {
	t.Helper()
	api := rep.DashboardURL + "api/queues/" + demo.DefaultQueue + "/"
	body := func(path string) string {
		resp, err := http.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if strings.Contains(string(b), demo.RefusedMerchantToken) {
			t.Errorf("GET %s shows the merchant token", path)
		}
		return string(b)
	}
	var archived struct {
		Tasks []struct {
			Payload string `json:"payload"`
			Error   string `json:"error_message"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body("archived_tasks")), &archived); err != nil {
		t.Fatal(err)
	}
	if len(archived.Tasks) != 1 || !strings.Contains(archived.Tasks[0].Error, "20001") ||
		!strings.Contains(archived.Tasks[0].Payload, `"sealed_token": "[redacted]"`) || strings.Contains(archived.Tasks[0].Payload, demo.RefusedMerchantToken) {
		t.Errorf("archived tasks: %+v", archived.Tasks)
	}
	completed := body("completed_tasks")
	for _, r := range rep.Rows {
		if r.State == importer.StateCompleted && !strings.Contains(completed, r.ImageID) {
			t.Errorf("dashboard's completed list lacks %s (%s)", r.ImageID, r.Path)
		}
	}
}

func checkMetrics(t *testing.T, rep demo.Report) {
	t.Helper()
	f, err := promtext.Scrape(nil, rep.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	f.Check(t, 5, "alipay_media_uploads_total", "outcome", "success")
	f.Check(t, 1, "alipay_media_upload_rejections_total", "reason", "alipay_20001")
	f.Check(t, 5, "asynq_queue_tasks", "queue", demo.DefaultQueue, "state", "completed")
	f.Check(t, 1, "asynq_queue_tasks", "queue", demo.DefaultQueue, "state", "archived")
}
