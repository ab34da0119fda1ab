package bench

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"

	"crypto/sha256"

	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// Remote and cpu scenario defaults (issue 15).
const (
	// DefaultRemoteRoundTrip is how far away the remote scenario's gateway
	// is.
	DefaultRemoteRoundTrip = 80 * time.Millisecond
	// RemoteSize is the size of the remote scenario's files.
	RemoteSize = 200_000
	// DefaultRemoteFilesPerSlot is the remote scenario's files per unit of
	// concurrency: each upload slot makes about this many round trips
	// (4 to 5 s at 80 ms), so that starting the enqueue process is a small
	// part of the pipeline's time.
	DefaultRemoteFilesPerSlot = 50
	// CPUSize and CPUConcurrency are the cpu scenario's file size and
	// concurrency; DefaultCPUFiles its files.
	CPUSize         = 200_000
	DefaultCPUFiles = 600
	CPUConcurrency  = 8
)

// DefaultRemoteConcurrency are the remote scenario's concurrency levels.
var DefaultRemoteConcurrency = []int{8, 32}

// Goals of the remote and cpu scenarios: with the gateway 80 ms away, the
// pipeline's throughput at least 0.95x the direct loop's; the pipeline's
// CPU per file (worker, importer, Redis) at most the direct loop's plus
// the SHA-256 passes the design requires plus 0.5 ms.
const (
	GoalRemote    = 0.95
	GoalCPUMargin = 500 * time.Microsecond
	// cpuSHAPasses are the SHA-256 passes over each file the pipeline
	// makes that the direct loop does not: the importer hashes the file to
	// queue it (its task ID is the content hash), the worker hashes it
	// again while sending it, to prove it is the file that was queued.
	cpuSHAPasses = 2
)

// RemoteCell is one concurrency of the remote scenario: the direct loop
// and the pipeline on the same files, one after the other, in each round.
type RemoteCell struct {
	Concurrency, Files int
	// Direct and Pipeline are the wall times of each round: the direct
	// loop's, and the pipeline's from the start of enqueue --wait to its
	// exit.
	Direct, Pipeline []time.Duration
}

// Ratios are the pipeline's throughput over the direct loop's, per round.
func (c RemoteCell) Ratios() []float64 {
	out := make([]float64, len(c.Direct))
	for i := range c.Direct {
		out[i] = c.Direct[i].Seconds() / c.Pipeline[i].Seconds()
	}
	return out
}

// Ratio is the median round's ratio.
func (c RemoteCell) Ratio() float64 { return median(c.Ratios()) }

// RemoteResult is the outcome of the remote scenario.
type RemoteResult struct {
	RoundTrip    time.Duration
	Size         int64
	FilesPerSlot int
	Cells        []RemoteCell
}

// median is the middle value of v (the lower middle for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// spread is "min-max" of v, formatted with f.
func spread(v []float64, f string) string {
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf(f+"-"+f, slices.Min(v), slices.Max(v))
}

