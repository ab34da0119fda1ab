package testredis

import (
	"testing"
)

func TestStartRestartKeepsAppendOnlyData(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{AppendOnly: true})
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	s.Kill()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Start()
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}
