package httpguard_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/httpguard"
)

// patient are limits under which a client that announces a body and never
// sends it would wait an hour for an answer, unless the handler refuses.
var patient = httpguard.Limits{
	MaxConns:          1000,
	ReadHeaderTimeout: time.Hour,
	ReadTimeout:       time.Hour,
	WriteTimeout:      time.Hour,
	IdleTimeout:       time.Hour,
	MaxHeaderBytes:    1 << 20,
}

// serve runs h under l on a loopback port until the test ends.
func serve(t *testing.T, ln net.Listener, h http.Handler, l httpguard.Limits) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpguard.Serve(ctx, ln, h, l, nil, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// needsKey refuses requests without the header X-Key: k.
var needsKey = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Key") != "k" {
		httpguard.Refuse(w)
		http.Error(w, "no key", http.StatusUnauthorized)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	_, _ = io.WriteString(w, "ok")
})

// announce dials addr and sends a POST announcing a body of 1000 bytes
// that never comes.
func announce(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRefuseAnswersAtOnceAndCloses: a refused request whose body never
// comes gets its answer and then the end of the connection, although the
// server would wait an hour for the body.
func TestRefuseAnswersAtOnceAndCloses(t *testing.T) {
	t.Parallel()
	addr := serve(t, listen(t), needsKey, patient)
	c := announce(t, addr)
	// A guard against hanging, far below the server's hour.
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("answer %d, close %v; want 401 closing the connection", resp.StatusCode, resp.Close)
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("after the refusal: read %d bytes, %v; want EOF (connection closed)", n, err)
	}
}

// countingListener counts its connections open at once.
type countingListener struct {
	net.Listener
	open, max atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.open.Add(1)
	for m := l.max.Load(); n > m && !l.max.CompareAndSwap(m, n); m = l.max.Load() {
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	once sync.Once
	l    *countingListener
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// TestServeBoundsConnections dials 40 connections before any of them sends
// its request: the server holds at most MaxConns of them at once, and
// serves all in turn.
func TestServeBoundsConnections(t *testing.T) {
	t.Parallel()
	const clients, maxConns = 40, 4
	l := patient
	l.MaxConns = maxConns
	cl := &countingListener{Listener: listen(t)}
	addr := serve(t, cl, needsKey, l)
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\nX-Key: k\r\nConnection: close\r\n\r\n"); err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Errorf("client %d: %d %q", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if m := cl.max.Load(); m > maxConns || m < 1 {
		t.Errorf("%d connections open at once; the limit is %d", m, maxConns)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	t.Parallel()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpguard.Serve(ctx, ln, needsKey, patient, nil, time.Second) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still listening after Serve returned")
	}
}

func TestServeRefusesZeroLimits(t *testing.T) {
	t.Parallel()
	l := patient
	l.IdleTimeout = 0
	err := httpguard.Serve(context.Background(), listen(t), needsKey, l, nil, time.Second)
	if !errors.Is(err, httpguard.ErrLimits) || !strings.Contains(err.Error(), "IdleTimeout:0s") {
		t.Errorf("err = %v, want ErrLimits naming IdleTimeout", err)
	}
}

func ExampleRefuse() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer let-me-in" {
			httpguard.Refuse(w) // answer now, close, never read the body
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, "welcome")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpguard.Serve(ctx, ln, h, httpguard.Limits{
			MaxConns: 64, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		}, nil, 5*time.Second)
	}()

	// A client announces a body it never sends.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 1000\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "close:", resp.Close)

	stop()
	fmt.Println("serve:", <-done)
	// Output:
	// 401 Unauthorized close: true
	// serve: <nil>
}
