package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// TestRunSmall runs the whole benchmark on a few small files with a real
// cmd/worker child process and checks that every figure is there and
// consistent (not how fast anything is).
func TestRunSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bins, err := testproc.Build(ctx, t.TempDir(), testproc.CmdWorker, testproc.CmdEnqueue)
	if err != nil {
		t.Fatal(err)
	}
	redis := testproc.StartRedis(t)
	rep, err := Run(ctx, Config{
		RedisURL:           redis.URL(),
		WorkerBin:          bins[0],
		EnqueueBin:         bins[1],
		LatencyJobs:        3,
		SDKDir:             "../../../../upload/alipaytest/sdktest",
		SDKBatches:         []SDKBatch{{Size: 50_000, Files: 6}},
		SDKConcurrency:     []int{2},
		RemoteRoundTrip:    20 * time.Millisecond,
		RemoteConcurrency:  []int{2},
		RemoteFilesPerSlot: 3,
		CPUFiles:           6,
		IdleWindow:         500 * time.Millisecond,
		Dir:                t.TempDir(),
		Sizes:              []int64{4096, 50_000},
		Concurrency:        []int{1, 4},
		Files:              func(int64) int { return 12 },
		EnqueueFiles:       30,
		Rounds:             2,
		Timeout:            time.Minute,
		Now:                func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := rep.Latency; l == nil || len(l.Rows) != 6 || len(l.Idle) != 2 || l.Jobs != 3 {
		t.Fatalf("latency result %+v", rep.Latency)
	}
	for _, row := range rep.Latency.Rows {
		if row.P50 <= 0 || row.P50 > row.P99 || row.P99 > row.Max {
			t.Errorf("latency row %+v", row)
		}
	}
	// An idle worker still polls its queues, every 50ms by default.
	if c := rep.Latency.Idle[0]; c.Commands <= 0 || c.CheckInterval != 50*time.Millisecond {
		t.Errorf("idle cost %+v", c)
	}
	if s := rep.SDK; s == nil || len(s.Cells) != 1 {
		t.Fatalf("sdk result %+v", rep.SDK)
	}
	if c := rep.SDK.Cells[0]; c.Files != 6 || c.Concurrency != 2 || c.SDK.Wall <= 0 || c.Pipeline.Wall <= 0 ||
		c.SDK.PeakRSS < 1<<20 || c.Pipeline.PeakRSS < 1<<20 || c.SDKRate <= 0 || c.PipeRate <= 0 {
		t.Errorf("sdk cell %+v", c)
	}
	if s := rep.Remote; s == nil || len(s.Cells) != 1 || s.RoundTrip != 20*time.Millisecond {
		t.Fatalf("remote result %+v", rep.Remote)
	}
	if c := rep.Remote.Cells[0]; c.Files != 6 || c.Concurrency != 2 || len(c.Direct) != 2 || len(c.Pipeline) != 2 || c.Ratio() <= 0 {
		t.Errorf("remote cell %+v", c)
	}
	// Six uploads a round trip away take at least three round trips.
	for _, d := range slices.Concat(rep.Remote.Cells[0].Direct, rep.Remote.Cells[0].Pipeline) {
		if d < 3*20*time.Millisecond {
			t.Errorf("remote run of %v, shorter than 3 round trips", d)
		}
	}
	if c := rep.CPU; c == nil || len(c.Rounds) != 2 || c.Files != 6 || c.SHA256 <= 0 {
		t.Fatalf("cpu result %+v", rep.CPU)
	}
	for _, r := range rep.CPU.Rounds {
		// /proc's 10 ms ticks may read 0 over six files; the enqueue
		// process's own account is finer, and it always starts.
		if r.Files != 6 || r.Importer <= 0 || r.Pipeline() <= 0 {
			t.Errorf("cpu round %+v", r)
		}
	}
	// No worker built with -tags vips here (TestConvertScenario has one):
	// the convert scenario says conversion is unavailable, and why.
	if c := rep.Convert; c == nil || !strings.Contains(c.Unavailable, "no worker built with -tags vips") {
		t.Errorf("convert result %+v", rep.Convert)
	}
	if len(rep.Cells) != 4 {
		t.Fatalf("%d cells, want 4", len(rep.Cells))
	}
	var directCPU, workerCPU time.Duration
	for _, c := range rep.Cells {
		directCPU += c.Direct.CPU.Machine
		workerCPU += c.Worker.CPU.Worker + c.EndToEnd.CPU.Worker
		for name, m := range map[string]Measure{"direct": c.Direct, "worker": c.Worker, "e2e": c.EndToEnd, "in-process": c.InProcess} {
			if m.Files != 12 || m.Bytes != 12*c.Size || m.Elapsed <= 0 {
				t.Errorf("%d bytes at %d: %s measure %+v", c.Size, c.Concurrency, name, m)
			}
		}
		if c.Noop.Files < noopTasks || c.Noop.Elapsed <= 0 {
			t.Errorf("no-op measure %+v", c.Noop)
		}
		if c.Rounds != 2 {
			t.Errorf("cell combines %d rounds, want 2", c.Rounds)
		}
		if c.WorkerPeakRSS < 1<<20 {
			t.Errorf("worker peak RSS %d bytes", c.WorkerPeakRSS)
		}
	}
	// 48 uploads each way at about a millisecond of CPU apiece: the
	// 10 ms counters must have moved.
	if directCPU <= 0 || workerCPU <= 0 {
		t.Errorf("CPU time: direct runs %v, worker process %v", directCPU, workerCPU)
	}
	if rep.Machine.SHA256 <= 0 {
		t.Errorf("SHA-256 cost %v ns/byte", rep.Machine.SHA256)
	}
	if e := rep.Enqueue; e.Files != 30 || e.Importer <= 0 || e.ClientLoop <= 0 || e.AsynqLoop <= 0 {
		t.Errorf("enqueue result %+v", e)
	}
	if rep.Machine.CPUs < 1 || rep.Machine.Redis == "" || rep.Machine.Date.Year() != 2026 {
		t.Errorf("machine %+v", rep.Machine)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "50 kB") || !strings.Contains(b.String(), "Goals:") || !strings.Contains(b.String(), "CPU time of all cores per file") ||
		!strings.Contains(b.String(), "enqueue --wait") || !strings.Contains(b.String(), "Redis commands/s") || !strings.Contains(b.String(), "against the SDK, 50 kB x 6 at concurrency 2") ||
		!strings.Contains(b.String(), "Conversion is unavailable in this run") {
		t.Errorf("table:\n%s", b.String())
	}
}
