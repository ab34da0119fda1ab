package bench

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		Machine: Machine{CPUs: 2, CPUModel: "Test CPU", GoVersion: "go1.26", OS: "linux", Arch: "amd64", Redis: "7.0.15",
			Date: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)},
		Cells: []Cell{
			{Size: 100_000, Concurrency: 1, Files: 100,
				Direct: Measure{Files: 100, Bytes: 10_000_000, Elapsed: time.Second}, Noop: Measure{Files: 2000, Elapsed: time.Second},
				Worker: Measure{Files: 100, Bytes: 10_000_000, Elapsed: 1250 * time.Millisecond}, EndToEnd: Measure{Files: 100, Bytes: 10_000_000, Elapsed: 2 * time.Second},
				InProcess: Measure{Files: 100, Bytes: 10_000_000, Elapsed: 1600 * time.Millisecond}, WorkerPeakRSS: 20 << 20},
			{Size: 5_000_000, Concurrency: 32, Files: 10,
				Direct: Measure{Files: 10, Bytes: 50_000_000, Elapsed: time.Second}, Noop: Measure{Files: 2000, Elapsed: time.Second},
				Worker: Measure{Files: 10, Bytes: 50_000_000, Elapsed: time.Second}, EndToEnd: Measure{Files: 10, Bytes: 50_000_000, Elapsed: time.Second},
				InProcess: Measure{Files: 10, Bytes: 50_000_000, Elapsed: time.Second}, WorkerPeakRSS: 120_000_000},
		},
		Enqueue: EnqueueResult{Files: 1000, Importer: time.Second, ClientLoop: 2 * time.Second, AsynqLoop: 500 * time.Millisecond},
		Elapsed: time.Minute,
	}
}

func TestReportFiguresAndGoals(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	if got := r.Cells[0].Ratio(); got != 0.8 {
		t.Errorf("worker ratio %v, want 0.8", got)
	}
	if got := r.Cells[0].EndToEndRatio(); got != 0.5 {
		t.Errorf("e2e ratio %v, want 0.5", got)
	}
	if got := r.Cells[0].InProcessRatio(); got != 0.625 {
		t.Errorf("in-process ratio %v, want 0.625", got)
	}
	if got := r.Cells[1].Direct.MBPerSec(); got != 50 {
		t.Errorf("MB/s %v, want 50", got)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"2 cores (Test CPU), go1.26 linux/amd64, Redis 7.0.15, 2026-11-22 05:00 UTC",
		"worker (queue filled beforehand) >= 0.8x of the direct loop: met in 2 of 2 cells (0.80x to 1.00x)",
		"end to end (import and upload at once) >= 0.8x of the direct loop: met in 1 of 2 cells (0.50x to 1.00x)",
		"worker peak RSS < 100.0 MB with 5 MB files at concurrency 32: 120.0 MB (MISSED)",
		"for comparison, not a goal: the worker code in the bench process >= 0.8x of the direct loop: met in 1 of 2 cells (0.62x to 1.00x)",
		"0.50x", "2.00x", "62.5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestUpdateFileKeepsTheHandWrittenPart(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	read := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}
	write := func(p string, b []byte) error { files[p] = b; return nil }
	r := sampleReport()
	if err := UpdateFile("B.md", r, "go run ./cmd/bench", "# Intro", read, write); err != nil {
		t.Fatal(err)
	}
	first := string(files["B.md"])
	if !strings.HasPrefix(first, "# Intro\n\n"+Marker+"\n\n## Latest run\n") || !strings.Contains(first, "| 100 kB | 1 | 100 |") {
		t.Fatalf("new file:\n%s", first)
	}
	// Hand edits above the marker survive; the results below are replaced.
	files["B.md"] = []byte(strings.Replace(first, "# Intro", "# Intro\n\nNotes kept.", 1) + "stale tail\n")
	r.Machine.Redis = "7.2.0"
	if err := UpdateFile("B.md", r, "go run ./cmd/bench", "# Other intro", read, write); err != nil {
		t.Fatal(err)
	}
	second := string(files["B.md"])
	if !strings.Contains(second, "Notes kept.") || strings.Contains(second, "Other intro") ||
		strings.Contains(second, "stale tail") || !strings.Contains(second, "Redis 7.2.0") || strings.Count(second, Marker) != 1 {
		t.Fatalf("updated file:\n%s", second)
	}
	failing := func(string, []byte) error { return errors.New("disk full") }
	if err := UpdateFile("B.md", r, "x", "y", read, failing); err == nil {
		t.Error("a failed write was not reported")
	}
}

func TestMedianCell(t *testing.T) {
	t.Parallel()
	m := func(ms int, cpu time.Duration) Measure {
		return Measure{Files: 100, Elapsed: time.Duration(ms) * time.Millisecond, CPU: CPUUse{Machine: cpu}}
	}
	rounds := []Cell{
		{Size: 1, Concurrency: 8, Files: 100, Direct: m(100, 1), Worker: m(300, 10), WorkerPeakRSS: 5},
		{Size: 1, Concurrency: 8, Files: 100, Direct: m(500, 2), Worker: m(200, 20), WorkerPeakRSS: 9},
		{Size: 1, Concurrency: 8, Files: 100, Direct: m(200, 3), Worker: m(100, 30), WorkerPeakRSS: 7},
	}
	got := MedianCell(rounds)
	// Median by throughput: 200 ms for both, with that round's CPU time.
	if got.Direct.Elapsed != 200*time.Millisecond || got.Direct.CPU.Machine != 3 {
		t.Errorf("direct %+v", got.Direct)
	}
	if got.Worker.Elapsed != 200*time.Millisecond || got.Worker.CPU.Machine != 20 {
		t.Errorf("worker %+v", got.Worker)
	}
	if got.WorkerPeakRSS != 9 || got.Rounds != 3 || got.Concurrency != 8 {
		t.Errorf("cell %+v", got)
	}
	// Two rounds: the slower one.
	if two := MedianCell(rounds[:2]); two.Direct.Elapsed != 500*time.Millisecond {
		t.Errorf("two rounds: direct %+v", two.Direct)
	}
	if (MedianCell(nil) != Cell{}) {
		t.Error("no rounds gave a cell")
	}
	r := sampleReport()
	r.Cells[0].Rounds, r.Cells[1].Rounds = 3, 3
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "median of 3 rounds per cell") {
		t.Errorf("text:\n%s", b.String())
	}
}

