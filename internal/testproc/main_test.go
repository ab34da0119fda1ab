package testredis

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestStartMainServesAndStops(t *testing.T) {
	t.Parallel()
	url, stop := StartMain()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	if err := ping(addr); err != nil {
		stop()
		t.Fatalf("ping %s: %v", addr, err)
	}
	stop()
	if err := ping(addr); err == nil {
		t.Fatal("server still answers after stop")
	}
}

// TestStartProcessReportsAMissingBinary is not parallel: it changes the
// environment every other test reads.
func TestStartProcessReportsAMissingBinary(t *testing.T) {
	t.Setenv("REDIS_SERVER", filepath.Join(t.TempDir(), "no-redis-server"))
	url, stop, err := StartProcess()
	if err == nil {
		stop()
		t.Fatalf("StartProcess without a binary = %q, want an error", url)
	}
	if !strings.Contains(err.Error(), "REDIS_SERVER") {
		t.Errorf("error %q does not say how to name the binary", err)
	}
}
