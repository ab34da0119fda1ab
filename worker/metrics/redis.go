package metrics

import "github.com/prometheus/client_golang/prometheus"

// NewRedisDataLost returns the counter alipay_media_redis_data_lost_total,
// read from losses at each scrape: how many times the worker found that
// Redis lost its data (tasks.RedisWatch.Losses).
func NewRedisDataLost(losses func() int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "alipay_media_redis_data_lost_total",
		Help: "Times the worker found that Redis lost its data (restarted without persistence, flushed, or evicting keys): the tasks queued before are gone.",
	}, func() float64 { return float64(losses()) })
}
