package testredis

import (
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
