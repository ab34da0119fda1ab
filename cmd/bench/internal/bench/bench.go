package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker"
)

// ErrConfig reports an unusable [Config].
var ErrConfig = errors.New("bench: invalid config")

// Default sizes and concurrencies of a run.
var (
	DefaultSizes       = []int64{100_000, 1_000_000, 5_000_000}
	DefaultConcurrency = []int{1, 8, 32}
)

// DefaultEnqueueFiles is the number of files of the enqueue-rate part.
const DefaultEnqueueFiles = 2000

// DefaultRounds is the number of rounds per cell.
const DefaultRounds = 3

// Scenarios of a run.
const (
	// ScenarioLatency: enqueue-to-completed latency on an idle worker, and
	// the idle worker's cost (see [LatencyResult]).
	ScenarioLatency = "latency"
	// ScenarioThroughput: the cells of sizes and concurrencies.
	ScenarioThroughput = "throughput"
	// ScenarioEnqueue: the enqueue rates.
	ScenarioEnqueue = "enqueue"
	// ScenarioSDK: the pipeline against Alipay's official Node SDK (see
	// [SDKResult]).
	ScenarioSDK = "sdk"
	// ScenarioRemote: the pipeline against the direct loop with the
	// gateway a round trip away (see [RemoteResult]).
	ScenarioRemote = "remote"
	// ScenarioCPU: the CPU per file of the pipeline's processes against
	// the direct loop's (see [CPUResult]).
	ScenarioCPU = "cpu"
	// ScenarioConvert: a converting worker against the vips command, and
	// its peak RSS (see [ConvertResult]).
	ScenarioConvert = "convert"
)

// AllScenarios are the scenarios of a full run, in the report's order.
var AllScenarios = []string{ScenarioLatency, ScenarioSDK, ScenarioRemote, ScenarioCPU, ScenarioConvert, ScenarioThroughput, ScenarioEnqueue}

// Config configures a run. Zero values take the documented defaults.
type Config struct {
	// RedisURL is a Redis of the run's own (redis://host:port/db): the run
	// empties that database between measurements. Required.
	RedisURL string
	// WorkerBin is the path of a built cmd/worker. Required.
	WorkerBin string
	// EnqueueBin is the path of a built cmd/enqueue. Required for
	// [ScenarioLatency].
	EnqueueBin string
	// Scenarios are the parts to run. Default [AllScenarios].
	Scenarios []string
	// LatencyJobs is the number of sequential jobs per path and setup of
	// the latency scenario. Default [DefaultLatencyJobs].
	LatencyJobs int
	// IdleWindow is how long an idle worker's cost is measured. Default
	// [DefaultIdleWindow].
	IdleWindow time.Duration
	// SDKDir is the directory whose node_modules holds alipay-sdk
	// (upload/alipaytest/sdktest). Required for [ScenarioSDK].
	SDKDir string
	// SDKBatches and SDKConcurrency are the sdk scenario's batches and
	// concurrency levels. Default [DefaultSDKBatches] and
	// [DefaultSDKConcurrency].
	SDKBatches     []SDKBatch
	SDKConcurrency []int
	// RemoteRoundTrip is how far away the remote scenario's gateway is.
	// Default [DefaultRemoteRoundTrip].
	RemoteRoundTrip time.Duration
	// RemoteConcurrency are the remote scenario's concurrency levels.
	// Default [DefaultRemoteConcurrency].
	RemoteConcurrency []int
	// RemoteFilesPerSlot is the remote scenario's files per unit of
	// concurrency. Default [DefaultRemoteFilesPerSlot].
	RemoteFilesPerSlot int
	// CPUFiles is the cpu scenario's files. Default [DefaultCPUFiles].
	CPUFiles int
	// ConvertWorkerBin is the path of a cmd/worker built with -tags vips,
	// for [ScenarioConvert]; without it the scenario reports conversion
	// as unavailable, for the reason in ConvertUnavailable.
	ConvertWorkerBin   string
	ConvertUnavailable string
	// ConvertFiles is the number of HEIC and of JPEG photos of the
	// convert scenario, and ConvertConcurrency its WORKER_CONCURRENCY.
	// Defaults [DefaultConvertFiles], [DefaultConvertConcurrency].
	ConvertFiles       int
	ConvertConcurrency int
	// Dir is a scratch directory for the files (several hundred MB with
	// the defaults). Default: a new temporary directory, removed at the
	// end.
	Dir string
	// Sizes are the file sizes in bytes. Default [DefaultSizes].
	Sizes []int64
	// Concurrency lists the concurrency levels. Default
	// [DefaultConcurrency].
	Concurrency []int
	// Files gives the number of files per measurement for a size. Default
	// [DefaultFiles].
	Files func(size int64) int
	// EnqueueFiles is the number of small files the importer and the
	// plain loops enqueue. Default [DefaultEnqueueFiles].
	EnqueueFiles int
	// Rounds is how many times every cell is measured; each column
	// reports its median round ([MedianCell]), which keeps one disturbed
	// round on a shared machine from setting a figure. Default
	// [DefaultRounds].
	Rounds int
	// Timeout bounds one measurement. Default 5 minutes.
	Timeout time.Duration
	// Logger receives one line per measurement. Default: discard.
	Logger *slog.Logger
	// Now is the clock for the report's date. Default time.Now.
	Now func() time.Time
}

