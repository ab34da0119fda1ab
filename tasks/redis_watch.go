package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every Redis key this module writes besides asynq's own
// (the fleet rate limit's GCRA state, "rate:" + worker.RateLimitKey, takes
// the prefix of the library that keeps it, go-redis/redis_rate).
const KeyPrefix = "alipay-media-worker:"

// markerKey holds a random value written once by the first process that
// finds it missing; every process remembers the value it saw.
const markerKey = KeyPrefix + "redis-marker"

// DefaultWatchInterval is how often [RedisWatch.Run] checks the marker.
const DefaultWatchInterval = 30 * time.Second

// RedisWatch notices a Redis that lost its data: restarted without
// persistence, flushed, failed over to an empty replica, or evicting keys
// under memory pressure. Every queued task is then gone, and with it the
// only record of uploads that were accepted but not yet run.
//
// The first [RedisWatch.Check] writes a marker key holding a random value
// (or adopts the one another process wrote); each later check reads it
// back. A marker that is gone, or that holds another value (another process
// found it gone and wrote a new one), means the data was lost: the watch
// logs it at error level, counts it ([RedisWatch.Losses]) and writes a new
// marker, so the next loss is noticed too. It never stops anything: the
// demo, the tests and CI run Redis without persistence on purpose.
//
// A RedisWatch is safe for concurrent use.
type RedisWatch struct {
	rdb redis.UniversalClient
	log *slog.Logger

	mu     sync.Mutex
	marker string // the value seen last; "" before the first check
	losses atomic.Int64
}

// NewRedisWatch returns a watch of rdb that logs to logger (nil: discard).
// It touches Redis only when checked.
func NewRedisWatch(rdb redis.UniversalClient, logger *slog.Logger) *RedisWatch {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RedisWatch{rdb: rdb, log: logger}
}

// Check reads the marker, writing it on the first call, and reports whether
// Redis lost its data since the previous check. A loss is logged once, by
// the check that found it. Errors are Redis failures, wrapping
// [ErrUnavailable]; the next check tries again.
func (w *RedisWatch) Check(ctx context.Context) (lost bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fresh := make([]byte, 16)
	_, _ = rand.Read(fresh)
	// SET NX then GET: the marker is written only where none exists, and
	// every process reads the one value that won.
	if err := w.rdb.SetNX(ctx, markerKey, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return false, fmt.Errorf("%w: redis marker: %w", ErrUnavailable, err)
	}
	v, err := w.rdb.Get(ctx, markerKey).Result()
	if errors.Is(err, redis.Nil) {
		// Lost again between the two commands: the next check sees it.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: redis marker: %w", ErrUnavailable, err)
	}
	prev := w.marker
	w.marker = v
	if prev == "" || prev == v {
		return false, nil
	}
	w.losses.Add(1)
	w.log.Error("REDIS LOST ITS DATA: the marker key written earlier is gone, so Redis restarted without persistence, was flushed or failed over to an empty replica, or evicted keys; every task queued before is gone. Production Redis needs persistence (appendonly yes, or RDB snapshots) and maxmemory-policy noeviction",
		"key", markerKey, "losses", w.losses.Load())
	return true, nil
}

// begin checks once, if nothing was checked yet; a failure is left to the
// next check (the caller's own command reports a Redis that is down).
func (w *RedisWatch) begin(ctx context.Context) {
	w.mu.Lock()
	started := w.marker != ""
	w.mu.Unlock()
	if !started {
		_, _ = w.Check(ctx)
	}
}

// Losses counts the data losses the watch found.
func (w *RedisWatch) Losses() int64 { return w.losses.Load() }

// Run checks every interval (0: [DefaultWatchInterval]) until ctx ends,
// starting at once. Redis failures are logged at debug level only: a Redis
// that is down is reported by whatever needed it.
func (w *RedisWatch) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug("Redis data check failed; trying again later", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Settings reads Redis's persistence and eviction settings (CONFIG GET) and
// returns a warning for each that can lose queued tasks: no persistence at
// all (a restart empties the queue), or a maxmemory-policy other than
// noeviction (keys, tasks among them, evicted under memory pressure). An
// error means the settings could not be read (CONFIG is often disabled on
// managed Redis); callers should log it and go on.
func (w *RedisWatch) Settings(ctx context.Context) ([]string, error) {
	get := func(name string) (string, error) {
		m, err := w.rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			return "", fmt.Errorf("%w: CONFIG GET %s: %w", ErrUnavailable, name, err)
		}
		v, ok := m[name]
		if !ok {
			return "", fmt.Errorf("%w: CONFIG GET %s: no such setting", ErrUnavailable, name)
		}
		return v, nil
	}
	var warnings []string
	policy, err := get("maxmemory-policy")
	if err != nil {
		return nil, err
	}
	if policy != "noeviction" {
		warnings = append(warnings, fmt.Sprintf("Redis maxmemory-policy is %q: under memory pressure it may evict queued tasks; set it to noeviction", policy))
	}
	aof, err := get("appendonly")
	if err != nil {
		return warnings, err
	}
	save, err := get("save")
	if err != nil {
		return warnings, err
	}
	if aof != "yes" && save == "" {
		warnings = append(warnings, "Redis has no persistence (appendonly no, no save points): a restart loses every queued task; turn on appendonly yes (or RDB snapshots) in production")
	}
	return warnings, nil
}
