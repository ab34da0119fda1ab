package bench

import (
	"crypto/sha256"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rusageCPU is this process's user plus system CPU time as getrusage(2)
// reports it: a clock independent of the /proc counters under test.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burn keeps one core busy until getrusage shows d more CPU time for this
// process (however long a loaded machine takes to grant it), or until
// limit passes.
func burn(t *testing.T, d, limit time.Duration) time.Duration {
	buf := make([]byte, 1<<16)
	start := rusageCPU(t)
	for end := time.Now().Add(limit); time.Now().Before(end); {
		sha256.Sum256(buf)
		if got := rusageCPU(t) - start; got >= d {
			return got
		}
	}
	t.Fatalf("the machine granted less than %v of CPU in %v", d, limit)
	return 0
}

func TestCPUCountersGrowWithWork(t *testing.T) {
	busy0, err := machineBusy()
	if err != nil {
		t.Fatal(err)
	}
	self0, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	used := burn(t, 300*time.Millisecond, time.Minute)
	busy1, _ := machineBusy()
	self1, _ := processCPU(os.Getpid())
	// The /proc counters tick every 10 ms: the CPU time getrusage saw
	// must show in this process's counter within a few ticks, and this
	// process cannot have used more CPU than the whole machine.
	if d := self1 - self0; d < used-50*time.Millisecond || d > used+time.Second {
		t.Errorf("process CPU grew by %v while getrusage saw %v", d, used)
	}
	if d := busy1 - busy0; d < self1-self0-20*time.Millisecond {
		t.Errorf("machine busy time grew by %v, less than this process's %v", d, self1-self0)
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Error("a missing process was read")
	}
}

func TestMeasureSHA256IsPlausible(t *testing.T) {
	// SHA-256 runs between about 0.3 and 10 ns/byte on anything Go
	// supports; zero or a huge value means the timing is broken.
	if ns := MeasureSHA256(); ns < 0.05 || ns > 50 {
		t.Errorf("SHA-256 at %v ns/byte", ns)
	}
}

func TestCeilingAndCPUBound(t *testing.T) {
	t.Parallel()
	c := Cell{Size: 1_000_000, Files: 100,
		Direct: Measure{Files: 100, Elapsed: 100 * time.Millisecond, CPU: CPUUse{Machine: 190 * time.Millisecond}}}
	// 1.9 ms per file; one pass at 0.5 ns/byte adds 0.5 ms: 1.9/2.4.
	if got, want := c.Ceiling(1, 0.5), 1.9/2.4; abs(got-want) > 1e-9 {
		t.Errorf("Ceiling(1) = %v, want %v", got, want)
	}
	if got, want := c.Ceiling(2, 0.5), 1.9/2.9; abs(got-want) > 1e-9 {
		t.Errorf("Ceiling(2) = %v, want %v", got, want)
	}
	if !c.CPUBound(2) || c.CPUBound(4) || c.CPUBound(0) {
		t.Errorf("1.9 cores busy: CPUBound(2)=%v CPUBound(4)=%v", c.CPUBound(2), c.CPUBound(4))
	}
	if got := (Cell{}).Ceiling(1, 0.5); got != 0 {
		t.Errorf("ceiling without a direct measure: %v", got)
	}
}

func TestReportCPUTable(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Machine.SHA256 = 0.5
	c := &r.Cells[1] // 5 MB, 10 files in 1 s
	c.Direct.CPU = CPUUse{Machine: 1950 * time.Millisecond}
	c.Worker.CPU = CPUUse{Machine: 2500 * time.Millisecond, Bench: 1200 * time.Millisecond, Worker: 1200 * time.Millisecond, Redis: 100 * time.Millisecond}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// 195 ms per file; one pass over 5 MB at 0.5 ns/byte is 2.5 ms.
	for _, want := range []string{
		"195.00", "1.95 of 2", "250.00", "120.00 + 120.00 + 10.00",
		"0.99x", // 195/197.5
		"not CPU-bound",
		"worker: 0 of 1 CPU-bound cells have a SHA-256 ceiling below 0.8x (ceilings 0.99x to 0.99x)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if err := r.WriteMarkdown(&b, "cmd"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "### CPU per file") || !strings.Contains(b.String(), "| 5 MB | 32 | 195.00 |") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
