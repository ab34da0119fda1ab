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
	// Output:
	// 5 calls sent, the rate is 20/s
	// true
}

func ExampleParseRate() {
	for _, s := range []string{"20", "20/s", "300/m", "0", "5/d"} {
		r, err := ratelimit.ParseRate(s)
		fmt.Println(r, r.Interval(), err != nil)
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
	// Output:
	// 20/s for the fleet, burst 1, cool-down 5s
}
