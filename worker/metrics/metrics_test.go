package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/storemedia/alipay-media-worker/internal/buildinfo"
	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// Uploads is what the task handler reports to.
var _ tasks.Observer = (*metrics.Uploads)(nil)

// scrape serves reg over real HTTP and parses what a Prometheus server
// would read.
func scrape(t *testing.T, reg *prometheus.Registry) promtext.Families {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	fams, err := promtext.Scrape(srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// queueSetup starts a private Redis and returns its connection option
// with an asynq client and inspector on it, closed when the test ends.
func queueSetup(t *testing.T) (asynq.RedisClientOpt, *asynq.Client, *asynq.Inspector) {
	rs := testproc.StartRedis(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr()}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })
	return opt, client, insp
}

func TestQueueCollectorReadsRedis(t *testing.T) {
	t.Parallel()
	_, client, insp := queueSetup(t)

	enqueue := func(id, queue string, opts ...asynq.Option) {
		t.Helper()
		opts = append(opts, asynq.Queue(queue), asynq.TaskID(id))
		if _, err := client.Enqueue(asynq.NewTask("test:noop", []byte(`{}`)), opts...); err != nil {
			t.Fatalf("enqueue %s: %v", id, err)
		}
	}
	enqueue("p1", "photos")
	enqueue("p2", "photos")
	enqueue("p3", "photos")
	enqueue("s1", "photos", asynq.ProcessIn(time.Hour))
	enqueue("v1", "videos")
	if err := insp.ArchiveTask("photos", "p3"); err != nil {
		t.Fatal(err)
	}
	if err := insp.PauseQueue("videos"); err != nil {
		t.Fatal(err)
	}

	reg, err := metrics.NewRegistry(insp, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := scrape(t, reg)
	f.Check(t, 1, "asynq_inspector_up")
	f.Check(t, 2, "asynq_queue_tasks", "queue", "photos", "state", "pending")
	f.Check(t, 1, "asynq_queue_tasks", "queue", "photos", "state", "scheduled")
	f.Check(t, 1, "asynq_queue_tasks", "queue", "photos", "state", "archived")
	f.Check(t, 0, "asynq_queue_tasks", "queue", "photos", "state", "active")
	f.Check(t, 4, "asynq_queue_size", "queue", "photos")
	f.Check(t, 1, "asynq_queue_tasks", "queue", "videos", "state", "pending")
	f.Check(t, 0, "asynq_queue_paused", "queue", "photos")
	f.Check(t, 1, "asynq_queue_paused", "queue", "videos")
	f.Check(t, 0, "asynq_tasks_processed_total", "queue", "photos")
	f.Check(t, 0, "asynq_tasks_failed_total", "queue", "photos")
	if lat, err := f.Value("asynq_queue_latency_seconds", "queue", "photos"); err != nil || lat < 0 {
		t.Errorf("latency = %v, %v; want a non-negative value", lat, err)
	}
	// The registry also carries the runtime collectors.
	if _, err := f.Value("go_goroutines"); err != nil {
		t.Errorf("go collector missing: %v", err)
	}
	// And the build, as --version names it.
	bi := buildinfo.Read()
	f.Check(t, 1, "alipay_media_build_info", "version", bi.Version, "revision", bi.Revision, "go_version", bi.GoVersion)
}

func TestQueueCollectorCountsProcessedAndFailed(t *testing.T) {
	t.Parallel()
	opt, client, insp := queueSetup(t)
	for _, id := range []string{"ok1", "ok2", "bad"} {
		if _, err := client.Enqueue(asynq.NewTask("test:"+id, nil), asynq.TaskID(id), asynq.MaxRetry(0)); err != nil {
			t.Fatal(err)
		}
	}
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 2, LogLevel: asynq.FatalLevel})
	done := make(chan struct{})
	mux := asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		if task.Type() == "test:bad" {
			return errors.New("broken on purpose")
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	go func() {
		defer close(done)
		for {
			in, err := insp.GetQueueInfo("default")
			if err == nil && in.ProcessedTotal == 3 && in.Archived == 1 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("tasks not processed within 30s")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueueCollector(insp, nil))
	f := scrape(t, reg)
	f.Check(t, 3, "asynq_tasks_processed_total", "queue", "default")
	f.Check(t, 1, "asynq_tasks_failed_total", "queue", "default")
	f.Check(t, 1, "asynq_queue_tasks", "queue", "default", "state", "archived")
}

type brokenInspector struct{}

func (brokenInspector) Queues() ([]string, error) { return []string{"default"}, nil }
func (brokenInspector) GetQueueInfo(string) (*asynq.QueueInfo, error) {
	return nil, errors.New("redis: connection refused")
}

func TestQueueCollectorReportsRedisDown(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueueCollector(brokenInspector{}, nil))
	f := scrape(t, reg)
	f.Check(t, 0, "asynq_inspector_up")
	if _, err := f.Value("asynq_queue_size"); err == nil {
		t.Error("queue metrics exported although Redis could not be read")
	}
}

