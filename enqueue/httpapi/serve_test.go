package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/httpguard/slowtest"
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
	conns := slowtest.Open(t, addr, slow, []slowtest.Request{
		{Head: "POST /v1/uploads HTTP/1.1\r\nContent-Type: application/json\r\n", Status: http.StatusUnauthorized},
		{Head: "POST /v1/uploads HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer wrong\r\n", Status: http.StatusUnauthorized},
		{Head: "POST /v1/nope HTTP/1.1\r\n", Status: http.StatusNotFound},
		{Head: "PUT /healthz HTTP/1.1\r\n", Status: http.StatusOK},
	})

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
	conns.CheckRefused(t, time.Now().Add(httpapi.ReadTimeout/2))
}
