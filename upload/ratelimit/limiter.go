package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/upload"
)

// Defaults of [Config].
const (
	DefaultBurst    = 1
	DefaultCoolDown = 5 * time.Second
	DefaultMaxWait  = 30 * time.Second
)

// Config configures a [Limiter]. Every limiter of a fleet that shares one
// limit must be given the same Redis, Key, Rate and Burst.
type Config struct {
	// Redis holds the limit's state. Required. A Redis Cluster works: the
	// limit's keys are used one at a time.
	Redis redis.UniversalClient
	// Key names the limit, one per app_id (Alipay limits calls per app),
	// e.g. "alipay-media-worker:rate:2021000000000001". Required. The
	// limit's state is kept under "rate:" + Key (the prefix is
	// redis_rate's), the cool-down under Key + ":cooldown".
	Key string
	// Rate is the steady rate of the whole fleet. Required.
	Rate Rate
	// Burst is how many calls may go at once after a quiet spell; in any
	// period (Rate.Per) the fleet makes at most Rate.Calls + Burst calls.
	// Default 1 (none beyond the steady pace).
	Burst int
	// CoolDown is how long the whole fleet sends nothing after any of its
	// calls was throttled (40005, HTTP 429). Default [DefaultCoolDown];
	// negative: no cool-down (each caller only handles its own throttled
	// call).
	CoolDown time.Duration
	// MaxWait bounds how long one call waits for its slot: a call that
	// would wait longer is not sent and gets [upload.ErrRateLimit] (the
	// upload is throttled and tried again later). Default
	// [DefaultMaxWait].
	MaxWait time.Duration
	// Observer is told how long every call waited and of every cool-down
	// this limiter starts. Default: none.
	Observer Observer
	// Logger receives a record for every cool-down started, and for Redis
	// failures. Default: discard.
	Logger *slog.Logger
}

// Observer is told what a [Limiter] does; worker/metrics turns it into
// metrics.
type Observer interface {
	Observe(Event)
}

// Event is one thing a [Limiter] did: a call's wait, or a cool-down it
// started.
type Event struct {
	// CoolDown is set when the limiter started a fleet cool-down after a
	// throttled answer; the other fields are then zero.
	CoolDown bool
	// Outcome is how a call's wait ended: [OutcomeSlot] (sent),
	// [OutcomeTimeout] (no slot within MaxWait), [OutcomeCancelled] (its
	// context ended) or [OutcomeError] (Redis failed).
	Outcome string
	// Waited is how long the call waited: zero when it went at once.
	Waited time.Duration
	// HeldBy says what made it wait: "" (nothing), [HeldByRate] or
	// [HeldByCoolDown] (the latter when a cool-down held it at all).
	HeldBy string
}

// Outcomes of a call's wait and causes of waiting, as [Event] gives them.
const (
	OutcomeSlot      = "slot"
	OutcomeTimeout   = "timeout"
	OutcomeCancelled = "cancelled"
	OutcomeError     = "error"

	HeldByRate     = "rate"
	HeldByCoolDown = "cooldown"
)

// ErrConfig reports an invalid [Config].
var ErrConfig = errors.New("ratelimit: invalid config")

// Limiter keeps every caller sharing its Redis key, in any number of
// processes, under one rate: a GCRA (generic cell rate algorithm) kept in
// Redis by github.com/go-redis/redis_rate, plus a cool-down every caller
// honours once any of them was throttled. It implements [upload.Limiter];
// it is safe for concurrent use.
type Limiter struct {
	rdb      redis.UniversalClient
	gcra     *redis_rate.Limiter
	rateKey  string // redis_rate's key (it adds its "rate:" prefix)
	coolKey  string
	limit    redis_rate.Limit
	coolDown time.Duration // <= 0: none
	maxWait  time.Duration
	obs      Observer
	log      *slog.Logger
	// turn lets one call of this process at a time ask Redis for a slot;
	// the others queue behind it, in order, without asking.
	turn chan struct{}
}

// New checks cfg and returns a Limiter. It does not talk to Redis.
func New(cfg Config) (*Limiter, error) {
	cfg.Burst = cmp.Or(cfg.Burst, DefaultBurst)
	cfg.CoolDown = cmp.Or(cfg.CoolDown, DefaultCoolDown)
	cfg.MaxWait = cmp.Or(cfg.MaxWait, DefaultMaxWait)
	switch {
	case cfg.Redis == nil:
		return nil, fmt.Errorf("%w: Redis is required", ErrConfig)
	case cfg.Key == "":
		return nil, fmt.Errorf("%w: Key is required (one per app_id)", ErrConfig)
	case cfg.Rate.Calls <= 0 || cfg.Rate.Per <= 0:
		return nil, fmt.Errorf("%w: Rate %v is not a positive number of calls per period", ErrConfig, cfg.Rate)
	case cfg.Burst < 0:
		return nil, fmt.Errorf("%w: Burst %d is negative", ErrConfig, cfg.Burst)
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("%w: MaxWait %v is negative", ErrConfig, cfg.MaxWait)
	}
	l := &Limiter{
		rdb:      cfg.Redis,
		gcra:     redis_rate.NewLimiter(cfg.Redis),
		rateKey:  cfg.Key,
		coolKey:  cfg.Key + ":cooldown",
		limit:    redis_rate.Limit{Rate: cfg.Rate.Calls, Period: cfg.Rate.Per, Burst: cfg.Burst},
		coolDown: cfg.CoolDown,
		maxWait:  cfg.MaxWait,
		obs:      cfg.Observer,
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		turn:     make(chan struct{}, 1),
	}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	return l, nil
}

