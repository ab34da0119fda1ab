package dashboard_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address local (any of 127.0.0.0/8).
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestFailedSignInsThrottledAndLogged (issue 12, item 14): basic
// authentication allowed thousands of guesses a second and logged none.
// Now ten wrong guesses from one address are answered 401 and logged (with
// the address and user, never the password); the eleventh, and even the
// right password, get 429 with Retry-After until the allowance grows back
// (one guess every six seconds); other addresses are not affected.
func TestFailedSignInsThrottledAndLogged(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var logs syncbuf.Buffer
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := dashboard.WithClock(dashboard.Config{
		Redis: f.rdb, User: "ops", Password: "correct horse",
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}, clock)
	hs := newServer(t, cfg)
	attempt := func(c *http.Client, user, pass string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/monitoring/api/queues", nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	a, b := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	for i := range 10 {
		if resp := attempt(a, "ops", "guess-"+strings.Repeat("x", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong guess %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, pass := range []string{"guess-eleven", "correct horse"} {
		resp := attempt(a, "ops", pass)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "6" {
			t.Errorf("after ten wrong guesses, %q: %d Retry-After %q; want 429 after 6 s", pass, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// Another address is not held back by the first one's failures.
	if resp := attempt(b, "ops", "correct horse"); resp.StatusCode != http.StatusOK {
		t.Errorf("right password from another address: %d, want 200", resp.StatusCode)
	}
	if resp := attempt(b, "root", "guess-other"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong guess from another address: %d, want 401", resp.StatusCode)
	}
	// Six seconds later the first address has one attempt again.
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	if resp := attempt(a, "ops", "correct horse"); resp.StatusCode != http.StatusOK {
		t.Errorf("right password six seconds later: %d, want 200", resp.StatusCode)
	}
	// A request without credentials is a browser's first one, not a guess.
	if code, _ := get(t, hs, "/monitoring/"); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}

	out := logs.String()
	if n := strings.Count(out, "sign-in failed"); n != 11 {
		t.Errorf("%d failures logged, want 11:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="dashboard: sign-in failed" remote=127.0.0.1:`); n != 10 {
		t.Errorf("%d failures logged for 127.0.0.1 with its address, want 10:\n%s", n, out)
	}
	if !strings.Contains(out, "user=ops") || !strings.Contains(out, "remote=127.0.0.2:") || !strings.Contains(out, "user=root") {
		t.Errorf("failures do not name the address and user:\n%s", out)
	}
	if n := strings.Count(out, "too many failed sign-ins"); n != 1 {
		t.Errorf("%d lock-outs logged, want 1:\n%s", n, out)
	}
	for _, secret := range []string{"guess", "correct horse"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows a password (%q):\n%s", secret, out)
		}
	}
}
