package upload_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// processLimiter paces the calls of one process with golang.org/x/time/rate
// (a fleet shares upload/ratelimit's limiter instead), and counts the
// throttled answers it is told of.
type processLimiter struct {
	*rate.Limiter
	throttled atomic.Int32 // called from every uploading goroutine
}

func (l *processLimiter) Wait(ctx context.Context) error { return l.Limiter.Wait(ctx) }
func (l *processLimiter) Throttled(context.Context)      { l.throttled.Add(1) }

// A client that waits for its Limiter before every call and tells it of
// throttled answers.
func ExampleLimiter() {
	keys := alipaytest.TestKeys()
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	lim := &processLimiter{Limiter: rate.NewLimiter(20, 1)} // 20 calls a second
	client, err := upload.New(upload.Config{
		AppID:           alipaytest.TestAppID,
		GatewayURL:      srv.URL,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: srv.PublicKey(),
		Limiter:         lim,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = srv.Faults().Next(alipaytest.FaultThrottled, 1)
	for i := range 3 {
		_, err := client.Upload(context.Background(), request(mediagen.Sample("jpg", uint64(i)), "jpg", "paced"))
		if err != nil {
			fmt.Println("upload", i, upload.Classify(err))
			continue
		}
		fmt.Println("upload", i, "done")
	}
	fmt.Println("throttled answers reported:", lim.throttled.Load())
	// Output:
	// upload 0 throttled
	// upload 1 done
	// upload 2 done
	// throttled answers reported: 1
}