type nopObserver struct{}

func (nopObserver) Observe(Event) {}

// Wait blocks until the fleet's limit gives the caller a slot: no
// cool-down is running and the shared rate allows one more call now. It
// implements [upload.Limiter]. It returns an error wrapping
// [upload.ErrRateLimit] when no slot can come within MaxWait, ctx.Err()
// when ctx ends first, and Redis's error when Redis fails.
func (l *Limiter) Wait(ctx context.Context) error {
	start := time.Now()
	deadline := time.NewTimer(l.maxWait)
	defer deadline.Stop()
	heldBy := ""
	done := func(outcome string, err error) error {
		l.obs.Observe(Event{Outcome: outcome, Waited: time.Since(start), HeldBy: heldBy})
		return err
	}
	gaveUp := func(why string) error {
		return done(OutcomeTimeout, fmt.Errorf("%w: none within %v (%s)%s", upload.ErrRateLimit, l.maxWait, l.describe(), why))
	}
	select {
	case l.turn <- struct{}{}:
	default:
		heldBy = HeldByRate // other calls of this process are ahead
		select {
		case l.turn <- struct{}{}:
		case <-ctx.Done():
			return done(OutcomeCancelled, ctx.Err())
		case <-deadline.C:
			return gaveUp("")
		}
	}
	defer func() { <-l.turn }()
	for {
		d, by, err := l.next(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return done(OutcomeCancelled, ctx.Err())
		case err != nil:
			l.log.Warn("the fleet rate limit cannot reach Redis; the call is not sent", "err", err)
			return done(OutcomeError, fmt.Errorf("ratelimit: %w", err))
		case d <= 0:
			return done(OutcomeSlot, nil)
		}
		if heldBy != HeldByCoolDown {
			heldBy = by
		}
		if time.Since(start)+d > l.maxWait {
			why := ""
			if by == HeldByCoolDown {
				why = fmt.Sprintf("; the fleet cools down for another %v after a throttled call", d.Round(time.Millisecond))
			}
			return gaveUp(why)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return done(OutcomeCancelled, ctx.Err())
		}
	}
}

// next asks Redis whether a call may go now: it returns 0 and takes the
// slot, or how long to wait before asking again and what holds the call.
func (l *Limiter) next(ctx context.Context) (time.Duration, string, error) {
	if l.coolDown > 0 {
		left, err := l.rdb.PTTL(ctx, l.coolKey).Result()
		if err != nil {
			return 0, "", err
		}
		if left > 0 {
			return left, HeldByCoolDown, nil
		}
	}
	res, err := l.gcra.Allow(ctx, l.rateKey, l.limit)
	if err != nil {
		return 0, "", err
	}
	if res.Allowed > 0 {
		return 0, "", nil
	}
	return max(res.RetryAfter, time.Millisecond), HeldByRate, nil
}

// Throttled starts a fleet cool-down: for CoolDown from now, no caller
// sharing the limit sends anything (a cool-down already running is made to
// end CoolDown from now). It implements [upload.Limiter]; a Redis failure
// is logged.
func (l *Limiter) Throttled(ctx context.Context) {
	if l.coolDown <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.rdb.Set(ctx, l.coolKey, time.Now().UTC().Format(time.RFC3339Nano), l.coolDown).Err(); err != nil {
		l.log.Warn("the gateway throttled a call, and the fleet's cool-down could not be set in Redis", "err", err)
		return
	}
	l.log.Warn("the gateway throttled a call: the whole fleet pauses its calls", "cool_down", l.coolDown, "limit", l.describe())
	l.obs.Observe(Event{CoolDown: true})
}

// CoolingDown returns how long the fleet's current cool-down still runs,
// zero when none does.
func (l *Limiter) CoolingDown(ctx context.Context) (time.Duration, error) {
	left, err := l.rdb.PTTL(ctx, l.coolKey).Result()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %w", err)
	}
	return max(left, 0), nil
}

// String describes the limit for log lines: "20/s for the fleet, burst 5,
// cool-down 5s" (cool-down "none" when there is none).
func (l *Limiter) String() string {
	coolDown := "none"
	if l.coolDown > 0 {
		coolDown = l.coolDown.String()
	}
	return fmt.Sprintf("%v for the fleet, burst %d, cool-down %s", Rate{Calls: l.limit.Rate, Per: l.limit.Period}, l.limit.Burst, coolDown)
}

// describe is the limit for messages: "20/s, burst 5".
func (l *Limiter) describe() string {
	return fmt.Sprintf("limit %s, burst %d", Rate{Calls: l.limit.Rate, Per: l.limit.Period}, l.limit.Burst)
}

var _ upload.Limiter = (*Limiter)(nil)
