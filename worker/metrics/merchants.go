package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storemedia/alipay-media-worker/merchant"
)

// merchantsScrapeTimeout bounds the Redis read of one scrape.
const merchantsScrapeTimeout = 5 * time.Second

// Merchants exports a merchant.Store's counts, read at each scrape:
// alipay_media_merchant_refreshes_total{outcome} (this process's refresh
// calls to Alipay by outcome, each of merchant.RefreshOutcomes) and
// alipay_media_merchants_reauthorization_required (merchants, fleet-wide,
// that must authorize the app again; left out of a scrape when Redis
// cannot be read). Build it with [NewMerchants].
type Merchants struct {
	stats     func(context.Context) (merchant.Stats, error)
	log       *slog.Logger
	refreshes *prometheus.Desc
	reauth    *prometheus.Desc
}

// NewMerchants returns the collector over stats, usually
// (*merchant.Store).Stats; logger (nil: discard) gets a line when Redis
// cannot be read.
func NewMerchants(stats func(context.Context) (merchant.Stats, error), logger *slog.Logger) *Merchants {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Merchants{
		stats: stats,
		log:   logger,
		refreshes: prometheus.NewDesc("alipay_media_merchant_refreshes_total",
			"Refreshes of merchants' app_auth_tokens by outcome: success, refused (the merchant must authorize again), failed (transient; retried).",
			[]string{"outcome"}, nil),
		reauth: prometheus.NewDesc("alipay_media_merchants_reauthorization_required",
			"Merchants whose authorization Alipay refused: their jobs fail until they authorize the app again.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Merchants) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.refreshes
	ch <- m.reauth
}

// Collect implements prometheus.Collector.
func (m *Merchants) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), merchantsScrapeTimeout)
	defer cancel()
	st, err := m.stats(ctx)
	for _, o := range merchant.RefreshOutcomes {
		ch <- prometheus.MustNewConstMetric(m.refreshes, prometheus.CounterValue, float64(st.Refreshes[o]), o)
	}
	if err != nil {
		m.log.Warn("metrics: cannot count merchants needing reauthorization", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.reauth, prometheus.GaugeValue, float64(st.ReauthorizationRequired))
}
