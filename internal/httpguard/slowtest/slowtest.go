package slowtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Request is the start of a request (its request line and any headers but
// Host and Content-Length, each ending in CRLF) and the status the server
// must answer it with before its body arrives.
type Request struct {
	Head   string
	Status int
}

// Conns are open connections, each waiting for the answer to a request
// whose body never comes.
type Conns struct {
	addr  string
	conns []net.Conn
	kinds []Request
}

// Open opens n connections to addr and sends on each the head of
// kinds[i%len(kinds)], announcing a 1000-byte body that it never sends.
// The connections are closed when the test ends.
func Open(t testing.TB, addr string, n int, kinds []Request) *Conns {
	t.Helper()
	s := &Conns{addr: addr, conns: make([]net.Conn, n), kinds: kinds}
	for i := range s.conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		s.conns[i] = c
		if _, err := fmt.Fprintf(c, "%sHost: %s\r\nContent-Length: 1000\r\n\r\n", kinds[i%len(kinds)].Head, addr); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	return s
}

// CheckRefused reads the answer on every connection, each by deadline: it
// must come without the body, carry the status of its kind and close the
// connection, after which the connection must give EOF.
func (s *Conns) CheckRefused(t testing.TB, deadline time.Time) {
	t.Helper()
	for i, c := range s.conns {
		_ = c.SetReadDeadline(deadline)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("connection %d: no answer without the body: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := s.kinds[i%len(s.kinds)].Status; resp.StatusCode != want || !resp.Close {
			t.Errorf("connection %d: %d, closing %v; want %d and the connection closed", i, resp.StatusCode, resp.Close, want)
		}
		if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("connection %d after the answer: %d bytes, %v; want EOF", i, n, err)
		}
	}
}