// runs reports whether the run includes scenario.
func (c *Config) runs(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }

// DefaultFiles is 500 MB worth of files, at least 150 and at most 1000.
func DefaultFiles(size int64) int {
	return int(min(max(500_000_000/size, 150), 1000))
}

// noopTasks is the least number of tasks of a no-op measurement, so that
// it lasts long enough to be measured.
const noopTasks = 2000

func (c *Config) withDefaults() error {
	if c.RedisURL == "" {
		return fmt.Errorf("%w: RedisURL is required", ErrConfig)
	}
	if c.WorkerBin == "" {
		return fmt.Errorf("%w: WorkerBin is required", ErrConfig)
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = AllScenarios
	}
	for _, sc := range c.Scenarios {
		if !slices.Contains(AllScenarios, sc) {
			return fmt.Errorf("%w: unknown scenario %q (known: %s)", ErrConfig, sc, strings.Join(AllScenarios, ", "))
		}
	}
	if (c.runs(ScenarioLatency) || c.runs(ScenarioSDK) || c.runs(ScenarioRemote) || c.runs(ScenarioCPU) || c.runs(ScenarioConvert)) && c.EnqueueBin == "" {
		return fmt.Errorf("%w: EnqueueBin is required for the latency, sdk, remote, cpu and convert scenarios", ErrConfig)
	}
	c.ConvertFiles = cmp.Or(c.ConvertFiles, DefaultConvertFiles)
	c.ConvertConcurrency = cmp.Or(c.ConvertConcurrency, DefaultConvertConcurrency)
	if c.runs(ScenarioSDK) && c.SDKDir == "" {
		return fmt.Errorf("%w: %w", ErrConfig, errNoSDKDir)
	}
	if len(c.SDKBatches) == 0 {
		c.SDKBatches = DefaultSDKBatches
	}
	if len(c.SDKConcurrency) == 0 {
		c.SDKConcurrency = DefaultSDKConcurrency
	}
	c.RemoteRoundTrip = cmp.Or(c.RemoteRoundTrip, DefaultRemoteRoundTrip)
	c.RemoteFilesPerSlot = cmp.Or(c.RemoteFilesPerSlot, DefaultRemoteFilesPerSlot)
	c.CPUFiles = cmp.Or(c.CPUFiles, DefaultCPUFiles)
	if len(c.RemoteConcurrency) == 0 {
		c.RemoteConcurrency = DefaultRemoteConcurrency
	}
	c.LatencyJobs = cmp.Or(c.LatencyJobs, DefaultLatencyJobs)
	c.IdleWindow = cmp.Or(c.IdleWindow, DefaultIdleWindow)
	if len(c.Sizes) == 0 {
		c.Sizes = DefaultSizes
	}
	for _, s := range c.Sizes {
		if s < mediagen.MinJPEGSize || s > upload.MaxFileSize {
			return fmt.Errorf("%w: size %d is outside %d..%d bytes", ErrConfig, s, mediagen.MinJPEGSize, upload.MaxFileSize)
		}
	}
	if len(c.Concurrency) == 0 {
		c.Concurrency = DefaultConcurrency
	}
	for _, n := range c.Concurrency {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d is below 1", ErrConfig, n)
		}
	}
	if c.Files == nil {
		c.Files = DefaultFiles
	}
	c.EnqueueFiles = cmp.Or(c.EnqueueFiles, DefaultEnqueueFiles)
	c.Rounds = cmp.Or(c.Rounds, DefaultRounds)
	if c.Rounds < 0 {
		return fmt.Errorf("%w: %d rounds", ErrConfig, c.Rounds)
	}
	c.Timeout = cmp.Or(c.Timeout, 5*time.Minute)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// runner holds what every measurement shares.
