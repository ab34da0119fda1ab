// Package metrics holds the Prometheus collectors the worker exports on
// /metrics.
//
// # Queue metrics
//
// [QueueCollector] reads the state of every asynq queue through an
// [QueueInspector] (in production an *asynq.Inspector) each time Prometheus
// scrapes. It reports how many tasks sit in each state, the latency of the
// oldest pending task, the cumulative processed and failed totals and
// whether the queue is paused. Nothing is cached and nothing runs in the
// background: a scrape costs a handful of Redis round trips per queue. When
// Redis cannot be read, the scrape still succeeds and asynq_inspector_up
// drops to 0, so an alert can fire on that one series.
//
// # Upload metrics
//
// [Uploads] counts what the upload handler does: finished uploads by outcome
// and reason, bytes sent, how long each upload took, retries, throttling by
// the gateway and files rejected by validation. It implements the task
// handler's observer hook, so the worker passes one value to the handler and
// registers the same value with its registry. A reason label is one of
// tasks.KnownReasons or "other" (tasks.Reason.Bounded): a gateway that
// answers a new code on every request does not add a series each time.
//
// [NewRegistry] builds the registry the worker serves: the queue collector,
// the upload metrics, and the Go runtime and process collectors.
package metrics
