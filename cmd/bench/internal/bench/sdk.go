package bench

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// sdkBatchJS is the Node script that uploads a batch with the official SDK.
//
//go:embed sdkbatch.js
var sdkBatchJS []byte

// SDKBatch is one batch of the sdk scenario: Files distinct files of Size
// bytes for each side.
type SDKBatch struct {
	Size  int64
	Files int
}

// Defaults of the sdk scenario (issue 15).
var (
	DefaultSDKBatches     = []SDKBatch{{Size: 200_000, Files: 600}, {Size: 4_800_000, Files: 120}}
	DefaultSDKConcurrency = []int{8, 32}
)

// Goals of the sdk scenario: the pipeline's wall time at most 1.0x the
// SDK's; its throughput at least 1.3x the SDK's for small files (under
// 1 MB) and 1.0x for large ones; worker plus importer peak RSS at most
// 0.25x the SDK's.
const (
	GoalSDKWall          = 1.0
	GoalSDKSmallRate     = 1.3
	GoalSDKLargeRate     = 1.0
	GoalSDKRSS           = 0.25
	sdkSmall             = 1_000_000
	sdkRunTimeoutPerFile = 2 * time.Second
)

// SDKRun is one side of an sdk cell: its wall time, from the start of the
// process that uploads (node, or enqueue --wait) to its exit, and the peak
// RSS of its processes (node; the worker plus the enqueue process).
type SDKRun struct {
	Wall    time.Duration
	PeakRSS int64
	// WorkerRSS is the worker's part of the pipeline's PeakRSS (the rest
	// is the enqueue process's); 0 for the SDK.
	WorkerRSS int64
}

// SDKCell compares the official SDK uploading Files files of Size bytes
// directly with the pipeline (cmd/worker and enqueue --wait) uploading as
// many other files, both at Concurrency, to the same emulator.
type SDKCell struct {
	Size              int64
	Files             int
	Concurrency       int
	SDK, Pipeline     SDKRun
	SDKRate, PipeRate float64 // files per second over the wall time
}

// WallRatio is the pipeline's wall time over the SDK's.
func (c SDKCell) WallRatio() float64 { return c.Pipeline.Wall.Seconds() / c.SDK.Wall.Seconds() }

// RateRatio is the pipeline's files per second over the SDK's.
func (c SDKCell) RateRatio() float64 { return c.PipeRate / c.SDKRate }

// RSSRatio is the pipeline's peak RSS (worker plus importer) over the SDK's.
func (c SDKCell) RSSRatio() float64 { return float64(c.Pipeline.PeakRSS) / float64(c.SDK.PeakRSS) }

// SDKResult is the outcome of the sdk scenario.
type SDKResult struct {
	Cells []SDKCell
}