type runner struct {
	cfg   Config
	dir   string
	keys  *alipaytest.Keys
	files alipaytest.KeyFiles
	gw    *alipaytest.Server
	conn  asynq.RedisConnOpt
	rdb   redis.UniversalClient
	insp  *asynq.Inspector
	// client queues the bench's files (every path under dir).
	client *tasks.Client
	log    *slog.Logger

	redisPid int // redis-server's pid when it runs on this host, else 0
}

// Run measures, in one process and against one emulator, the end-to-end
// throughput of the pipeline and its two baselines for every size and
// concurrency, the worker's peak RSS, and the enqueue rates.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	started := time.Now()
	r := &runner{cfg: cfg, log: cfg.Logger}
	r.dir = cfg.Dir
	if r.dir == "" {
		d, err := os.MkdirTemp("", "bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(d)
		r.dir = d
	}
	var err error
	r.dir, err = filepath.Abs(r.dir)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if r.keys, err = alipaytest.GenerateKeys(); err != nil {
		return nil, err
	}
	if r.files, err = r.keys.WriteFiles(filepath.Join(r.dir, "keys")); err != nil {
		return nil, err
	}
	r.gw, err = alipaytest.NewServer(alipaytest.Config{
		AppID:        alipaytest.TestAppID,
		AppPublicKey: &r.keys.App.PublicKey,
		GatewayKey:   r.keys.Gateway,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer r.gw.Close()
	if r.conn, err = redisurl.Parse(cfg.RedisURL); err != nil {
		return nil, fmt.Errorf("%w: RedisURL: %w", ErrConfig, err)
	}
	rdb, ok := r.conn.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("%w: RedisURL: unsupported connection", ErrConfig)
	}
	r.rdb = rdb
	defer rdb.Close()
	r.insp = asynq.NewInspector(r.conn)
	defer r.insp.Close()
	if r.client, err = tasks.NewClient(tasks.ClientConfig{Redis: r.conn, MediaRoots: []string{r.dir}}); err != nil {
		return nil, err
	}
	defer r.client.Close()

	rep := &Report{Scenarios: cfg.Scenarios}
	if rep.Machine, err = r.machine(ctx); err != nil {
		return nil, err
	}
	if cfg.runs(ScenarioLatency) {
		if rep.Latency, err = r.latency(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioSDK) {
		if rep.SDK, err = r.sdkScenario(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioRemote) {
		if rep.Remote, err = r.remote(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioCPU) {
		if rep.CPU, err = r.cpuScenario(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioConvert) {
		if rep.Convert, err = r.convertScenario(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioThroughput) {
		if err := r.throughput(ctx, rep); err != nil {
			return nil, err
		}
	}
	if cfg.runs(ScenarioEnqueue) {
		if rep.Enqueue, err = r.enqueueRates(ctx); err != nil {
			return nil, err
		}
	}
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// throughput measures the cells of every size and concurrency.
func (r *runner) throughput(ctx context.Context, rep *Report) error {
	cfg := r.cfg
	for _, size := range cfg.Sizes {
		n := cfg.Files(size)
		sizeDir := filepath.Join(r.dir, "files", strconv.FormatInt(size, 10))
		r.log.Info("writing files", "size", size, "files", n)
		paths, err := writeFiles(sizeDir, size, n, uint64(size))
		if err != nil {
			return err
		}
		for _, c := range cfg.Concurrency {
			rounds := make([]Cell, 0, cfg.Rounds)
			for round := range cfg.Rounds {
				cell, err := r.cell(ctx, sizeDir, paths, size, n, c)
				if err != nil {
					return err
				}
				r.log.Info("measured", "size", size, "concurrency", c, "round", round+1, "direct_fps", cell.Direct.FilesPerSec(),
					"noop_fps", cell.Noop.FilesPerSec(), "worker_fps", cell.Worker.FilesPerSec(),
					"e2e_fps", cell.EndToEnd.FilesPerSec(), "inproc_fps", cell.InProcess.FilesPerSec(), "worker_ratio", cell.Ratio(), "inproc_ratio", cell.InProcessRatio(), "e2e_ratio", cell.EndToEndRatio(), "worker_peak_rss_mb", float64(cell.WorkerPeakRSS)/1e6)
				rounds = append(rounds, cell)
			}
			cell := MedianCell(rounds)
			rep.Cells = append(rep.Cells, cell)
		}
		if err := os.RemoveAll(sizeDir); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// cell measures one size at one concurrency once: every column in turn.
func (r *runner) cell(ctx context.Context, sizeDir string, paths []string, size int64, n, c int) (Cell, error) {
	cell := Cell{Size: size, Concurrency: c, Files: n}
	var err error
	if cell.Direct, err = r.direct(ctx, paths, size, c); err != nil {
		return cell, err
	}
	if cell.Noop, err = r.noop(ctx, max(n, noopTasks), c); err != nil {
		return cell, err
	}
	if cell.Worker, cell.EndToEnd, cell.WorkerPeakRSS, err = r.pipeline(ctx, sizeDir, n, size, c); err != nil {
		return cell, err
	}
	if cell.InProcess, err = r.inProcess(ctx, sizeDir, n, size, c); err != nil {
		return cell, err
	}
	return cell, nil
}

func (r *runner) machine(ctx context.Context) (Machine, error) {
	m := Machine{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Date: r.cfg.Now().UTC(),
	}
	m.SHA256 = MeasureSHA256()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	info, err := r.rdb.Info(ctx, "server").Result()
	if err != nil {
		return m, fmt.Errorf("bench: Redis: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			m.Redis = v
		}
		if v, ok := strings.CutPrefix(line, "process_id:"); ok && r.redisLocal() {
			r.redisPid, _ = strconv.Atoi(v)
		}
	}
	return m, nil
}

// flush empties the Redis database and the emulator's records.
func (r *runner) flush(ctx context.Context) error { return r.flushGateway(ctx, r.gw) }

// flushGateway empties the Redis database and the records of gw.
func (r *runner) flushGateway(ctx context.Context, gw *alipaytest.Server) error {
	gw.Reset()
	if err := r.rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("bench: flush Redis: %w", err)
	}
	return nil
}

// direct is the first baseline: c goroutines calling upload.Client.Upload
// on the files, no queue.
func (r *runner) direct(ctx context.Context, paths []string, size int64, c int) (Measure, error) {
	return r.directTo(ctx, r.gw, paths, size, c)
}

// directTo is [runner.direct] against gw.
func (r *runner) directTo(ctx context.Context, gw *alipaytest.Server, paths []string, size int64, c int) (Measure, error) {
	if err := r.flushGateway(ctx, gw); err != nil {
		return Measure{}, err
	}
	client, err := upload.New(upload.Config{
		GatewayURL:      gw.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: r.keys.App},
		AlipayPublicKey: &r.keys.Gateway.PublicKey,
		Timeout:         r.cfg.Timeout,
	})
	if err != nil {
		return Measure{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	jobs := make(chan string)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }
	watch := r.startWatch(0)
	for range c {
		wg.Go(func() {
			for p := range jobs {
				if err := uploadFile(ctx, client, p); err != nil {
					fail(err)
				}
			}
		})
	}
	for _, p := range paths {
		select {
		case jobs <- p:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	m := watch.measure(len(paths), size)
	if firstErr != nil {
		return Measure{}, fmt.Errorf("bench: direct upload: %w", firstErr)
	}
	if got := gw.Stats().Successes; got != int64(len(paths)) {
		return Measure{}, fmt.Errorf("bench: direct: the emulator counted %d successes for %d files", got, len(paths))
	}
	return m, nil
}

func uploadFile(ctx context.Context, c *upload.Client, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = c.Upload(ctx, upload.Request{Content: f, Size: st.Size(), ImageType: "jpg", ImageName: filepath.Base(path)})
	return err
}

// noop is the second baseline: n upload-shaped tasks through asynq, with
// an in-process server of concurrency c whose handler does nothing.
func (r *runner) noop(ctx context.Context, n, c int) (Measure, error) {
	if err := r.flush(ctx); err != nil {
		return Measure{}, err
	}
	var done atomic.Int64
	all := make(chan struct{})
	srv := asynq.NewServer(r.conn, asynq.Config{
		Concurrency:       c,
		Queues:            map[string]int{tasks.QueueDefault: 1},
		TaskCheckInterval: taskCheckInterval,
		LogLevel:          asynq.FatalLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(all)
		}
		return nil
	}))
	if err != nil {
		return Measure{}, fmt.Errorf("bench: no-op server: %w", err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(r.conn)
	defer client.Close()
	watch := r.startWatch(0)
	if err := enqueueFake(ctx, client, n, 4); err != nil {
		return Measure{}, err
	}
	select {
	case <-all:
	case <-time.After(r.cfg.Timeout):
		return Measure{}, fmt.Errorf("bench: no-op: %d of %d tasks done after %v", done.Load(), n, r.cfg.Timeout)
	}
	return watch.measure(n, 0), nil
}

// enqueueFake queues n upload tasks with made-up, unique payloads from g
// goroutines.
func enqueueFake(ctx context.Context, client *asynq.Client, n, g int) error {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range g {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				p := tasks.UploadPayload{
					Path: fmt.Sprintf("/noop/f%05d.jpg", i), ImageName: fmt.Sprintf("f%05d.jpg", i), ImageType: "jpg",
					SHA256: fmt.Sprintf("%064x", i+1), Size: 1,
				}
				task, err := tasks.NewUploadTask(p)
				if err == nil {
					_, err = client.EnqueueContext(ctx, task)
				}
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("bench: enqueue: %w", err) })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// taskCheckInterval is how often an idle asynq server (the worker, the
// no-op server) polls empty queues during a measurement; the default 1s
// would add up to a second of idle time to each measurement's start.
const taskCheckInterval = 20 * time.Millisecond

// pipeline measures the system twice with one cmd/worker child process
// of concurrency c. Worker: the bulk importer (in this process) fills the
// paused queue with the files, then the queue is unpaused and the clock
// runs until the last task is completed. End to end: the importer checks,
// hashes and queues the files while the worker uploads them, and the clock
// runs from the import's start. It also returns the worker's peak RSS.
func (r *runner) pipeline(ctx context.Context, dir string, n int, size int64, c int) (worker, endToEnd Measure, rss int64, err error) {
	w := testproc.NewWorker("worker", r.cfg.WorkerBin, testproc.WorkerConfig{
		RedisURL: r.cfg.RedisURL, GatewayURL: r.gw.URL, Keys: r.files, MediaRoot: r.dir,
		Env: []string{
			"ALIPAY_TIMEOUT=" + r.cfg.Timeout.String(),
			"WORKER_CONCURRENCY=" + strconv.Itoa(c),
			"WORKER_TASK_CHECK_INTERVAL=" + taskCheckInterval.String(),
			"LOG_LEVEL=warn",
		},
	})
	if err := r.flush(ctx); err != nil {
		return worker, endToEnd, 0, err
	}
	if err := w.Start(); err != nil {
		return worker, endToEnd, 0, err
	}
	defer w.Kill()
	if err := r.waitServer(w); err != nil {
		return worker, endToEnd, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()

	// Worker: a full, paused queue, then unpause.
	if err := r.insp.PauseQueue(tasks.QueueDefault); err != nil {
		return worker, endToEnd, 0, fmt.Errorf("bench: pause: %w", err)
	}
	if err := r.importAll(ctx, dir, n); err != nil {
		return worker, endToEnd, 0, err
	}
	watch := r.startWatch(w.Pid())
	if err := r.insp.UnpauseQueue(tasks.QueueDefault); err != nil {
		return worker, endToEnd, 0, fmt.Errorf("bench: unpause: %w", err)
	}
	if err := r.waitCompleted(ctx, w, n); err != nil {
		return worker, endToEnd, 0, err
	}
	worker = watch.measure(n, size)

	// End to end: import and upload at once.
	if err := r.flush(ctx); err != nil {
		return worker, endToEnd, 0, err
	}
	watch = r.startWatch(w.Pid())
	imported := make(chan error, 1)
	go func() { imported <- r.importAll(ctx, dir, n) }()
	if err := r.waitCompleted(ctx, w, n); err != nil {
		return worker, endToEnd, 0, err
	}
	endToEnd = watch.measure(n, size)
	if err := <-imported; err != nil {
		return worker, endToEnd, 0, err
	}

	if rss, err = w.PeakRSS(); err != nil {
		return worker, endToEnd, 0, err
	}
	if err := w.Term(time.Minute); err != nil {
		return worker, endToEnd, 0, fmt.Errorf("bench: worker shutdown: %w (log:\n%s)", err, w.Log())
	}
	return worker, endToEnd, rss, nil
}

// importAll queues the n files of dir with the bulk importer (no
// pre-count, so the workers start at once) and checks it queued them all.
func (r *runner) importAll(ctx context.Context, dir string, n int) error {
	sum, err := importer.Run(ctx, importer.Config{Client: r.client, Paths: []string{dir}, NoPreCount: true})
	if err == nil && sum.Queued != int64(n) {
		err = fmt.Errorf("bench: the importer queued %d of %d files (%v)", sum.Queued, n, sum)
	}
	return err
}

// waitCompleted polls until n tasks of the default queue are completed,
// failing when one is archived or the worker exits.
func (r *runner) waitCompleted(ctx context.Context, w runningWorker, n int) error {
	completed := "asynq:{" + tasks.QueueDefault + "}:completed"
	archived := "asynq:{" + tasks.QueueDefault + "}:archived"
	for {
		done, err := r.rdb.ZCard(ctx, completed).Result()
		if err != nil {
			return fmt.Errorf("bench: pipeline: %w (worker log:\n%s)", err, w.Log())
		}
		if done == int64(n) {
			return nil
		}
		if bad, _ := r.rdb.ZCard(ctx, archived).Result(); bad > 0 {
			return fmt.Errorf("bench: pipeline: %d task(s) archived (worker log:\n%s)", bad, w.Log())
		}
		if !w.Running() {
			return fmt.Errorf("bench: the worker exited (log:\n%s)", w.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitServer waits until the worker's asynq server has registered itself,
// so that start-up is not measured.
func (r *runner) waitServer(w runningWorker) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		servers, _ := r.insp.Servers()
		for _, s := range servers {
			if s.PID == w.Pid() {
				return nil
			}
		}
		if !w.Running() {
			return fmt.Errorf("bench: the worker exited at start (log:\n%s)", w.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("bench: the worker did not register with Redis in 30s (log:\n%s)", w.Log())
}

// runningWorker is a worker under measurement: a cmd/worker child process
// (*testproc.Proc) or a [worker.Worker] running in this process.
type runningWorker interface {
	Pid() int
	Running() bool
	Log() string
}

// localWorker is a worker.Worker running in this process.
type localWorker struct {
	done chan struct{} // closed when Run has returned
	err  error         // Run's result: read it only once done is closed
	log  syncbuf.Buffer
}

func (l *localWorker) Pid() int { return os.Getpid() }

func (l *localWorker) Running() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

func (l *localWorker) Log() string { return l.log.String() }

// inProcess measures the worker code without the cost of a process of its
// own: worker.New and Worker.Run in this process, with the configuration
// the child process gets, draining a queue the importer filled beforehand
// (clock from the unpause to the last completed task). Every upload is
// still opened, validated, hashed and checked against the size and
// SHA-256 recorded at enqueue time.
func (r *runner) inProcess(ctx context.Context, dir string, n int, size int64, c int) (Measure, error) {
	if err := r.flush(ctx); err != nil {
		return Measure{}, err
	}
	lw := &localWorker{done: make(chan struct{})}
	keys, err := upload.KeysFromFiles(r.files.AppPrivateKey, r.files.GatewayPublicKey)
	if err != nil {
		return Measure{}, fmt.Errorf("bench: in-process worker: %w", err)
	}
	w, err := worker.New(ctx, worker.Config{
		Redis:             r.conn,
		GatewayURL:        r.gw.URL,
		AppID:             alipaytest.TestAppID,
		Keys:              keys,
		UploadTimeout:     r.cfg.Timeout,
		MediaRoots:        []string{r.dir},
		Concurrency:       c,
		TaskCheckInterval: taskCheckInterval,
	}, slog.New(slog.NewTextHandler(&lw.log, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return Measure{}, fmt.Errorf("bench: in-process worker: %w", err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if err := r.insp.PauseQueue(tasks.QueueDefault); err != nil {
		return Measure{}, fmt.Errorf("bench: pause: %w", err)
	}
	if err := r.importAll(ctx, dir, n); err != nil {
		return Measure{}, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	go func() {
		defer close(lw.done)
		lw.err = w.Run(runCtx)
	}()
	defer func() { stop(); <-lw.done }()
	if err := r.waitServer(lw); err != nil {
		// Run may still be running: its result is there once it returns.
		stop()
		<-lw.done
		return Measure{}, fmt.Errorf("%w (run: %v)", err, lw.err)
	}
	watch := r.startWatch(0)
	if err := r.insp.UnpauseQueue(tasks.QueueDefault); err != nil {
		return Measure{}, fmt.Errorf("bench: unpause: %w", err)
	}
	if err := r.waitCompleted(ctx, lw, n); err != nil {
		return Measure{}, err
	}
	return watch.measure(n, size), nil
}

// enqueueRates measures the bulk importer against two plain loops on the
// same small files.
func (r *runner) enqueueRates(ctx context.Context) (EnqueueResult, error) {
	n := r.cfg.EnqueueFiles
	dir := filepath.Join(r.dir, "files", "enqueue")
	r.log.Info("writing files", "size", 4096, "files", n)
	paths, err := writeFiles(dir, 4096, n, 0xe7)
	if err != nil {
		return EnqueueResult{}, err
	}
	defer os.RemoveAll(dir)
	res := EnqueueResult{Files: n}

	// The bulk importer: concurrent checking, hashing and queueing.
	if err := r.flush(ctx); err != nil {
		return res, err
	}
	start := time.Now()
	sum, err := importer.Run(ctx, importer.Config{Client: r.client, Paths: []string{dir}})
	if err != nil {
		return res, fmt.Errorf("bench: import: %w", err)
	}
	if sum.Queued != int64(n) {
		return res, fmt.Errorf("bench: the importer queued %d of %d files", sum.Queued, n)
	}
	res.Importer = time.Since(start)

	// An application's loop: tasks.Client.Enqueue (check, hash, queue)
	// one file after the other.
	if err := r.flush(ctx); err != nil {
		return res, err
	}
	start = time.Now()
	for _, p := range paths {
		e, err := r.client.Enqueue(ctx, tasks.UploadRequest{Path: p})
		if err != nil {
			return res, fmt.Errorf("bench: enqueue loop: %w", err)
		}
		if e.Duplicate {
			return res, fmt.Errorf("bench: enqueue loop: %s already queued", p)
		}
	}
	res.ClientLoop = time.Since(start)

	// The bare queue: asynq.Client.Enqueue of payloads computed beforehand.
	prepared := make([]*tasks.Prepared, len(paths))
	for i, p := range paths {
		if prepared[i], err = r.client.Prepare(ctx, tasks.UploadRequest{Path: p}); err != nil {
			return res, fmt.Errorf("bench: prepare: %w", err)
		}
	}
	if err := r.flush(ctx); err != nil {
		return res, err
	}
	ac := asynq.NewClient(r.conn)
	defer ac.Close()
	start = time.Now()
	for _, p := range prepared {
		task, err := tasks.NewUploadTask(p.Payload)
		if err != nil {
			return res, err
		}
		if _, err := ac.EnqueueContext(ctx, task); err != nil {
			return res, fmt.Errorf("bench: asynq enqueue loop: %w", err)
		}
	}
	res.AsynqLoop = time.Since(start)
	r.log.Info("measured enqueue rates", "importer_fps", res.rate(res.Importer),
		"client_loop_fps", res.rate(res.ClientLoop), "asynq_loop_fps", res.rate(res.AsynqLoop))
	return res, nil
}
