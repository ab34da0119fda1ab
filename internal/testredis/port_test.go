package testredis

import (
	"net"
	"testing"
)

// TestStartMovesOffATakenPort takes the port a server was given before
// it starts, as another test's process may: the first start moves to
// another free port instead of failing.
func TestStartMovesOffATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	s := &Server{t: t, dir: t.TempDir(), port: taken, autoPort: true}
	s.start()
	t.Cleanup(s.Kill)
	if s.Port() == taken {
		t.Fatalf("still on the taken port %d", taken)
	}
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("moved to %s but does not answer: %v", s.Addr(), err)
	}
	// A restart keeps the port it ended up on.
	s.Restart()
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}
