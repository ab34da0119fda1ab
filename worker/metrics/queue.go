package metrics

import (
	"log/slog"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueInspector is the part of *asynq.Inspector that [QueueCollector]
// calls. asynq's Inspector methods take no context, so a scrape cannot be
// cancelled by the request that asked for it; each call is bounded by the
// Redis client's own read and write timeouts (go-redis: 3s by default).
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

// Task states reported in the state label of asynq_queue_tasks.
var taskStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed", "aggregating"}

// QueueCollector is a prometheus.Collector over asynq's queues. Build it
// with [NewQueueCollector].
type QueueCollector struct {
	insp QueueInspector
	log  *slog.Logger

	up        *prometheus.Desc
	tasks     *prometheus.Desc
	size      *prometheus.Desc
	latency   *prometheus.Desc
	memory    *prometheus.Desc
	processed *prometheus.Desc
	failed    *prometheus.Desc
	paused    *prometheus.Desc

	// mu serialises scrapes so that two concurrent scrapes do not double
	// the load on Redis.
	mu sync.Mutex
}

// NewQueueCollector returns a collector reading queues through insp. A nil
// logger discards the collector's log lines (it logs when Redis cannot be
// read).
func NewQueueCollector(insp QueueInspector, logger *slog.Logger) *QueueCollector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	q := []string{"queue"}
	return &QueueCollector{
		insp: insp,
		log:  logger,
		up: prometheus.NewDesc("asynq_inspector_up",
			"1 if the last scrape read every queue from Redis, 0 if it failed.", nil, nil),
		tasks: prometheus.NewDesc("asynq_queue_tasks",
			"Number of tasks in the queue, by state.", []string{"queue", "state"}, nil),
		size: prometheus.NewDesc("asynq_queue_size",
			"Number of tasks in the queue (pending, active, scheduled, retry, aggregating and archived).", q, nil),
		latency: prometheus.NewDesc("asynq_queue_latency_seconds",
			"Age of the oldest pending task in the queue.", q, nil),
		memory: prometheus.NewDesc("asynq_queue_memory_usage_approx_bytes",
			"Approximate Redis memory used by the queue and its tasks (sampled).", q, nil),
		processed: prometheus.NewDesc("asynq_tasks_processed_total",
			"Tasks processed by the queue's workers, succeeded or failed, since the queue was created.", q, nil),
		failed: prometheus.NewDesc("asynq_tasks_failed_total",
			"Task attempts that failed, since the queue was created.", q, nil),
		paused: prometheus.NewDesc("asynq_queue_paused",
			"1 if the queue is paused, 0 otherwise.", q, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.tasks, c.size, c.latency, c.memory, c.processed, c.failed, c.paused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads every queue now.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos, err := c.read()
	if err != nil {
		c.log.Warn("metrics: cannot read asynq queues", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, in := range infos {
		counts := []int{in.Pending, in.Active, in.Scheduled, in.Retry, in.Archived, in.Completed, in.Aggregating}
		for i, state := range taskStates {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(counts[i]), in.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(in.Size), in.Queue)
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, in.Latency.Seconds(), in.Queue)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(in.MemoryUsage), in.Queue)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(in.ProcessedTotal), in.Queue)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(in.FailedTotal), in.Queue)
		paused := 0.0
		if in.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, paused, in.Queue)
	}
}

// read fetches every queue's info; one failure fails the whole read, so a
// scrape never mixes fresh and missing queues.
func (c *QueueCollector) read() ([]*asynq.QueueInfo, error) {
	names, err := c.insp.Queues()
	if err != nil {
		return nil, err
	}
	infos := make([]*asynq.QueueInfo, 0, len(names))
	for _, n := range names {
		in, err := c.insp.GetQueueInfo(n)
		if err != nil {
			return nil, err
		}
		infos = append(infos, in)
	}
	return infos, nil
}
