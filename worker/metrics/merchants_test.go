package metrics_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// When Redis cannot be read, the refresh counters are still exported and
// the gauge is left out rather than reported as 0.
func TestMerchantsRedisDown(t *testing.T) {
	t.Parallel()
	c := metrics.NewMerchants(func(context.Context) (merchant.Stats, error) {
		return merchant.Stats{Refreshes: map[string]int64{merchant.OutcomeFailed: 2}}, errors.New("redis: connection refused")
	}, nil)
	if n := testutil.CollectAndCount(c, "alipay_media_merchants_reauthorization_required"); n != 0 {
		t.Errorf("gauge exported %d times with Redis down", n)
	}
	if n := testutil.CollectAndCount(c, "alipay_media_merchant_refreshes_total"); n != len(merchant.RefreshOutcomes) {
		t.Errorf("%d refresh series, want %d", n, len(merchant.RefreshOutcomes))
	}
}
