package metrics_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

func ExampleUploads() {
	u := metrics.NewUploads()
	reg, err := metrics.NewRegistry(nil, nil, u)
	if err != nil {
		panic(err)
	}
	// The task handler reports each attempt through its Observer hook.
	u.Observe(tasks.Attempt{Outcome: tasks.OutcomeSuccess, Bytes: 2048, Duration: 300 * time.Millisecond})
	u.Observe(tasks.Attempt{Outcome: tasks.OutcomeRejected, Reason: "type_mismatch", Duration: 5 * time.Millisecond})

	text, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain,
		"alipay_media_upload_bytes_total", "alipay_media_upload_rejections_total")
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(text)
	// Output:
	// # HELP alipay_media_upload_bytes_total Bytes of media uploaded successfully.
	// # TYPE alipay_media_upload_bytes_total counter
	// alipay_media_upload_bytes_total 2048
	// # HELP alipay_media_upload_rejections_total Tasks failed permanently (archived), by reason: validation reasons such as type_mismatch or too_large, or the gateway's code.
	// # TYPE alipay_media_upload_rejections_total counter
	// alipay_media_upload_rejections_total{reason="type_mismatch"} 1
}

func ExampleNewQueueCollector() {
	// In the worker, insp is an *asynq.Inspector; here a fixed one.
	c := metrics.NewQueueCollector(brokenInspector{}, nil)
	fmt.Println(testutil.CollectAndCount(c, "asynq_inspector_up"))
	// Output: 1
}

func ExampleNewRedisDataLost() {
	// In the worker, the count is its tasks.RedisWatch's Losses.
	c := metrics.NewRedisDataLost(func() int64 { return 1 })
	fmt.Println(testutil.ToFloat64(c))
	// Output: 1
}

func ExampleNewMerchants() {
	// In the worker, stats is its merchant.Store's Stats.
	c := metrics.NewMerchants(func(context.Context) (merchant.Stats, error) {
		return merchant.Stats{Refreshes: map[string]int64{merchant.OutcomeSuccess: 3}, ReauthorizationRequired: 1}, nil
	}, nil)
	reg, err := metrics.NewRegistry(nil, nil, c)
	if err != nil {
		panic(err)
	}
	text, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain,
		"alipay_media_merchant_refreshes_total", "alipay_media_merchants_reauthorization_required")
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(text)
	// Output:
	// # HELP alipay_media_merchant_refreshes_total Refreshes of merchants' app_auth_tokens by outcome: success, refused (the merchant must authorize again), failed (transient; retried).
	// # TYPE alipay_media_merchant_refreshes_total counter
	// alipay_media_merchant_refreshes_total{outcome="failed"} 0
	// alipay_media_merchant_refreshes_total{outcome="refused"} 0
	// alipay_media_merchant_refreshes_total{outcome="success"} 3
	// # HELP alipay_media_merchants_reauthorization_required Merchants whose authorization Alipay refused: their jobs fail until they authorize the app again.
	// # TYPE alipay_media_merchants_reauthorization_required gauge
	// alipay_media_merchants_reauthorization_required 1
}