// TestUpdateFileKeepsScenariosNotRun: a run of the latency scenario alone
// replaces its block and keeps the throughput and enqueue blocks of the
// run before; its goal lines judge the default setup's rows.
func TestUpdateFileKeepsScenariosNotRun(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	read := func(p string) ([]byte, error) { return files[p], nil }
	write := func(p string, b []byte) error { files[p] = b; return nil }
	full := sampleReport()
	if err := UpdateFile("B.md", full, "go run ./cmd/bench", "# Intro", read, write); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	lat := &Report{Machine: full.Machine, Scenarios: []string{ScenarioLatency}, Elapsed: time.Minute, Latency: &LatencyResult{
		Jobs: 50, Size: LatencySize,
		Rows: []LatencyRow{
			{Setup: "default", Path: PathGoAPI, P50: 40 * ms, P99: 90 * ms, Max: 95 * ms},
			{Setup: "default", Path: PathCLI, P50: 120 * ms, P99: 200 * ms, Max: 210 * ms},
			{Setup: "baseline", Path: PathGoAPI, P50: 800 * ms, P99: 1500 * ms, Max: 1500 * ms},
			{Setup: "baseline", Path: PathCLI, P50: 1000 * ms, P99: 1600 * ms, Max: 1600 * ms},
		},
		Idle: []IdleCost{{CheckInterval: 50 * ms, Commands: 170, WorkerCPU: 10, RedisCPU: 5}},
	}}
	if err := UpdateFile("B.md", lat, "go run ./cmd/bench --scenarios latency", "# Intro", read, write); err != nil {
		t.Fatal(err)
	}
	got := string(files["B.md"])
	for _, want := range []string{
		"| 100 kB | 1 | 100 |",                // throughput, kept
		"| tasks.Client.Enqueue loop | 500 |", // enqueue rate, kept
		"| default | " + PathGoAPI + " | 40.0 | 90.0 | 95.0 | 0.05x | 0.06x |",
		"| 50ms | 170.0 | 10.0 | 5.0 |",
		"p50 40ms (goal <= 100ms), p99 90ms (goal <= 300ms): met",
		"p50 120ms (goal <= 100ms), p99 200ms (goal <= 300ms): MISSED",
		"`go run ./cmd/bench --scenarios latency`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	// The latency block comes first: it is the headline.
	if strings.Index(got, blockStart(ScenarioLatency)) > strings.Index(got, blockStart(ScenarioThroughput)) {
		t.Errorf("latency is not the first block:\n%s", got)
	}
	if strings.Count(got, blockStart(ScenarioThroughput)) != 1 || strings.Count(got, "## Latest run") != 1 {
		t.Errorf("blocks repeated:\n%s", got)
	}
}

// TestConvertRSSGoalIsInMillionsOfBytes: the goal is 300 MB, so 297 MiB
// (311 million bytes) misses it, and the line says both units.
func TestConvertRSSGoalIsInMillionsOfBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rss  int64
		want string
	}{
		{297 << 20, "311.4 MB (297.0 MiB) (goal <= 300.0 MB): MISSED"},
		{300_000_000, "300.0 MB (286.1 MiB) (goal <= 300.0 MB): met"},
		{250_000_000, "250.0 MB (238.4 MiB) (goal <= 300.0 MB): met"},
	} {
		c := &ConvertResult{Concurrency: 8, Wall: time.Second, VipsWall: time.Second, WorkerPeakRSS: tc.rss,
			Inputs: []ConvertInput{{Kind: "heic", Files: 1, VipsWall: time.Second}}}
		lines := c.verdicts()
		if len(lines) != 2 || !strings.HasSuffix(lines[1], tc.want) {
			t.Errorf("peak %d bytes: verdicts %q, want the RSS line to end with %q", tc.rss, lines, tc.want)
		}
	}
}
