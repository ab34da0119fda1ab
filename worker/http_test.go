package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testredis"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
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

// TestRunWithHTTP runs a worker with its HTTP server, uploads one file and
// reads the dashboard, the metrics and the probes.
func TestRunWithHTTP(t *testing.T) {
	t.Parallel()
	uploads := metrics.NewUploads()
	e := startEnv(t, envOptions{noStart: true, config: func(c *Config) { c.Observer = uploads }})
	w, err := New(e.cfg, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := w.NewHTTPServer(dashboard.Config{Addr: "127.0.0.1:0"}, uploads)
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.Listen(); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(hs.URL(), "monitoring/")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.RunWithHTTP(ctx, hs) }()

	path := e.file(t, "front.png", mediagen.Sample("png", 1))
	p := payloadFor(t, path)
	info := e.wait(t, e.enqueue(t, p))
	res := result(t, info)

	f, err := promtext.Scrape(nil, base+"metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"alipay_media_uploads_total", []string{"outcome", "success"}, 1},
		{"alipay_media_upload_bytes_total", nil, float64(p.Size)},
		{"alipay_media_upload_duration_seconds", []string{"outcome", "success"}, 1},
		{"asynq_queue_tasks", []string{"queue", "default", "state", "completed"}, 1},
		{"asynq_inspector_up", nil, 1},
	} {
		if got, err := f.Value(c.name, c.labels...); err != nil || got != c.want {
			t.Errorf("%s%q = %v, %v; want %v", c.name, c.labels, got, err, c.want)
		}
	}
	code, body := httpGet(t, hs.URL()+"api/queues/default/completed_tasks")
	if code != http.StatusOK || !strings.Contains(body, res.ImageID) {
		t.Errorf("dashboard completed list: %d %s; want it to show %s", code, body, res.ImageID)
	}
	code, body = httpGet(t, base+"readyz")
	var ready dashboard.ReadyBody
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || len(ready.Checks) != 2 || ready.Checks[1].Name != "gateway" {
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
		t.Errorf("RunWithHTTP: %v", err)
	}
	if _, err := http.Get(base + "healthz"); err == nil {
		t.Error("HTTP server still answers after RunWithHTTP returned")
	}
}

func TestRunWithHTTPFailsWhenAddressTaken(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{noStart: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w, err := New(e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := w.NewHTTPServer(dashboard.Config{Addr: ln.Addr().String()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = w.RunWithHTTP(context.Background(), hs)
	if err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Fatalf("RunWithHTTP on a taken address = %v, want an error naming HTTP_ADDR", err)
	}
}

func TestGatewayConfiguredCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{AppID: "2021", GatewayURL: "https://openapi.alipay.com/gateway.do"}, ""},
		{Config{AppID: "", GatewayURL: "https://openapi.alipay.com/gateway.do"}, "ALIPAY_APP_ID"},
		{Config{AppID: "2021", GatewayURL: "ftp://example.test/"}, "ALIPAY_GATEWAY_URL"},
		{Config{AppID: "2021", GatewayURL: "/gateway.do"}, "ALIPAY_GATEWAY_URL"},
	} {
		err := (&Worker{cfg: c.cfg}).gatewayConfigured(context.Background())
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestMainHTTPSettings checks the HTTP settings as the worker command reads
// them.
func TestMainHTTPSettings(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	cfg := testConfig(t, rs.URL(), gw.URL, t.TempDir())
	for _, c := range []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"open address without auth", []string{"-check"}, envFor(cfg, "HTTP_ADDR", "0.0.0.0:0"), ExitFailed, "DASHBOARD_USER"},
		{"flag wins", []string{"-check", "-http-addr", "0.0.0.0:0"}, envFor(cfg), ExitFailed, "DASHBOARD_INSECURE=true"},
		{"open address with auth", []string{"-check"}, envFor(cfg, "HTTP_ADDR", "0.0.0.0:0", "DASHBOARD_USER", "ops", "DASHBOARD_PASSWORD", "pw"), ExitOK, "start-up checks passed"},
		{"forced open address", []string{"-check"}, envFor(cfg, "HTTP_ADDR", "0.0.0.0:0", "DASHBOARD_INSECURE", "true"), ExitOK, "start-up checks passed"},
		{"off", []string{"-check"}, envFor(cfg, "HTTP_ADDR", "off"), ExitOK, "start-up checks passed"},
		{"bad boolean", []string{"-check"}, envFor(cfg, "DASHBOARD_READONLY", "maybe"), ExitUsage, "DASHBOARD_READONLY"},
		{"user without password", []string{"-check"}, envFor(cfg, "DASHBOARD_USER", "ops"), ExitFailed, "DASHBOARD_PASSWORD"},
	} {
		var out syncbuf.Buffer
		if code := Main(context.Background(), c.args, c.env, &out); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s", c.name, code, c.code, c.want, out.String())
		}
	}
}

