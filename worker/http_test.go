package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunWithHTTP runs a worker with its HTTP listener, uploads one file and
// reads the dashboard, the metrics and the probes.
func TestRunWithHTTP(t *testing.T) {
	t.Parallel()
	obs := &countingObserver{}
	e := startEnv(t, envOptions{noStart: true, config: func(c *Config) {
		c.HTTP = &dashboard.Config{Addr: "127.0.0.1:0"}
		c.Observer = obs
	}})
	w := e.newWorker(t)
	if err := w.Listen(); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(w.URL(), "monitoring/")
	if strings.HasSuffix(base, ":0/") {
		t.Fatalf("URL %s does not have the bound port", w.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	path := e.file(t, "front.png", mediagen.Sample("png", 1))
	p := payloadFor(t, path)
	info := e.wait(t, e.enqueue(t, p))
	res := result(t, info)

	f, err := promtext.Scrape(nil, base+"metrics")
	if err != nil {
		t.Fatal(err)
	}
	f.Check(t, 1, "alipay_media_uploads_total", "outcome", "success")
	f.Check(t, float64(p.Size), "alipay_media_upload_bytes_total")
	f.Check(t, 1, "alipay_media_upload_duration_seconds", "outcome", "success")
	f.Check(t, 1, "asynq_queue_tasks", "queue", "default", "state", "completed")
	f.Check(t, 1, "asynq_inspector_up")
	// Config.Observer is told too, next to the metrics.
	if got := obs.String(); got != "throttled=0 success=1 retrying=0 rejected=0" {
		t.Errorf("observer saw %s", got)
	}
	code, body := httpGet(t, w.URL()+"api/queues/default/completed_tasks")
	if code != http.StatusOK || !strings.Contains(body, res.ImageID) {
		t.Errorf("dashboard completed list: %d %s; want it to show %s", code, body, res.ImageID)
	}
	code, body = httpGet(t, base+"readyz")
	var ready struct {
		Checks []struct{ Name string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || len(ready.Checks) != 2 ||
		ready.Checks[0].Name != "redis" || ready.Checks[1].Name != "gateway" {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, _ := httpGet(t, base+"healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := httpGet(t, base); code != http.StatusFound {
		t.Errorf("/ = %d, want a redirect to the dashboard", code)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := http.Get(base + "healthz"); err == nil {
		t.Error("HTTP server still answers after Run returned")
	}
}

func TestRunFailsWhenAddressTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := startEnv(t, envOptions{noStart: true, config: func(c *Config) {
		c.HTTP = &dashboard.Config{Addr: ln.Addr().String()}
	}})
	w := e.newWorker(t)
	err = w.Run(context.Background())
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Run on a taken address = %v, want EADDRINUSE naming the address", err)
	}
	if servers, err := e.insp.Servers(); err != nil || len(servers) != 0 {
		t.Errorf("asynq servers in Redis = %v, %v; want none (the worker must not start)", servers, err)
	}
}

func TestWithoutHTTP(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{noStart: true})
	w := e.newWorker(t)
	if w.URL() != "" || w.Listen() != nil {
		t.Errorf("a worker without Config.HTTP has URL %q", w.URL())
	}
}

func TestGatewayConfiguredCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{AppID: "2021", GatewayURL: "https://openapi.alipay.com/gateway.do"}, ""},
		{Config{AppID: "", GatewayURL: "https://openapi.alipay.com/gateway.do"}, "app_id"},
		{Config{AppID: "2021", GatewayURL: "ftp://example.test/"}, "gateway URL"},
		{Config{AppID: "2021", GatewayURL: "/gateway.do"}, "gateway URL"},
	} {
		err := (&Worker{cfg: c.cfg}).gatewayConfigured(context.Background())
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