// remote measures the pipeline against the direct loop with a gateway a
// round trip away: a second emulator with Config.RoundTrip, same keys.
func (r *runner) remote(ctx context.Context) (*RemoteResult, error) {
	gw, err := alipaytest.NewServer(alipaytest.Config{
		AppID: alipaytest.TestAppID, AppPublicKey: &r.keys.App.PublicKey, GatewayKey: r.keys.Gateway,
		RoundTrip: r.cfg.RemoteRoundTrip, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	res := &RemoteResult{RoundTrip: r.cfg.RemoteRoundTrip, Size: RemoteSize, FilesPerSlot: r.cfg.RemoteFilesPerSlot}
	n := r.cfg.RemoteFilesPerSlot * slices.Max(r.cfg.RemoteConcurrency)
	dir := filepath.Join(r.dir, "files", "remote")
	paths, err := writeFiles(dir, RemoteSize, n, 0x4e7)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, c := range r.cfg.RemoteConcurrency {
		files := r.cfg.RemoteFilesPerSlot * c
		sub := filepath.Join(dir, strconv.Itoa(c))
		if err := linkFiles(sub, paths[:files]); err != nil {
			return nil, err
		}
		cell := RemoteCell{Concurrency: c, Files: files}
		for round := range r.cfg.Rounds {
			d, err := r.directTo(ctx, gw, paths[:files], RemoteSize, c)
			if err != nil {
				return nil, err
			}
			p, err := r.pipelineRun(ctx, gw, sub, files, c, false)
			if err != nil {
				return nil, err
			}
			cell.Direct, cell.Pipeline = append(cell.Direct, d.Elapsed), append(cell.Pipeline, p.Wall)
			r.log.Info("measured remote round", "concurrency", c, "round", round+1, "files", files,
				"direct", d.Elapsed, "pipeline", p.Wall, "ratio", d.Elapsed.Seconds()/p.Wall.Seconds())
		}
		res.Cells = append(res.Cells, cell)
	}
	return res, nil
}

// linkFiles hard-links paths into dir, so that a pipeline can import a
// subset of files written once.
func linkFiles(dir string, paths []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, p := range paths {
		if err := os.Link(p, filepath.Join(dir, filepath.Base(p))); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// CPURound is one round of the cpu scenario: the CPU time of each process
// while the direct loop ran, then while the pipeline ran, on the same
// files.
type CPURound struct {
	Files int
	// Direct is the bench process while the direct loop ran: the loop and
	// the emulator, which share it.
	Direct time.Duration
	// Emulator is the bench process while the pipeline ran: the emulator
	// alone. Worker, Importer (the enqueue --wait process, all of it) and
	// Redis are the pipeline's processes.
	Emulator, Worker, Importer, Redis time.Duration
}

func (c CPURound) perFile(d time.Duration) time.Duration {
	return d / time.Duration(max(c.Files, 1))
}

// DirectLoop is the direct loop's CPU per file: the bench process's
// during the loop less the emulator's, measured during the pipeline run
// on the same files.
func (c CPURound) DirectLoop() time.Duration { return c.perFile(c.Direct - c.Emulator) }

// Pipeline is the pipeline's CPU per file: worker, importer and Redis.
func (c CPURound) Pipeline() time.Duration { return c.perFile(c.Worker + c.Importer + c.Redis) }

// CPUResult is the outcome of the cpu scenario.
type CPUResult struct {
	Files       int
	Size        int64
	Concurrency int
	// SHA256 is the CPU time of one SHA-256 pass over Size bytes,
	// measured in the run ([MeasureSHA256Of]).
	SHA256 time.Duration
	Rounds []CPURound
}

// Budget is the goal for a round: the direct loop's CPU per file, plus the
// SHA-256 passes the pipeline must make, plus [GoalCPUMargin].
func (c *CPUResult) Budget(r CPURound) time.Duration {
	return r.DirectLoop() + cpuSHAPasses*c.SHA256 + GoalCPUMargin
}

// Median is the round whose pipeline CPU per file is the median.
func (c *CPUResult) Median() CPURound {
	rs := slices.Clone(c.Rounds)
	slices.SortStableFunc(rs, func(a, b CPURound) int { return cmp.Compare(a.Pipeline(), b.Pipeline()) })
	return rs[(len(rs)-1)/2]
}

// cpuScenario measures the CPU per file of the pipeline's processes and
// of the direct loop, in each round.
func (r *runner) cpuScenario(ctx context.Context) (*CPUResult, error) {
	res := &CPUResult{Files: r.cfg.CPUFiles, Size: CPUSize, Concurrency: CPUConcurrency, SHA256: MeasureSHA256Of(CPUSize)}
	dir := filepath.Join(r.dir, "files", "cpu")
	n := r.cfg.CPUFiles
	paths, err := writeFiles(dir, CPUSize, n, 0xc9)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for round := range r.cfg.Rounds {
		d, err := r.direct(ctx, paths, CPUSize, CPUConcurrency)
		if err != nil {
			return nil, err
		}
		p, err := r.pipelineRun(ctx, r.gw, dir, n, CPUConcurrency, false)
		if err != nil {
			return nil, err
		}
		cr := CPURound{Files: n, Direct: d.CPU.Bench, Emulator: p.CPU.Bench, Worker: p.CPU.Worker, Importer: p.CPU.Importer, Redis: p.CPU.Redis}
		r.log.Info("measured cpu round", "round", round+1, "direct_loop", cr.DirectLoop(), "pipeline", cr.Pipeline(),
			"worker", cr.perFile(cr.Worker), "importer", cr.perFile(cr.Importer), "redis", cr.perFile(cr.Redis),
			"emulator", cr.perFile(cr.Emulator), "budget", res.Budget(cr))
		res.Rounds = append(res.Rounds, cr)
	}
	return res, nil
}

// MeasureSHA256Of returns the CPU time of one SHA-256 pass over size
// bytes on this thread: the best of three timings of 200 passes, by the
// thread's own CPU clock (getrusage RUSAGE_THREAD), so that other
// processes sharing the cores do not count.
func MeasureSHA256Of(size int64) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i * 13)
	}
	const passes = 200
	best := time.Duration(0)
	for range 3 {
		start := threadCPU()
		for range passes {
			sum := sha256.Sum256(buf)
			buf[0] ^= sum[0]
		}
		if d := threadCPU() - start; best == 0 || d < best {
			best = d
		}
	}
	return best / passes
}

// rusageThread is RUSAGE_THREAD (Linux).
const rusageThread = 1

// threadCPU is the calling thread's user plus system CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// intro explains the remote table.
func (s *RemoteResult) intro() string {
	return fmt.Sprintf("The gateway %v away (alipaytest's RoundTrip: every answer held %v once the request is read, "+
		"like Alipay across the internet), files of %s, %d per unit of concurrency. *direct*: c goroutines calling "+
		"upload.Client in the bench process; *pipeline*: an idle cmd/worker with WORKER_CONCURRENCY=c and one "+
		"`enqueue --wait` process on the same files, timed from the start of enqueue to its exit. Each round runs "+
		"both, one after the other; ratio: the pipeline's throughput over the direct loop's, the median round "+
		"and the spread of the rounds.", s.RoundTrip, s.RoundTrip, sizeLabel(s.Size), s.FilesPerSlot)
}

// table is the remote table, one row per concurrency.
func (s *RemoteResult) table() (header []string, rows [][]string) {
	header = []string{"conc.", "files", "rounds", "direct files/s", "pipeline files/s", "ratio", "ratio spread"}
	for _, c := range s.Cells {
		rate := func(ds []time.Duration) string {
			v := make([]float64, len(ds))
			for i, d := range ds {
				v[i] = float64(c.Files) / d.Seconds()
			}
			return fmt.Sprintf("%.1f", median(v))
		}
		rows = append(rows, []string{strconv.Itoa(c.Concurrency), strconv.Itoa(c.Files), strconv.Itoa(len(c.Direct)),
			rate(c.Direct), rate(c.Pipeline), fmt.Sprintf("%.2fx", c.Ratio()), spread(c.Ratios(), "%.2fx")})
	}
	return header, rows
}

// verdicts are the remote goal lines.
func (s *RemoteResult) verdicts() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.Cells {
		state := "met"
		if c.Ratio() < GoalRemote {
			state = "MISSED"
		}
		out = append(out, fmt.Sprintf("remote gateway (%v), %s x %d at concurrency %d: pipeline %.2fx of the direct loop (rounds %s; goal >= %.2fx): %s",
			s.RoundTrip, sizeLabel(s.Size), c.Files, c.Concurrency, c.Ratio(), spread(c.Ratios(), "%.2fx"), GoalRemote, state))
	}
	return out
}