// sdkScenario runs every batch at every concurrency, the SDK first.
func (r *runner) sdkScenario(ctx context.Context) (*SDKResult, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("bench: the sdk scenario needs node (make deps installs it): %w", err)
	}
	if _, err := os.Stat(filepath.Join(r.cfg.SDKDir, "node_modules", "alipay-sdk", "package.json")); err != nil {
		return nil, fmt.Errorf("bench: the official Alipay SDK is not installed in %s (make deps runs npm ci there): %w", r.cfg.SDKDir, err)
	}
	script := filepath.Join(r.dir, "sdkbatch.js")
	if err := os.WriteFile(script, sdkBatchJS, 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res := &SDKResult{}
	for i, b := range r.cfg.SDKBatches {
		dir := filepath.Join(r.dir, "files", "sdk", strconv.Itoa(i))
		sdkFiles, err := writeFiles(filepath.Join(dir, "sdk"), b.Size, b.Files, 0x5d0+uint64(i))
		if err != nil {
			return nil, err
		}
		pipeDir := filepath.Join(dir, "pipeline")
		if _, err := writeFiles(pipeDir, b.Size, b.Files, 0x91e+uint64(i)); err != nil {
			return nil, err
		}
		for _, c := range r.cfg.SDKConcurrency {
			cell := SDKCell{Size: b.Size, Files: b.Files, Concurrency: c}
			if cell.SDK, err = r.sdkRun(ctx, script, sdkFiles, c); err != nil {
				return nil, err
			}
			pipe, err := r.pipelineRun(ctx, r.gw, pipeDir, b.Files, c, true)
			if err != nil {
				return nil, err
			}
			cell.Pipeline = SDKRun{Wall: pipe.Wall, PeakRSS: pipe.PeakRSS, WorkerRSS: pipe.WorkerRSS}
			cell.SDKRate = float64(b.Files) / cell.SDK.Wall.Seconds()
			cell.PipeRate = float64(b.Files) / cell.Pipeline.Wall.Seconds()
			r.log.Info("measured sdk cell", "size", b.Size, "files", b.Files, "concurrency", c,
				"sdk_wall", cell.SDK.Wall, "pipeline_wall", cell.Pipeline.Wall, "wall_ratio", cell.WallRatio(),
				"sdk_rss_mb", float64(cell.SDK.PeakRSS)/1e6, "pipeline_rss_mb", float64(cell.Pipeline.PeakRSS)/1e6)
			res.Cells = append(res.Cells, cell)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return res, nil
}

// rssSampleEvery is how often the peak RSS of a child the bench waits for
// (node, enqueue) is read while it runs.
const rssSampleEvery = 5 * time.Millisecond

// peakWatch reads the peak RSS (VmHWM) of a running child process every
// [rssSampleEvery] until it is ended, because the figure is gone once the
// child has exited, and the one wait4 reports counts the bench's own peak
// into the child's ([testproc.PeakRSSOf]). Its figure is the child's VmHWM
// as last read, at most rssSampleEvery before the child exited.
type peakWatch struct {
	stop, done chan struct{}
	peak       int64
}

// watchPeakRSS starts reading the VmHWM of the running process pid.
func watchPeakRSS(pid int) *peakWatch {
	w := &peakWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			if v, err := testproc.PeakRSSOf(pid); err == nil {
				w.peak = max(w.peak, v) // VmHWM only grows; a failed read is the exit
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// end stops the readings and returns the peak RSS in bytes.
func (w *peakWatch) end() int64 {
	close(w.stop)
	<-w.done
	return w.peak
}

// runWatched runs cmd to its end and returns its wall time and peak RSS.
func runWatched(cmd *exec.Cmd) (time.Duration, int64, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	watch := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	return wall, watch.end(), err
}

// sdkRun uploads files with the official SDK at concurrency c.
func (r *runner) sdkRun(ctx context.Context, script string, files []string, c int) (SDKRun, error) {
	var run SDKRun
	if err := r.flush(ctx); err != nil {
		return run, err
	}
	in, err := json.Marshal(map[string]any{
		"gateway": r.gw.URL, "app_id": alipaytest.TestAppID,
		"private_key_file": r.files.AppPrivateKey, "alipay_public_key_file": r.files.GatewayPublicKey,
		"concurrency": c, "files": files,
	})
	if err != nil {
		return run, err
	}
	inFile := filepath.Join(r.dir, "sdkbatch.json")
	if err := os.WriteFile(inFile, in, 0o644); err != nil {
		return run, fmt.Errorf("bench: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout+time.Duration(len(files))*sdkRunTimeoutPerFile)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, inFile)
	// The SDK writes the classic timestamp in local time, which Alipay
	// reads as Beijing time.
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(r.cfg.SDKDir, "node_modules"), "TZ=Asia/Shanghai")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if run.Wall, run.PeakRSS, err = runWatched(cmd); err != nil {
		return run, fmt.Errorf("bench: the SDK batch: %w: %s", err, stderr.String())
	}
	out := []byte(stdout.String())
	var got struct {
		Uploaded   int    `json:"uploaded"`
		Failures   int    `json:"failures"`
		FirstError string `json:"first_error"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return run, fmt.Errorf("bench: the SDK batch said %q: %w", out, err)
	}
	if got.Uploaded != len(files) || got.Failures > 0 {
		return run, fmt.Errorf("bench: the SDK uploaded %d of %d files (%d failed, first: %s)", got.Uploaded, len(files), got.Failures, got.FirstError)
	}
	if n := r.gw.Stats().Successes; n != int64(len(files)) {
		return run, fmt.Errorf("bench: the emulator counted %d successes for the SDK's %d files", n, len(files))
	}
	return run, nil
}

// pipeRun is one run of the pipeline: worker and enqueue --wait.
type pipeRun struct {
	// Wall runs from the start of the enqueue process to its exit.
	Wall time.Duration
	// PeakRSS is the worker's VmHWM plus the enqueue process's; WorkerRSS
	// the worker's part. Zero unless asked for.
	PeakRSS, WorkerRSS int64
	// CPU is the CPU time spent while enqueue ran: Bench is the bench
	// process (the emulator), Worker the worker, Importer the enqueue
	// process (all of it), Redis redis-server.
	CPU CPUUse
}

// pipelineRun uploads the n files of dir to gw with a cmd/worker child
// process of concurrency c, already idle, and one enqueue --wait process;
// with rss it reads their peak RSS.
func (r *runner) pipelineRun(ctx context.Context, gw *alipaytest.Server, dir string, n, c int, rss bool) (pipeRun, error) {
	var run pipeRun
	if err := r.flushGateway(ctx, gw); err != nil {
		return run, err
	}
	w := testproc.NewWorker("worker", r.cfg.WorkerBin, testproc.WorkerConfig{
		RedisURL: r.cfg.RedisURL, GatewayURL: gw.URL, Keys: r.files, MediaRoot: r.dir,
		Env: []string{"WORKER_CONCURRENCY=" + strconv.Itoa(c), "ALIPAY_TIMEOUT=" + r.cfg.Timeout.String(), "LOG_LEVEL=warn"},
	})
	if err := w.Start(); err != nil {
		return run, err
	}
	defer w.Kill()
	if err := r.waitServer(w); err != nil {
		return run, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout+time.Duration(n)*sdkRunTimeoutPerFile)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.cfg.EnqueueBin, "--wait", "--progress", "none",
		"--redis-url", r.cfg.RedisURL, "--media-roots", r.dir, dir)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	watch := r.startWatch(w.Pid())
	var enqueueRSS int64
	var err error
	if rss {
		run.Wall, enqueueRSS, err = runWatched(cmd)
	} else {
		start := time.Now()
		err = cmd.Run()
		run.Wall = time.Since(start)
	}
	run.CPU = watch.measure(n, 0).CPU
	if err != nil {
		return run, fmt.Errorf("bench: enqueue --wait: %w: %s (worker log:\n%s)", err, out.String(), w.Log())
	}
	run.CPU.Importer = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if !strings.Contains(out.String(), fmt.Sprintf(" %d completed", n)) {
		return run, fmt.Errorf("bench: enqueue --wait did not complete the %d files: %s", n, out.String())
	}
	if got := gw.Stats().Successes; got != int64(n) {
		return run, fmt.Errorf("bench: the emulator counted %d successes for the pipeline's %d files", got, n)
	}
	if rss {
		workerRSS, err := w.PeakRSS()
		if err != nil {
			return run, err
		}
		run.PeakRSS, run.WorkerRSS = workerRSS+enqueueRSS, workerRSS
	}
	if err := w.Term(time.Minute); err != nil {
		return run, fmt.Errorf("bench: worker shutdown: %w", err)
	}
	return run, nil
}

// table is the sdk table: a header and one row per cell.
func (s *SDKResult) table() (header []string, rows [][]string) {
	header = []string{"size", "conc.", "files", "SDK s", "pipeline s", "wall ratio", "SDK files/s", "pipeline files/s",
		"rate ratio", "SDK peak RSS", "pipeline peak RSS (worker + enqueue)", "RSS ratio"}
	for _, c := range s.Cells {
		rows = append(rows, []string{sizeLabel(c.Size), strconv.Itoa(c.Concurrency), strconv.Itoa(c.Files),
			fmt.Sprintf("%.2f", c.SDK.Wall.Seconds()), fmt.Sprintf("%.2f", c.Pipeline.Wall.Seconds()), fmt.Sprintf("%.2fx", c.WallRatio()),
			fmt.Sprintf("%.1f", c.SDKRate), fmt.Sprintf("%.1f", c.PipeRate), fmt.Sprintf("%.2fx", c.RateRatio()),
			mb(c.SDK.PeakRSS), fmt.Sprintf("%s (%s + %s)", mb(c.Pipeline.PeakRSS), mb(c.Pipeline.WorkerRSS), mb(c.Pipeline.PeakRSS-c.Pipeline.WorkerRSS)),
			fmt.Sprintf("%.2fx", c.RSSRatio())})
	}
	return header, rows
}

// sdkIntro explains the sdk table.
const sdkIntro = "Alipay's official Node SDK (alipay-sdk, `sdk.exec` with `validateSign: true`, c uploads at " +
	"a time in one node process) uploads N distinct files directly; the pipeline (an idle cmd/worker with " +
	"WORKER_CONCURRENCY=c, then one `enqueue --wait` process) uploads N other distinct files; both to the same " +
	"emulator. Wall: from the start of the uploading process (node, or enqueue) to its exit. Files/s over the wall " +
	"time. Peak RSS: node's; the worker's VmHWM plus the enqueue process's. Ratios: the pipeline's over the SDK's."

// verdicts are the sdk goal lines.
func (s *SDKResult) verdicts() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.Cells {
		rate := GoalSDKLargeRate
		if c.Size < sdkSmall {
			rate = GoalSDKSmallRate
		}
		state := "met"
		if c.WallRatio() > GoalSDKWall || c.RateRatio() < rate || c.RSSRatio() > GoalSDKRSS {
			state = "MISSED"
		}
		out = append(out, fmt.Sprintf("against the SDK, %s x %d at concurrency %d: wall %.2fx (goal <= %.1fx), rate %.2fx (goal >= %.1fx), RSS %.2fx (goal <= %.2fx): %s",
			sizeLabel(c.Size), c.Files, c.Concurrency, c.WallRatio(), GoalSDKWall, c.RateRatio(), rate, c.RSSRatio(), GoalSDKRSS, state))
	}
	return out
}

// errNoSDKDir reports a run of the sdk scenario without Config.SDKDir.
var errNoSDKDir = errors.New("SDKDir is required for the sdk scenario")
