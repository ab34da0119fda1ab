package testproc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
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
	s := &Redis{dir: t.TempDir(), port: taken}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	if s.Port() == taken {
		t.Fatalf("still on the taken port %d", taken)
	}
	if err := Ping(s.Addr()); err != nil {
		t.Fatalf("moved to %s but does not answer: %v", s.Addr(), err)
	}
	// A restart keeps the port it ended up on.
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := Ping(s.Addr()); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}

// TestStartMovesOffAPortAnotherRedisServes gives a server the port of
// another test's running redis-server: PING is answered there, but by a
// process that is not this server's, so the first start must move to
// another port rather than hand out the other server's address.
func TestStartMovesOffAPortAnotherRedisServes(t *testing.T) {
	t.Parallel()
	other := StartRedis(t)
	s := &Redis{dir: t.TempDir(), port: other.Port()}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
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

// TestClusterNodeMovesOffATakenBusPort takes the cluster bus port a node
// was given before it starts: the first start picks both ports again.
func TestClusterNodeMovesOffATakenBusPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	s := &Redis{dir: t.TempDir(), busPort: taken, opts: RedisOptions{
		clusterBus: true,
		Args:       []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"},
	}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	if s.busPort == taken {
		t.Fatalf("still on the taken bus port %d", taken)
	}
	cl := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2})
	defer cl.Close()
	nodes, err := cl.ClusterNodes(context.Background()).Result()
	if err != nil {
		t.Fatalf("CLUSTER NODES: %v", err)
	}
	want := fmt.Sprintf(":%d@%d", s.Port(), s.busPort)
	if !strings.Contains(nodes, want+" myself") {
		t.Fatalf("CLUSTER NODES does not show the node as port@busport %s:\n%s", want, nodes)
	}
}
