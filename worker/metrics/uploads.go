package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storemedia/alipay-media-worker/tasks"
)

// durationBuckets are the upper bounds, in seconds, of the upload duration
// histogram: from a quick small photo on loopback to a slow 5 MB video.
var durationBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Uploads counts what the upload handler does. It implements
// tasks.Observer and prometheus.Collector; build it with [NewUploads] and
// register it once. All methods are safe for concurrent use.
type Uploads struct {
	finished   *prometheus.CounterVec
	bytes      prometheus.Counter
	duration   *prometheus.HistogramVec
	retries    *prometheus.CounterVec
	throttled  prometheus.Counter
	rejections *prometheus.CounterVec
}

// NewUploads returns zeroed upload metrics.
func NewUploads() *Uploads {
	return &Uploads{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alipay_media_uploads_total",
			Help: "Upload attempts by outcome (success, retry, throttled, rejected) and reason (empty on success).",
		}, []string{"outcome", "reason"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alipay_media_upload_bytes_total",
			Help: "Bytes of media uploaded successfully.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "alipay_media_upload_duration_seconds",
			Help:    "Duration of upload attempts (open, validate, send, read the answer), by outcome.",
			Buckets: durationBuckets,
		}, []string{"outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alipay_media_upload_retries_total",
			Help: "Attempts that failed transiently and will be retried, by reason.",
		}, []string{"reason"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alipay_media_upload_throttled_total",
			Help: "Attempts throttled: by the gateway (code 40005, HTTP 429), or given no slot under the fleet's rate limit in time; retried later without spending the retry budget.",
		}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alipay_media_upload_rejections_total",
			Help: "Tasks failed permanently (archived), by reason: validation reasons such as type_mismatch or too_large, or the gateway's code.",
		}, []string{"reason"}),
	}
}

// Observe records one attempt: every attempt counts in
// alipay_media_uploads_total (by outcome and reason) and in the duration
// histogram (by outcome); a success adds its bytes; a retry, a throttled
// attempt and a rejection each count in their own series too. It implements
// tasks.Observer.
func (u *Uploads) Observe(a tasks.Attempt) {
	outcome := string(a.Outcome)
	// Reasons outside the known set (a gateway code never seen before, a
	// forged answer's invented one) all count as "other", so that the
	// number of series stays bounded whatever the gateway answers.
	reason := string(tasks.Reason(a.Reason).Bounded())
	u.finished.WithLabelValues(outcome, reason).Inc()
	if a.Bytes > 0 {
		u.bytes.Add(float64(a.Bytes))
	}
	u.duration.WithLabelValues(outcome).Observe(a.Duration.Seconds())
	switch a.Outcome {
	case tasks.OutcomeRetry:
		u.retries.WithLabelValues(reason).Inc()
	case tasks.OutcomeThrottled:
		u.throttled.Inc()
	case tasks.OutcomeRejected:
		u.rejections.WithLabelValues(reason).Inc()
	}
}

// group is several collectors described and collected as one.
type group []prometheus.Collector

func (g group) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range g {
		c.Describe(ch)
	}
}

func (g group) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g {
		c.Collect(ch)
	}
}

func (u *Uploads) collectors() group {
	return group{u.finished, u.bytes, u.duration, u.retries, u.throttled, u.rejections}
}

// Describe implements prometheus.Collector.
func (u *Uploads) Describe(ch chan<- *prometheus.Desc) { u.collectors().Describe(ch) }

// Collect implements prometheus.Collector.
func (u *Uploads) Collect(ch chan<- prometheus.Metric) { u.collectors().Collect(ch) }
