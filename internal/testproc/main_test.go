package testproc

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestStartRedisMainServesAndStops(t *testing.T) {
	t.Parallel()
	url, stop := StartRedisMain()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	if err := Ping(addr); err != nil {
		stop()
		t.Fatalf("ping %s: %v", addr, err)
	}
	stop()
	if err := Ping(addr); err == nil {
		t.Fatal("server still answers after stop")
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
