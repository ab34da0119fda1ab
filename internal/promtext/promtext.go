package promtext

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrNoSample is returned when no sample matches a name and labels.
var ErrNoSample = errors.New("promtext: no such sample")

// Families are parsed metric families keyed by metric name.
type Families map[string]*dto.MetricFamily

// Parse reads the text exposition format.
func Parse(r io.Reader) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("promtext: parse: %w", err)
	}
	return fams, nil
}

// Scrape GETs url with client (http.DefaultClient when nil), asking for the
// text format, and parses the answer. A status other than 200 is an error.
func Scrape(client *http.Client, url string) (Families, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("promtext: %w", err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtext: scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("promtext: scrape %s: status %d: %s", url, resp.StatusCode, body)
	}
	return Parse(resp.Body)
}

// Value returns the value of the sample of metric name whose labels include
// every given pair (labels alternate name, value). For histograms and
// summaries it returns the sample count.
func (f Families) Value(name string, labels ...string) (float64, error) {
	m, err := f.find(name, labels)
	if err != nil {
		return 0, err
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), nil
	case m.Gauge != nil:
		return m.Gauge.GetValue(), nil
	case m.Untyped != nil:
		return m.Untyped.GetValue(), nil
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), nil
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount()), nil
	}
	return 0, fmt.Errorf("%w: %s has no value", ErrNoSample, name)
}

// Reporter is the part of testing.TB that [Families.Check] reports
// through; the package does not import testing.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Check reports through r.Errorf, without stopping the test, when the
// sample that [Families.Value] finds for name and labels is missing or
// holds another value than want.
func (f Families) Check(r Reporter, want float64, name string, labels ...string) {
	r.Helper()
	got, err := f.Value(name, labels...)
	switch {
	case err != nil:
		r.Errorf("%s%q: %v", name, labels, err)
	case got != want:
		r.Errorf("%s%q = %v, want %v", name, labels, got, want)
	}
}

// Sum returns the sample sum of a histogram or summary.
func (f Families) Sum(name string, labels ...string) (float64, error) {
	m, err := f.find(name, labels)
	if err != nil {
		return 0, err
	}
	switch {
	case m.Histogram != nil:
		return m.Histogram.GetSampleSum(), nil
	case m.Summary != nil:
		return m.Summary.GetSampleSum(), nil
	}
	return 0, fmt.Errorf("%w: %s is not a histogram or summary", ErrNoSample, name)
}

func (f Families) find(name string, labels []string) (*dto.Metric, error) {
	if len(labels)%2 != 0 {
		return nil, fmt.Errorf("promtext: odd number of label arguments %q", labels)
	}
	fam, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("%w: metric %s absent", ErrNoSample, name)
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i < len(labels); i += 2 {
			if v, ok := have[labels[i]]; !ok || v != labels[i+1] {
				continue next
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: %s%q", ErrNoSample, name, labels)
}
