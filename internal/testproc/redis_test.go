package testproc

import (
	"testing"
)

func TestStartRestartKeepsAppendOnlyData(t *testing.T) {
	t.Parallel()
	s := StartRedis(t, RedisOptions{AppendOnly: true})
	if err := Ping(s.Addr()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	s.Kill()
	if err := Ping(s.Addr()); err == nil {
		t.Fatal("server still answers after Kill")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := Ping(s.Addr()); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}
