package ratelimit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

// BenchmarkWait is the cost of one call's Wait when a slot is free at
// once, on the package's private Redis over loopback: with the fleet
// cool-down on (its PTTL, then the GCRA script: two round trips) and off
// (the GCRA script alone: one), beside a bare PING (one round trip). The
// ratio of the first two is what the cool-down's round trip costs. Each
// also reports its Redis round trips per call (roundtrips/op), which does
// not depend on the machine's load.
func BenchmarkWait(b *testing.B) {
	fast := ratelimit.Rate{Calls: 1 << 30, Per: time.Second} // never waits
	for _, bc := range []struct {
		name     string
		coolDown time.Duration
	}{{"cooldown-on", 0}, {"cooldown-off", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			rdb := client(b)
			var trips roundTrips
			rdb.AddHook(&trips)
			l, err := ratelimit.New(ratelimit.Config{Redis: rdb, Key: "bench:" + b.Name(), Rate: fast, Burst: 1 << 20, CoolDown: bc.coolDown})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				if err := l.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(trips.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
	b.Run("ping", func(b *testing.B) {
		rdb := client(b)
		ctx := context.Background()
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// roundTrips counts the commands and pipelines a client sends: one round
// trip each.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}