// intro explains the cpu table.
func (c *CPUResult) intro() string {
	return fmt.Sprintf("%d files of %s at concurrency %d, against the bench's emulator. CPU time per file (ms) of each "+
		"process, from /proc/<pid>/stat (utime+stime, 10 ms ticks) while the run lasted; the enqueue process's "+
		"from its own account when it exits (all of it, start-up included). *direct loop*: the bench process "+
		"while c goroutines call upload.Client, less the emulator's share (the bench process while the pipeline "+
		"ran, when it holds only the emulator; shown, counted on neither side). *pipeline*: worker + importer "+
		"(`enqueue --wait`) + redis-server. *budget*: the direct loop + %d SHA-256 passes of the file (the importer "+
		"hashes it to queue it, the worker again while sending it; one pass of %s timed in the run: %.3f ms) + %.1f ms.",
		c.Files, sizeLabel(c.Size), c.Concurrency, cpuSHAPasses, sizeLabel(c.Size), ms(c.SHA256), ms(GoalCPUMargin))
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// table is the cpu table: one row per round, then the median round.
func (c *CPUResult) table() (header []string, rows [][]string) {
	header = []string{"round", "direct loop", "budget", "pipeline", "worker", "importer", "redis-server", "emulator (not counted)", "pipeline / budget"}
	row := func(name string, r CPURound) []string {
		f := func(d time.Duration) string { return fmt.Sprintf("%.2f", ms(d)) }
		return []string{name, f(r.DirectLoop()), f(c.Budget(r)), f(r.Pipeline()), f(r.perFile(r.Worker)), f(r.perFile(r.Importer)),
			f(r.perFile(r.Redis)), f(r.perFile(r.Emulator)), fmt.Sprintf("%.2fx", float64(r.Pipeline())/float64(c.Budget(r)))}
	}
	for i, r := range c.Rounds {
		rows = append(rows, row(strconv.Itoa(i+1), r))
	}
	if len(c.Rounds) > 1 {
		rows = append(rows, row("median", c.Median()))
	}
	return header, rows
}

// verdicts is the cpu goal line, on the median round.
func (c *CPUResult) verdicts() []string {
	if c == nil || len(c.Rounds) == 0 {
		return nil
	}
	m := c.Median()
	over := make([]float64, len(c.Rounds))
	for i, r := range c.Rounds {
		over[i] = ms(r.Pipeline() - c.Budget(r))
	}
	state := "met"
	if m.Pipeline() > c.Budget(m) {
		state = "MISSED"
	}
	return []string{fmt.Sprintf("CPU per file, %s at concurrency %d: pipeline %.2f ms (worker %.2f + importer %.2f + Redis %.2f), budget %.2f ms (direct loop %.2f + %d x SHA-256 %.3f + %.1f); pipeline minus budget %s ms over the rounds: %s",
		sizeLabel(c.Size), c.Concurrency, ms(m.Pipeline()), ms(m.perFile(m.Worker)), ms(m.perFile(m.Importer)), ms(m.perFile(m.Redis)),
		ms(c.Budget(m)), ms(m.DirectLoop()), cpuSHAPasses, ms(c.SHA256), ms(GoalCPUMargin), spread(over, "%+.2f"), state)}
}
