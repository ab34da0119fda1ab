package dashboard_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/httpguard/slowtest"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// run starts s.Run on a loopback port until the test ends and returns the
// address it listens on.
func run(t *testing.T, cfg dashboard.Config, tune func(*dashboard.Server)) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(s)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = s.Close()
	})
	return s.Addr()
}

// TestSlowClientsWithoutCredentialsAreRefusedAtOnce (issue 12, item 1):
// 300 connections send headers announcing a 1000-byte body that never
// comes, without credentials (or to a probe, which reads no body). Each is
// answered at once and its connection closed, although the server would
// wait an hour for the body; a client with credentials is served
// meanwhile. Before, each was answered only when the read timeout ran out.
func TestSlowClientsWithoutCredentialsAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	addr := run(t, dashboard.Config{Redis: f.rdb, User: "ops", Password: "correct horse"},
		func(s *dashboard.Server) { s.SetReadTimeout(time.Hour) })
	const slow = 300
	conns := slowtest.Open(t, addr, slow, []slowtest.Request{
		{Head: "POST /monitoring/api/queues/default:pause HTTP/1.1\r\nContent-Type: text/plain\r\n", Status: http.StatusUnauthorized},
		{Head: "GET /metrics HTTP/1.1\r\n", Status: http.StatusUnauthorized},
		{Head: "GET /healthz HTTP/1.1\r\n", Status: http.StatusOK},
	})

	req, _ := http.NewRequest("GET", "http://"+addr+"/monitoring/api/queues", nil)
	req.SetBasicAuth("ops", "correct horse")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("client with credentials: %d, want 200", resp.StatusCode)
	}

	// A guard against hanging, far below the server's hour.
	conns.CheckRefused(t, time.Now().Add(time.Minute))
}
