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
	s := &Server{t: t, dir: t.TempDir(), port: taken}
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

// TestStartMovesOffAPortAnotherRedisServes gives a server the port of
// another test's running redis-server: PING is answered there, but by a
// process that is not this server's, so the first start must move to
// another port rather than hand out the other server's address.
func TestStartMovesOffAPortAnotherRedisServes(t *testing.T) {
	t.Parallel()
	other := Start(t)
	s := &Server{t: t, dir: t.TempDir(), port: other.Port()}
	s.start()
	t.Cleanup(s.Kill)
	if s.Port() == other.Port() {
		t.Fatalf("still on the other server's port %d", other.Port())
	}
	if pid, err := processID(s.Addr()); err != nil || pid != s.pid() {
		t.Fatalf("%s answers as pid %d (%v), want its own redis-server, pid %d", s.Addr(), pid, err, s.pid())
	}
	if pid, err := processID(other.Addr()); err != nil || pid != other.pid() {
		t.Fatalf("the other server %s answers as pid %d (%v), want %d", other.Addr(), pid, err, other.pid())
	}
}
