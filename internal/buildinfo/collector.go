package buildinfo

import "github.com/prometheus/client_golang/prometheus"

// Collector is the alipay_media_build_info gauge of the running build:
// always 1, its labels version, revision and go_version name the build as
// --version prints it. Every process that serves /metrics registers it.
func Collector() prometheus.Collector {
	in := Read()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "alipay_media_build_info",
		Help: "Always 1; the labels name the running build (module version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{
			"version":    in.Version,
			"revision":   in.Revision,
			"go_version": in.GoVersion,
		},
	})
	g.Set(1)
	return g
}
