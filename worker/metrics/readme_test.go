package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storemedia/alipay-media-worker/internal/buildinfo"
)

// TestREADMEListsEveryMetric: the README's table of metrics names every
// metric the worker exports (beside Go's go_* and process_* ones), with
// its labels, and no metric it does not export.
func TestREADMEListsEveryMetric(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([^|]*)\\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		if !strings.HasPrefix(m[1], "asynq_") && !strings.HasPrefix(m[1], "alipay_media_") {
			continue
		}
		var labels []string
		for l := range strings.SplitSeq(strings.TrimSpace(m[2]), ", ") {
			if l != "" {
				labels = append(labels, strings.Trim(l, "`"))
			}
		}
		documented[m[1]] = labels
	}

	exported := map[string][]string{}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		NewQueueCollector(nil, nil).Describe(ch)
		NewUploads().Describe(ch)
		buildinfo.Collector().Describe(ch)
		NewRedisDataLost(func() int64 { return 0 }).Describe(ch)
		NewMerchants(nil, nil).Describe(ch)
		NewRateLimit().Describe(ch)
		close(ch)
	}()
	// A Desc says its name and labels only in its String form.
	desc := regexp.MustCompile(`fqName: "([a-z_]+)".*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}`)
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read %s", d)
		}
		var labels []string
		for _, part := range []string{m[2], m[3]} {
			for l := range strings.SplitSeq(part, ",") {
				if name, _, _ := strings.Cut(l, "="); name != "" {
					labels = append(labels, name)
				}
			}
		}
		exported[m[1]] = labels
	}
	if len(exported) < 10 {
		t.Fatalf("only %d metrics described: %v", len(exported), exported)
	}
	for name, labels := range exported {
		doc, ok := documented[name]
		if !ok {
			t.Errorf("README.md does not list the metric %s", name)
			continue
		}
		slices.Sort(labels)
		slices.Sort(doc)
		if !slices.Equal(labels, doc) {
			t.Errorf("README.md gives %s the labels %v, the worker %v", name, doc, labels)
		}
	}
	for name := range documented {
		if _, ok := exported[name]; !ok {
			t.Errorf("README.md lists the metric %s, which the worker does not export", name)
		}
	}
}