func TestUploadsScrape(t *testing.T) {
	t.Parallel()
	u := metrics.NewUploads()
	reg, err := metrics.NewRegistry(nil, nil, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []tasks.Attempt{
		{Outcome: tasks.OutcomeSuccess, Bytes: 1000, Duration: 200 * time.Millisecond},
		{Outcome: tasks.OutcomeSuccess, Bytes: 2500, Duration: 3 * time.Second},
		{Outcome: tasks.OutcomeRetry, Reason: "transport", Duration: time.Second},
		{Outcome: tasks.OutcomeThrottled, Reason: "alipay_40005", Duration: time.Second},
		{Outcome: tasks.OutcomeRejected, Reason: "type_mismatch", Duration: 10 * time.Millisecond},
		{Outcome: tasks.OutcomeRejected, Reason: "too_large"},
		{Outcome: tasks.OutcomeRejected, Reason: "too_large"},
	} {
		u.Observe(a)
	}

	f := scrape(t, reg)
	f.Check(t, 2, "alipay_media_uploads_total", "outcome", "success", "reason", "")
	f.Check(t, 1, "alipay_media_uploads_total", "outcome", "retry", "reason", "transport")
	f.Check(t, 1, "alipay_media_uploads_total", "outcome", "rejected", "reason", "type_mismatch")
	f.Check(t, 3500, "alipay_media_upload_bytes_total")
	f.Check(t, 2, "alipay_media_upload_duration_seconds", "outcome", "success")
	if s, err := f.Sum("alipay_media_upload_duration_seconds", "outcome", "success"); err != nil || s != 3.2 {
		t.Errorf("success duration sum = %v, %v; want 3.2", s, err)
	}
	f.Check(t, 1, "alipay_media_upload_retries_total", "reason", "transport")
	f.Check(t, 1, "alipay_media_upload_throttled_total")
	f.Check(t, 1, "alipay_media_upload_rejections_total", "reason", "type_mismatch")
	f.Check(t, 2, "alipay_media_upload_rejections_total", "reason", "too_large")
	f.Check(t, 1, "alipay_media_uploads_total", "outcome", "throttled", "reason", "alipay_40005")
	f.Check(t, 2, "alipay_media_uploads_total", "outcome", "rejected", "reason", "too_large")
}

// TestUploadsBoundsReasonLabels: reasons outside tasks.KnownReasons (30
// invented gateway codes, unsigned or not, a long invalid string) all count
// under "other": 32 failed tasks make one series per outcome, not 64 (before,
// each new code was a new label value).
func TestUploadsBoundsReasonLabels(t *testing.T) {
	t.Parallel()
	u := metrics.NewUploads()
	reg := prometheus.NewRegistry()
	reg.MustRegister(u)
	for i := range 30 {
		reason := fmt.Sprintf("alipay_%d", 50000+i)
		if i%2 == 1 {
			reason += "_unsigned"
		}
		u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRejected, Reason: reason})
		u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRetry, Reason: "http_" + fmt.Sprint(600+i)})
	}
	u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRejected, Reason: "x\xff" + string(make([]byte, 200))})
	u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRejected, Reason: "alipay_40004_unsigned"})
	u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRejected, Reason: "alipay_invalid-parameter"})
	f := scrape(t, reg)
	f.Check(t, 31, "alipay_media_upload_rejections_total", "reason", "other")
	f.Check(t, 1, "alipay_media_upload_rejections_total", "reason", "alipay_40004_unsigned")
	f.Check(t, 1, "alipay_media_upload_rejections_total", "reason", "alipay_invalid-parameter")
	f.Check(t, 30, "alipay_media_upload_retries_total", "reason", "other")
	if n := len(f["alipay_media_uploads_total"].GetMetric()); n != 4 {
		t.Errorf("alipay_media_uploads_total has %d series, want 4", n)
	}
}

func TestNewRegistryRejectsDuplicates(t *testing.T) {
	t.Parallel()
	u := metrics.NewUploads()
	if _, err := metrics.NewRegistry(nil, nil, u, u); err == nil {
		t.Fatal("registering the same collector twice succeeded")
	}
}

func TestScrapeIsPlainHTTP(t *testing.T) {
	t.Parallel()
	reg, err := metrics.NewRegistry(brokenInspector{}, nil, metrics.NewUploads())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d with Redis down; a scrape must still succeed", resp.StatusCode)
	}
}
