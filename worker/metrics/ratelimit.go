package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

// waitBuckets are the upper bounds, in seconds, of the rate limit wait
// histogram: from a slot at once to a wait of the default MaxWait.
var waitBuckets = []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// RateLimit counts what the fleet rate limit (upload/ratelimit) does in
// this worker. It implements ratelimit.Observer and prometheus.Collector;
// build it with [NewRateLimit] and register it once. All methods are safe
// for concurrent use.
type RateLimit struct {
	wait      *prometheus.HistogramVec
	held      *prometheus.CounterVec
	coolDowns prometheus.Counter
}

// NewRateLimit returns zeroed rate limit metrics.
func NewRateLimit() *RateLimit {
	return &RateLimit{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "alipay_media_rate_wait_seconds",
			Help:    "Time each call to the gateway waited for its slot under the fleet rate limit, by outcome (slot: sent; timeout: no slot within the max wait, throttled; cancelled; error: Redis failed).",
			Buckets: waitBuckets,
		}, []string{"outcome"}),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alipay_media_rate_held_total",
			Help: "Calls that had to wait under the fleet rate limit, by what held them (rate, or cooldown after a throttled answer anywhere in the fleet).",
		}, []string{"by"}),
		coolDowns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alipay_media_rate_cooldowns_total",
			Help: "Fleet-wide cool-downs this worker started after the gateway throttled one of its calls.",
		}),
	}
}

// Observe records one event of the limiter. It implements
// ratelimit.Observer.
func (r *RateLimit) Observe(e ratelimit.Event) {
	if e.CoolDown {
		r.coolDowns.Inc()
		return
	}
	r.wait.WithLabelValues(e.Outcome).Observe(e.Waited.Seconds())
	if e.HeldBy != "" {
		r.held.WithLabelValues(e.HeldBy).Inc()
	}
}

func (r *RateLimit) collectors() group {
	return group{r.wait, r.held, r.coolDowns}
}

// Describe implements prometheus.Collector.
func (r *RateLimit) Describe(ch chan<- *prometheus.Desc) { r.collectors().Describe(ch) }

// Collect implements prometheus.Collector.
func (r *RateLimit) Collect(ch chan<- prometheus.Metric) { r.collectors().Collect(ch) }
