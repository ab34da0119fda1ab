package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/storemedia/alipay-media-worker/internal/buildinfo"
)

// apiMetrics are what /metrics serves: requests by route and status,
// their durations by route, the build, and Go's runtime and the process's
// collectors. Route labels are the server's own patterns ("other" for
// anything else), so a client cannot grow the number of series.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newAPIMetrics() *apiMetrics {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alipay_media_api_requests_total",
			Help: "Requests to the enqueue API, by route (the server's pattern, or other) and HTTP status.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "alipay_media_api_request_duration_seconds",
			Help:    "Duration of requests to the enqueue API (long polls included), by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.requests, m.duration, buildinfo.Collector(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe records one request that the mux routed to pattern ("" when
// none matched).
func (m *apiMetrics) observe(pattern string, status int, d time.Duration) {
	route := pattern
	if route == "" || route == "/" {
		route = "other"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
