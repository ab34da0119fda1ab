package testproc

import (
	"path/filepath"
	"strings"
	"testing"
)

// fakeM stands for a *testing.M: its Run pings the server.
type fakeM struct {
	url  *string
	addr string
	err  error
}

func (m *fakeM) Run() int {
	m.addr = strings.TrimSuffix(strings.TrimPrefix(*m.url, "redis://"), "/0")
	m.err = Ping(m.addr)
	return 7
}

func TestRunWithRedisServesAndStops(t *testing.T) {
	t.Parallel()
	var url string
	m := &fakeM{url: &url}
	if code := RunWithRedis(m, &url); code != 7 {
		t.Errorf("RunWithRedis = %d, want the code of Run, 7", code)
	}
	if m.err != nil {
		t.Fatalf("ping %s during Run: %v", m.addr, m.err)
	}
	if err := Ping(m.addr); err == nil {
		t.Fatal("server still answers after RunWithRedis returned")
	}
}

// TestRunRedisReportsAMissingBinary is not parallel: it changes the
// environment every other test reads.
func TestRunRedisReportsAMissingBinary(t *testing.T) {
	t.Setenv("REDIS_SERVER", filepath.Join(t.TempDir(), "no-redis-server"))
	s, err := RunRedis(RedisOptions{})
	if err == nil {
		s.Close()
		t.Fatalf("RunRedis without a binary = %q, want an error", s.URL())
	}
	if !strings.Contains(err.Error(), "REDIS_SERVER") {
		t.Errorf("error %q does not say how to name the binary", err)
	}
}
