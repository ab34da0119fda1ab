package dashboard_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

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
	kinds := []struct {
		head   string
		status int
	}{
		{"POST /monitoring/api/queues/default:pause HTTP/1.1\r\nContent-Type: text/plain\r\n", http.StatusUnauthorized},
		{"GET /metrics HTTP/1.1\r\n", http.StatusUnauthorized},
		{"GET /healthz HTTP/1.1\r\n", http.StatusOK},
	}
	conns := make([]net.Conn, slow)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
		if _, err := fmt.Fprintf(c, "%sHost: %s\r\nContent-Length: 1000\r\n\r\n", kinds[i%len(kinds)].head, addr); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}

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
	deadline := time.Now().Add(time.Minute)
	for i, c := range conns {
		_ = c.SetReadDeadline(deadline)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("connection %d: no answer without the body: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := kinds[i%len(kinds)].status; resp.StatusCode != want || !resp.Close {
			t.Errorf("connection %d: %d, closing %v; want %d and the connection closed", i, resp.StatusCode, resp.Close, want)
		}
		if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("connection %d after the answer: %d bytes, %v; want EOF", i, n, err)
		}
	}
}