// TestPrepareHTTPObserver: the command gives the worker upload metrics
// only when /metrics will export them.
func TestPrepareHTTPObserver(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr     string
		observer tasks.Observer
		want     string // "none", "metrics" or "kept"
	}{
		{"off", nil, "none"},
		{"127.0.0.1:0", nil, "metrics"},
		{"127.0.0.1:0", metrics.NewUploads(), "kept"},
	} {
		cfg := Config{Observer: c.observer}
		m, err := prepareHTTP(&cfg, envOf(map[string]string{"HTTP_ADDR": c.addr}))
		if err != nil {
			t.Fatalf("HTTP_ADDR=%s: %v", c.addr, err)
		}
		var got string
		switch {
		case cfg.Observer == nil && m.uploads == nil:
			got = "none"
		case m.uploads != nil && cfg.Observer == tasks.Observer(m.uploads):
			got = "metrics"
		case m.uploads == nil && cfg.Observer == c.observer:
			got = "kept"
		default:
			got = fmt.Sprintf("Observer %v, uploads %v", cfg.Observer, m.uploads)
		}
		if got != c.want {
			t.Errorf("HTTP_ADDR=%s, Observer %v: %s, want %s", c.addr, c.observer, got, c.want)
		}
	}
}

func TestHTTPServerDisabled(t *testing.T) {
	t.Parallel()
	hs, err := (&Worker{}).NewHTTPServer(dashboard.Config{Disabled: true}, nil)
	if hs != nil || err != nil {
		t.Fatalf("NewHTTPServer(Disabled) = %v, %v; want nil, nil", hs, err)
	}
}

// TestMainHTTPAddrTaken: a second worker on a taken HTTP_ADDR stops at
// start-up with exit status 2 and a message saying what to set, before its
// asynq server registers with Redis.
func TestMainHTTPAddrTaken(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var out syncbuf.Buffer
	code := Main(context.Background(), nil, mainEnv(t, rs, "HTTP_ADDR", addr), &out)
	if code != ExitUsage {
		t.Errorf("exit %d, want %d; output:\n%s", code, ExitUsage, out.String())
	}
	want := "HTTP_ADDR " + addr + " is in use (another worker?): set HTTP_ADDR to a free address, 127.0.0.1:0 for any free port, or off"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "worker started") {
		t.Errorf("the worker started anyway:\n%s", out.String())
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: rs.Addr()})
	defer insp.Close()
	if servers, err := insp.Servers(); err != nil || len(servers) != 0 {
		t.Errorf("asynq servers in Redis = %v, %v; want none", servers, err)
	}
}

// TestAddrErrorOtherFailure: an address that cannot be bound for another
// reason names HTTP_ADDR and keeps the cause.
func TestAddrErrorOtherFailure(t *testing.T) {
	t.Parallel()
	hs, err := dashboard.New(dashboard.Config{Addr: "192.0.2.1:0", RedisConnOpt: asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	err = listenHTTP(hs)
	var ae *AddrError
	if !errors.As(err, &ae) || ae.InUse || !strings.Contains(err.Error(), "HTTP_ADDR 192.0.2.1:0: cannot listen") {
		t.Errorf("listen on an address not on this host = %v", err)
	}
}

// TestMainLogsDashboardURL: HTTP_ADDR=127.0.0.1:0 takes a free port and
// the start-up log gives the real URL.
func TestMainLogsDashboardURL(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then shut down at once
	var out syncbuf.Buffer
	if code := Main(ctx, nil, mainEnv(t, rs, "HTTP_ADDR", "127.0.0.1:0"), &out); code != ExitOK {
		t.Fatalf("exit %d; output:\n%s", code, out.String())
	}
	m := regexp.MustCompile(`msg="dashboard listening".* url=http://127\.0\.0\.1:(\d+)/`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" {
		t.Errorf("no dashboard URL with a real port in the log:\n%s", out.String())
	}
}
