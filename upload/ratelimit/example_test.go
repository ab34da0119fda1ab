package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

// One limit for every worker of the app: 20 calls a second, bursts of 5,
// and a fleet-wide pause of 2 seconds after a throttled answer. Set the
// limiter as upload.Config.Limiter; here it is asked directly.
func Example() {
	var events eventLog
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	rate, err := ratelimit.ParseRate("20/s")
	if err != nil {
		panic(err)
	}
	lim, err := ratelimit.New(ratelimit.Config{
		Redis:    rdb,
		Key:      "example:rate:2021000000000001",
		Rate:     rate,
		Burst:    5,
		CoolDown: 2 * time.Second,
		MaxWait:  time.Second,
		Observer: &events,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 5 { // the burst goes at once
		if err := lim.Wait(ctx); err != nil {
			panic(err)
		}
	}
	fmt.Println("5 calls sent, the rate is", rate)

	// A worker's call was throttled: every limiter sharing the key pauses.
	lim.Throttled(ctx)
	err = lim.Wait(ctx) // the pause outlasts MaxWait: the call is not sent
	fmt.Println(errors.Is(err, upload.ErrRateLimit))
	left, err := lim.CoolingDown(ctx)
	fmt.Println("cool-down left:", left > 0 && left <= 2*time.Second, err)

	// The observer (worker/metrics in the worker) saw each wait end.
	for _, ev := range events {
		switch {
		case ev.CoolDown:
			fmt.Println("cool-down started")
		case ev.Outcome == ratelimit.OutcomeSlot && ev.HeldBy == "":
			fmt.Print("sent at once; ")
		case ev.Outcome == ratelimit.OutcomeTimeout && ev.HeldBy == ratelimit.HeldByCoolDown:
			fmt.Println("gave up, held by the cool-down")
		case ev.HeldBy == ratelimit.HeldByRate, ev.Outcome == ratelimit.OutcomeCancelled, ev.Outcome == ratelimit.OutcomeError:
			fmt.Println("held by the rate, or the caller or Redis gave up")
		}
	}
	// Output:
	// 5 calls sent, the rate is 20/s
	// true
	// cool-down left: true <nil>
	// sent at once; sent at once; sent at once; sent at once; sent at once; cool-down started
	// gave up, held by the cool-down
}

// eventLog keeps what a limiter reports.
type eventLog []ratelimit.Event

func (l *eventLog) Observe(ev ratelimit.Event) { *l = append(*l, ev) }

func ExampleParseRate() {
	for _, s := range []string{"20", "20/s", "300/m", "0", "5/d"} {
		r, err := ratelimit.ParseRate(s)
		fmt.Println(r, r.Interval(), errors.Is(err, ratelimit.ErrRate))
	}
	// Output:
	// 20/s 50ms false
	// 20/s 50ms false
	// 300/m 200ms false
	// 0/0s 0s true
	// 0/0s 0s true
}

func ExampleLimiter_String() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:0"}) // New does not talk to Redis
	defer rdb.Close()
	lim, err := ratelimit.New(ratelimit.Config{Redis: rdb, Key: "example:rate:app", Rate: ratelimit.Rate{Calls: 20, Per: time.Second}})
	if err != nil {
		panic(err)
	}
	fmt.Println(lim)
	_, err = ratelimit.New(ratelimit.Config{Redis: rdb, Key: "example:rate:app"})
	fmt.Println(errors.Is(err, ratelimit.ErrConfig))
	// Output:
	// 20/s for the fleet, burst 1, cool-down 5s
	// true
}
