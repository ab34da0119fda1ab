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
		buildinfo.Collector(),
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
