package tasks_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestRedisWatchNoticesALoss (issue 12, item 5): a Redis restarted without
// persistence comes back empty; the watch says so once, loudly, and
// counts it; a second watch (another process) that checks later notices it
// too, through the marker the first one wrote anew.
func TestRedisWatchNoticesALoss(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	var logs syncbuf.Buffer
	a := tasks.NewRedisWatch(rdb, slog.New(slog.NewTextHandler(&logs, nil)))
	b := tasks.NewRedisWatch(rdb, nil)
	ctx := t.Context()
	check := func(w *tasks.RedisWatch, want bool) {
		t.Helper()
		lost, err := w.Check(ctx)
		if err != nil || lost != want {
			t.Fatalf("Check = %v, %v; want %v", lost, err, want)
		}
	}
	check(a, false)
	check(b, false)
	check(a, false)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	check(a, true)
	check(a, false)
	check(b, true) // the marker a wrote anew is not the one b saw
	check(b, false)
	if a.Losses() != 1 || b.Losses() != 1 {
		t.Errorf("losses %d and %d, want 1 each", a.Losses(), b.Losses())
	}
	if n := strings.Count(logs.String(), "REDIS LOST ITS DATA"); n != 1 {
		t.Errorf("%d loss records, want 1:\n%s", n, logs.String())
	}
}

// TestRedisWatchSettings: the private Redis of the tests has no
// persistence; with noeviction that is the one warning, and another
// eviction policy adds its own.
func TestRedisWatchSettings(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	w := tasks.NewRedisWatch(rdb, nil)
	warnings, err := w.Settings(t.Context())
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "no persistence") {
		t.Fatalf("Settings = %q, %v; want one warning about persistence", warnings, err)
	}
	if err := rdb.ConfigSet(t.Context(), "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(t.Context(), "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	warnings, err = w.Settings(t.Context())
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], `"allkeys-lru"`) {
		t.Fatalf("Settings = %q, %v; want one warning about allkeys-lru", warnings, err)
	}
	// Settings that cannot be read (CONFIG renamed away, as managed
	// Redis often does, or Redis down): an error, no warning.
	down := tasks.NewRedisWatch(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), nil)
	if warnings, err := down.Settings(context.Background()); err == nil || len(warnings) != 0 {
		t.Errorf("Settings of an unreachable Redis = %q, %v; want an error", warnings, err)
	}
}

func ExampleRedisWatch() {
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(exampleRedisURL, "redis://"), "/0")})
	defer rdb.Close()
	watch := tasks.NewRedisWatch(rdb, slog.Default())
	ctx := context.Background()
	// The first check writes the marker; run watch.Run(ctx, 0) in a
	// goroutine to check every 30 seconds.
	lost, err := watch.Check(ctx)
	fmt.Println(lost, err)
	rdb.FlushAll(ctx) // what a restart without persistence does
	lost, err = watch.Check(ctx)
	fmt.Println(lost, err, watch.Losses())
	// Output:
	// false <nil>
	// true <nil> 1
}
