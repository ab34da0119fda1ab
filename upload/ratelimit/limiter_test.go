package ratelimit_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

// client returns a client of its own for the package's Redis, as each
// process of a fleet has.
func client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// events records what a limiter tells its observer.
type events struct {
	mu   sync.Mutex
	list []ratelimit.Event
}

func (e *events) Observe(ev ratelimit.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) all() []ratelimit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func newLimiter(t *testing.T, rdb redis.UniversalClient, cfg ratelimit.Config) *ratelimit.Limiter {
	t.Helper()
	cfg.Redis = rdb
	if cfg.Key == "" {
		cfg.Key = "test:" + t.Name()
	}
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// MaxInWindow is the largest number of times within any window [t, t+w).
func maxInWindow(times []time.Time, w time.Duration) int {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Three limiters (three processes of a fleet, each with its own Redis
// client) and 24 callers share 20 calls/s with a burst of 5: no one-second
// window holds more than 25 calls.
func TestFleetStaysUnderTheLimit(t *testing.T) {
	t.Parallel()
	const rate, burst = 20, 5
	key := "test:fleet"
	var (
		mu    sync.Mutex
		times []time.Time
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	for p := range 3 {
		obs := &events{}
		l := newLimiter(t, client(t), ratelimit.Config{Key: key, Rate: ratelimit.Rate{Calls: rate, Per: time.Second}, Burst: burst, Observer: obs})
		for range 8 {
			wg.Go(func() {
				for {
					if err := l.Wait(ctx); err != nil {
						if !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("process %d: %v", p, err)
						}
						return
					}
					mu.Lock()
					times = append(times, time.Now())
					mu.Unlock()
				}
			})
		}
		t.Cleanup(func() {
			held := 0
			for _, e := range obs.all() {
				if e.HeldBy != "" {
					held++
				}
			}
			if held == 0 {
				t.Errorf("process %d: no call waited", p)
			}
		})
	}
	wg.Wait()
	most := maxInWindow(times, time.Second)
	t.Logf("%d calls in 2.5s; at most %d in one second (limit %d + burst %d)", len(times), most, rate, burst)
	if most > rate+burst {
		t.Errorf("%d calls in one second, more than %d + %d", most, rate, burst)
	}
	if len(times) < rate { // 2.5s at 20/s: about 55; far fewer means the limiter stalls
		t.Errorf("only %d calls in 2.5s", len(times))
	}
}

// One limiter's throttled call pauses every limiter sharing the key for
// the cool-down, and only those.
func TestCoolDownPausesTheFleet(t *testing.T) {
	t.Parallel()
	const coolDown = 400 * time.Millisecond
	cfg := ratelimit.Config{Rate: ratelimit.Rate{Calls: 1000, Per: time.Second}, Burst: 10, CoolDown: coolDown}
	throttled := newLimiter(t, client(t), cfg)
	obs := &events{}
	cfg.Observer = obs
	other := newLimiter(t, client(t), cfg)
	cfg.Key, cfg.Observer = "test:another app", nil
	another := newLimiter(t, client(t), cfg)

	ctx := context.Background()
	throttled.Throttled(ctx)
	start := time.Now()
	if err := another.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= coolDown {
		t.Errorf("a limiter of another key waited %v", d)
	}
	if left, err := other.CoolingDown(ctx); err != nil || left <= 0 || left > coolDown {
		t.Errorf("CoolingDown = %v, %v; want up to %v", left, err, coolDown)
	}
	if err := other.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The key expired at least coolDown after Throttled; a millisecond of
	// slack for the rounding of PTTL.
	if d := time.Since(start); d < coolDown-50*time.Millisecond {
		t.Errorf("a limiter sharing the key waited only %v of the %v cool-down", d, coolDown)
	}
	ev := obs.all()
	if len(ev) != 1 || ev[0].HeldBy != ratelimit.HeldByCoolDown || ev[0].Outcome != ratelimit.OutcomeSlot {
		t.Errorf("events %+v, want one slot held by the cool-down", ev)
	}
}

// A call that cannot get a slot within MaxWait is not sent, and says why;
// one whose context ends stops waiting; a Redis that does not answer is
// an error of its own.
func TestWaitGivesUp(t *testing.T) {
	t.Parallel()
	obs := &events{}
	l := newLimiter(t, client(t), ratelimit.Config{Rate: ratelimit.Rate{Calls: 1, Per: time.Hour}, CoolDown: time.Minute, MaxWait: 100 * time.Millisecond, Observer: obs})
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := l.Wait(ctx)
	if !errors.Is(err, upload.ErrRateLimit) {
		t.Fatalf("err = %v, want ErrRateLimit", err)
	}
	if d := time.Since(start); d > 90*time.Millisecond {
		t.Errorf("gave up after %v; a slot an hour away is known at once", d)
	}
	t.Log(err)
	l.Throttled(ctx)
	if err := l.Wait(ctx); !errors.Is(err, upload.ErrRateLimit) {
		t.Errorf("during a cool-down of a minute: %v", err)
	}

	long := newLimiter(t, client(t), ratelimit.Config{Key: "test:long", Rate: ratelimit.Rate{Calls: 1, Per: time.Minute}, MaxWait: time.Hour})
	if err := long.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := long.Wait(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}

	outcomes := map[string]int{}
	for _, e := range obs.all() {
		outcomes[e.Outcome]++
	}
	if outcomes[ratelimit.OutcomeSlot] != 1 || outcomes[ratelimit.OutcomeTimeout] != 2 {
		t.Errorf("outcomes %v", outcomes)
	}

	down := testproc.StartRedis(t)
	opt, _ := redis.ParseURL(down.URL())
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	down.Kill()
	gone := newLimiter(t, rdb, ratelimit.Config{Rate: ratelimit.Rate{Calls: 1, Per: time.Second}})
	if err := gone.Wait(ctx); err == nil || errors.Is(err, upload.ErrRateLimit) {
		t.Errorf("Redis away: err = %v, want Redis's error", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	rdb := client(t)
	one := ratelimit.Rate{Calls: 1, Per: time.Second}
	for _, cfg := range []ratelimit.Config{
		{Key: "k", Rate: one},
		{Redis: rdb, Rate: one},
		{Redis: rdb, Key: "k"},
		{Redis: rdb, Key: "k", Rate: one, Burst: -1},
		{Redis: rdb, Key: "k", Rate: one, MaxWait: -1},
	} {
		if _, err := ratelimit.New(cfg); !errors.Is(err, ratelimit.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]ratelimit.Rate{
		"20": {20, time.Second}, " 20/s ": {20, time.Second}, "300/m": {300, time.Minute}, "1000/h": {1000, time.Hour},
	} {
		got, err := ratelimit.ParseRate(s)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back, _ := ratelimit.ParseRate(got.String()); back != got {
			t.Errorf("%v does not read back", got)
		}
	}
	for _, s := range []string{"", "0", "-1", "2.5", "20/d", "20/", "/s", "twenty", "off"} {
		if _, err := ratelimit.ParseRate(s); !errors.Is(err, ratelimit.ErrRate) {
			t.Errorf("ParseRate(%q) = %v, want ErrRate", s, err)
		}
	}
}
