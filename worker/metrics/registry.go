package metrics

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/storemedia/alipay-media-worker/internal/buildinfo"
)

// NewRegistry returns a registry holding a [QueueCollector] over insp, the Go
// runtime and process collectors, alipay_media_build_info (always 1; its
// labels version, revision and go_version name the running build, as
// --version prints it), and every collector in extra (typically
// an [Uploads]). insp may be nil to leave queue metrics out. It fails if two
// collectors export the same metric.
func NewRegistry(insp QueueInspector, logger *slog.Logger, extra ...prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	all := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo(buildinfo.Read()),
	}
	if insp != nil {
		all = append(all, NewQueueCollector(insp, logger))
	}
	all = append(all, extra...)
	for _, c := range all {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register %T: %w", c, err)
		}
	}
	return reg, nil
}

// newBuildInfo is the alipay_media_build_info gauge of the build in.
func newBuildInfo(in buildinfo.Info) prometheus.Collector {
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
