// Package promtext reads the Prometheus text exposition format back into
// numbers, so tests can scrape /metrics over HTTP and assert on what a real
// Prometheus server would see.
//
// [Scrape] fetches and parses a URL; [Families.Value] picks one sample by
// metric name and label pairs. Counters, gauges and untyped samples give
// their value; histograms and summaries give their sample count, and their
// sums are available through [Families.Sum]. [Families.Check] is Value
// for tests: it reports a missing sample or another value as an error.
package promtext
