package testproc

import (
	"context"
	"testing"
)

func TestSentinelFailoverMovesTheMaster(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t, SentinelOptions{Replicas: 1, MasterName: "media"})
	if want := "redis-sentinel://" + s.Sentinels[0].Addr() + "?master=media"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	ctx := context.Background()
	cl := s.Client(t)
	if err := cl.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatalf("SET through sentinel: %v", err)
	}
	// WAIT makes sure the replica has the write before it is promoted.
	if n, err := cl.Wait(ctx, 1, 0).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT: %d replicas, %v", n, err)
	}
	old := s.Master.Addr()
	now := s.Failover(t)
	if now == old || now != s.Replicas[0].Addr() {
		t.Fatalf("after failover master is %s (old %s, replica %s)", now, old, s.Replicas[0].Addr())
	}
	var got string
	var err error
	for i := 0; i < 100; i++ { // the failover client reconnects to the new master
		if got, err = cl.Get(ctx, "k").Result(); err == nil {
			break
		}
	}
	if err != nil || got != "before" {
		t.Fatalf("GET after failover = %q, %v", got, err)
	}
	if err := cl.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Fatalf("SET after failover: %v", err)
	}
}
