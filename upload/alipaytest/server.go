package alipaytest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is a [Gateway] listening on a loopback port, in the manner of
// net/http/httptest.Server.
type Server struct {
	// Gateway is the handler; its methods are promoted.
	*Gateway
	// URL is the gateway endpoint, http://127.0.0.1:PORT/gateway.do.
	URL string
	// BaseURL is http://127.0.0.1:PORT, the root of the admin API
	// (BaseURL + "/_emulator/...").
	BaseURL string

	srv       *http.Server
	client    *http.Client
	closeOnce sync.Once
}

// NewServer starts a gateway for cfg on 127.0.0.1 and a free port. Call
// Close when done.
func NewServer(cfg Config) (*Server, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("alipaytest: listen: %w", err)
	}
	return Serve(g, ln), nil
}

// Serve serves g on ln in a new goroutine until Close. The command uses it
// to serve on a fixed address.
func Serve(g *Gateway, ln net.Listener) *Server {
	base := "http://" + ln.Addr().String()
	s := &Server{
		Gateway: g,
		URL:     base + GatewayPath,
		BaseURL: base,
		srv: &http.Server{
			Handler:           g,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(g.cfg.Logger.Handler(), slog.LevelWarn),
		},
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}},
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Client returns an HTTP client for the server (no proxy), whose idle
// connections are closed by Close.
func (s *Server) Client() *http.Client { return s.client }

// AdminURL returns the URL of an admin endpoint, e.g. AdminURL("uploads").
func (s *Server) AdminURL(endpoint string) string {
	return s.BaseURL + adminPrefix + strings.TrimPrefix(endpoint, "/")
}

// Close stops the server: it closes the listener and every connection, and
// waits for running handlers (a slow answer stops early) to return.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.srv.Close()
		s.client.CloseIdleConnections()
		s.Gateway.Wait()
	})
}

// Shutdown stops the server gracefully: no new connections, and running
// requests may finish until the deadline given by timeout, after which
// Close applies.
func (s *Server) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.Close()
	return err
}

// TB is the part of testing.TB that [Start] and [TestLogger] use:
// *testing.T, *testing.B and *testing.F satisfy it. The package does not
// import testing, so commands that run the emulator (cmd/alipay-emulator,
// a demo) do not link it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Output() io.Writer
}

// Start starts a [Server] for a test and closes it when the test ends. Zero
// fields of cfg are filled for tests: AppID [TestAppID], AppPublicKey and
// GatewayKey from [TestKeys] (see [Config.WithTestKeys]), Logger writing to
// tb.Log. Configuration errors fail the test.
func Start(tb TB, cfg Config) *Server {
	tb.Helper()
	cfg = cfg.WithTestKeys()
	if cfg.Logger == nil {
		cfg.Logger = TestLogger(tb)
	}
	s, err := NewServer(cfg)
	if err != nil {
		tb.Fatalf("alipaytest: start: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// TestLogger returns a logger writing text lines to the test's output
// (tb.Output), so they appear with the test's log.
func TestLogger(tb TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
