package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// With Config.RateLimit, every call waits for its slot in Redis, a
// throttled answer starts the fleet's cool-down, the job waits it out
// without spending its retry budget, and the metrics show it.
func TestRateLimitWired(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, p upload.Protocol) {
		e := startEnv(t, envOptions{protocol: p, noStart: true, config: func(c *Config) {
			c.HTTP = &dashboard.Config{Addr: "127.0.0.1:0"}
			c.RateLimit = &ratelimit.Config{Rate: ratelimit.Rate{Calls: 1000, Per: time.Second}, CoolDown: 300 * time.Millisecond}
		}})
		w := e.newWorker(t)
		if err := w.Listen(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		defer func() { cancel(); <-done }()

		if err := e.gw.Faults().Next(alipaytest.FaultThrottled, 1); err != nil {
			t.Fatal(err)
		}
		info := e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg")), asynq.MaxRetry(1)))
		if r := result(t, info); info.Retried != 0 || r.Attempt != 1 {
			t.Errorf("%s, attempt %d: the throttled attempt was counted", describe(info), r.Attempt)
		}
		f, err := promtext.Scrape(nil, strings.TrimSuffix(w.URL(), "monitoring/")+"metrics")
		if err != nil {
			t.Fatal(err)
		}
		f.Check(t, 1, "alipay_media_rate_cooldowns_total")
		f.Check(t, 2, "alipay_media_rate_wait_seconds", "outcome", "slot")
		f.Check(t, 1, "alipay_media_rate_held_total", "by", "cooldown")
		// The retry waited out what was left of the cool-down: the throttle
		// delay (100ms) is shorter.
		if waited, err := f.Sum("alipay_media_rate_wait_seconds", "outcome", "slot"); err != nil || waited < 0.1 {
			t.Errorf("waited %vs in all, %v; want most of the 300ms cool-down", waited, err)
		}
		if !strings.Contains(e.logs.String(), "the whole fleet pauses its calls") {
			t.Error("the cool-down was not logged")
		}
	})
}

// Off by default: nothing asks Redis anything per call (no cool-down
// lookup, no limiter state), and the start-up line says it is off.
func TestRateLimitOffAsksRedisNothing(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		e := startEnv(t, envOptions{config: func(c *Config) {
			if on {
				c.RateLimit = &ratelimit.Config{Rate: ratelimit.Rate{Calls: 1000, Per: time.Second}}
			}
		}})
		for _, name := range []string{"photo.jpg", "photo.png"} {
			e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, name))))
		}
		rdb := redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
		stats, err := rdb.Info(context.Background(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := rdb.Keys(context.Background(), "*rate:*").Result()
		rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		asked := strings.Contains(stats, "cmdstat_pttl:")
		if asked != on || (len(keys) > 0) != on {
			t.Errorf("rate limit on=%v: PTTL asked %v, keys %q", on, asked, keys)
		}
		if want := "rate_limit=off"; strings.Contains(e.logs.String(), want) == on {
			t.Errorf("rate limit on=%v: start-up line %q", on, want)
		}
	}
}

// A RateLimit that cannot work is a configuration error naming its field.
func TestRateLimitConfigError(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{noStart: true, config: func(c *Config) {
		c.RateLimit = &ratelimit.Config{Rate: ratelimit.Rate{Calls: 20, Per: time.Second}, Burst: -1}
	}})
	_, err := New(context.Background(), e.cfg, nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "RateLimit" || !errors.Is(err, ratelimit.ErrConfig) {
		t.Errorf("err = %v, want a ConfigError for RateLimit", err)
	}
}

// A job given no slot within the limit's MaxWait is throttled, never sent,
// and does not spend its retry budget however often it happens.
func TestNoSlotDoesNotSpendRetries(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{config: func(c *Config) {
		c.RateLimit = &ratelimit.Config{Rate: ratelimit.Rate{Calls: 1, Per: time.Hour}, MaxWait: 50 * time.Millisecond}
	}})
	first := e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg"))))
	result(t, first)
	id := e.enqueue(t, payloadFor(t, e.sample(t, "photo.png")), asynq.MaxRetry(1))
	// The throttle delay is 100ms: several attempts within a second.
	time.Sleep(time.Second)
	info, err := e.insp.GetTaskInfo(tasks.QueueDefault, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State == asynq.TaskStateArchived || info.Retried != 0 || !strings.Contains(info.LastErr, "no slot under the rate limit") {
		t.Errorf("%s; want it waiting for a retry, none counted, for want of a slot", describe(info))
	}
	if n := e.gw.Stats().Requests; n != 1 {
		t.Errorf("the gateway got %d requests, want the first job's only", n)
	}
	if got := strings.Count(e.logs.String(), "reason=rate_limit"); got < 2 {
		t.Errorf("%d throttled attempts logged with reason rate_limit, want several", got)
	}
}

// A worker stopped while its uploads wait for slots puts them back in the
// queue when the shutdown timeout ends (the wait ends with the task's
// context, though the upload itself would not), without counting them.
func TestShutdownEndsTheWaitForASlot(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{config: func(c *Config) {
		c.ShutdownTimeout = 200 * time.Millisecond
		c.RateLimit = &ratelimit.Config{Rate: ratelimit.Rate{Calls: 1, Per: time.Minute}, MaxWait: time.Hour}
	}})
	result(t, e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg")))))
	id := e.enqueue(t, payloadFor(t, e.sample(t, "photo.png")))
	e.wait(t, id, asynq.TaskStateActive)
	time.Sleep(100 * time.Millisecond) // waiting for its slot, a minute away
	start := time.Now()
	e.stopWorker(t)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the worker took %v to stop", d)
	}
	info, err := e.insp.GetTaskInfo(tasks.QueueDefault, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStatePending || info.Retried != 0 {
		t.Errorf("after shutdown: %s, want pending, not counted", describe(info))
	}
	if n := e.gw.Stats().Requests; n != 1 {
		t.Errorf("the gateway got %d requests, want 1", n)
	}
}
