package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
)

// serve runs s.api.Serve on a loopback port until the test ends and
// returns its base URL.
func (s apiSetup) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.api.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestSlowClientsWithoutTokenAreRefusedAtOnce (issue 12, item 1): 300
// connections send headers announcing a 1000-byte body that never comes,
// without the token (or with a wrong one, or to an endpoint that needs
// none). Each is answered at once and its connection closed, without the
// server waiting for the body; a client with the token is served
// meanwhile. Before, each waited for the body until the read timeout (10
// minutes), holding a file descriptor.
func TestSlowClientsWithoutTokenAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	s := setup(t)
	base := s.serve(t)
	addr := strings.TrimPrefix(base, "http://")
	const slow = 300
	kinds := []struct {
		head   string
		status int
	}{
		{"POST /v1/uploads HTTP/1.1\r\nContent-Type: application/json\r\n", http.StatusUnauthorized},
		{"POST /v1/uploads HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer wrong\r\n", http.StatusUnauthorized},
		{"POST /v1/nope HTTP/1.1\r\n", http.StatusNotFound},
		{"PUT /healthz HTTP/1.1\r\n", http.StatusOK},
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

	// A client with the token is served while they wait.
	req, err := http.NewRequest("POST", base+"/v1/uploads", strings.NewReader(`{"path":"`+filepath.Join(s.root, "photo.jpg")+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("client with the token: %d, want 202", resp.StatusCode)
	}

	// The server would wait ReadTimeout for each body: answers that come
	// at all before half of it came without the body.
	deadline := time.Now().Add(httpapi.ReadTimeout / 2)
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
