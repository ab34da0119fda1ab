package promtext

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

const sample = `# HELP jobs_total Jobs.
# TYPE jobs_total counter
jobs_total{queue="a",state="done"} 3
jobs_total{queue="b",state="done"} 5
# TYPE up gauge
up 1
# TYPE took_seconds histogram
took_seconds_bucket{le="1"} 2
took_seconds_bucket{le="+Inf"} 3
took_seconds_sum 4.5
took_seconds_count 3
`

func TestParseAndValue(t *testing.T) {
	t.Parallel()
	f, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"jobs_total", []string{"queue", "b"}, 5},
		{"jobs_total", []string{"queue", "a", "state", "done"}, 3},
		{"up", nil, 1},
		{"took_seconds", nil, 3},
	} {
		got, err := f.Value(tc.name, tc.labels...)
		if err != nil || got != tc.want {
			t.Errorf("Value(%s, %q) = %v, %v; want %v", tc.name, tc.labels, got, err, tc.want)
		}
	}
	if s, err := f.Sum("took_seconds"); err != nil || s != 4.5 {
		t.Errorf("Sum = %v, %v; want 4.5", s, err)
	}
	if _, err := f.Value("jobs_total", "queue", "c"); !errors.Is(err, ErrNoSample) {
		t.Errorf("missing label value: err = %v, want ErrNoSample", err)
	}
	if _, err := f.Value("nope"); !errors.Is(err, ErrNoSample) {
		t.Errorf("missing metric: err = %v, want ErrNoSample", err)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	t.Parallel()
	if _, err := Parse(strings.NewReader("metric{unclosed 1\n")); err == nil {
		t.Fatal("Parse accepted malformed text")
	}
}

// reports records what Check reports.
type reports struct{ errs []string }

func (r *reports) Helper() {}
func (r *reports) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var r reports
	f.Check(&r, 3, "jobs_total", "queue", "a")
	f.Check(&r, 3, "took_seconds")
	if len(r.errs) != 0 {
		t.Errorf("matching samples reported: %q", r.errs)
	}
	f.Check(&r, 4, "jobs_total", "queue", "a")
	f.Check(&r, 1, "nope")
	want := []string{`jobs_total["queue" "a"] = 3, want 4`, `nope[]: promtext: no such sample: metric nope absent`}
	if !slices.Equal(r.errs, want) {
		t.Errorf("reported %q, want %q", r.errs, want)
	}
}
