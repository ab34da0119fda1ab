package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// full reports whether the full-size suite was asked for (make chaos).
func full() bool { return os.Getenv("CHAOS_FULL") != "" }

// fileCount is the number of files each scenario imports.
func fileCount() int {
	if s := os.Getenv("CHAOS_FILES"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 20 {
			return n
		}
	}
	if full() {
		return 320
	}
	return 40
}

// commands are the paths of the built cmd/worker and cmd/enqueue.
type commands struct{ worker, enqueue string }

var (
	buildOnce sync.Once
	builtBins commands
	buildErr  error
	buildDir  string
)

// binaries builds cmd/worker and cmd/enqueue once per test binary.
func binaries(t *testing.T) commands {
	t.Helper()
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildDir, buildErr = os.MkdirTemp("", "chaos-bin-")
		if buildErr != nil {
			return
		}
		start := time.Now()
		paths, err := testproc.Build(ctx, buildDir, testproc.CmdWorker, testproc.CmdEnqueue)
		if buildErr = err; err == nil {
			builtBins = commands{worker: paths[0], enqueue: paths[1]}
		}
		t.Logf("built cmd/worker and cmd/enqueue in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtBins
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func importTimeout() time.Duration {
	if full() {
		return 10 * time.Minute
	}
	return 4 * time.Minute
}

// scenario says what goes wrong during one run.
type scenario struct {
	// faults turns on the emulator's fault mix: 20% HTTP 5xx, 5% resets
	// mid-body, 5% code 20000, slow answers beyond the client timeout,
	// and bursts of 40005.
	faults bool
	// kill9 kills a worker with SIGKILL while it uploads, then restarts it.
	kill9 bool
	// sigterm stops a worker with SIGTERM while it uploads, checks it
	// exits cleanly, then restarts it.
	sigterm bool
	// redisRestart kills Redis (append-only on) mid-run and starts it
	// again.
	redisRestart bool
	// redisOutage stops Redis (append-only on) while both workers have
	// uploads in flight, keeps it down this long (longer than asynq's 30s
	// lease), and starts it again with its data. No file may be uploaded
	// twice, since every worker stays alive.
	redisOutage time.Duration
	// topology is "single" (default), "cluster" or "sentinel".
	topology string
}

// Worker settings shared by every scenario. The client timeout (2s) is
// below the emulator's slow delay (3s); retries are quick so the suite is.
const (
	clientTimeout   = 2 * time.Second
	slowDelay       = 3 * time.Second
	shutdownTimeout = 5 * time.Second
	concurrency     = 4
)

func TestScenarios(t *testing.T) {
	t.Parallel()
	if full() {
		for name, sc := range map[string]scenario{
			"faults":        {faults: true},
			"kill9":         {kill9: true},
			"redis-restart": {redisRestart: true},
			"redis-outage":  {redisOutage: 2 * time.Minute},
			"sigterm":       {sigterm: true},
			"cluster":       {topology: "cluster"},
			"sentinel":      {topology: "sentinel"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				run(t, sc)
			})
		}
		return
	}
	// The small form: every fault, fewer runs.
	for name, sc := range map[string]scenario{
		"faults+kill9+sigterm": {faults: true, kill9: true, sigterm: true},
		"redis-restart+faults": {redisRestart: true, faults: true},
		"redis-outage":         {redisOutage: 40 * time.Second},
		"cluster":              {topology: "cluster"},
		"sentinel+sigterm":     {topology: "sentinel", sigterm: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, sc)
		})
	}
}

// rig is one scenario's world: a media root with the files, a gateway,
// Redis, worker processes and the importer.
type rig struct {
	t        *testing.T
	sc       scenario
	bins     commands
	root     string
	samples  []Sample
	keys     alipaytest.KeyFiles
	gw       *alipaytest.Gateway
	fronts   []*front        // one per worker, all serving gw
	redis    *testproc.Redis // single topology only
	redisURL string          // what the worker is given
	conn     asynq.RedisConnOpt
	insp     *asynq.Inspector
	workers  []*testproc.Proc
	started  time.Time
	// importer is the current cmd/enqueue process (nil until the import
	// starts), set by the import goroutine and read by the cleanup.
	importer atomic.Pointer[testproc.Proc]
	// importing is the import goroutine, stopped and waited for by the
	// cleanup when the test ends before the import does.
	importing sync.WaitGroup

	importRuns atomic.Int32
	ctx        context.Context // ends with the test
	bg         sync.WaitGroup  // goroutines that log, waited for before the end

	// died receives the name of a worker that exited when it should not.
	died       chan string
	closing    atomic.Bool
	mu         sync.Mutex
	expectDown map[int]bool // workers being killed or stopped on purpose
}

func run(t *testing.T, sc scenario) {
	r := newRig(t, sc)
	r.startWorkers(2)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// stopBursts also runs when a Fatalf ends the test early.
	stopBursts := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopBursts()
	if sc.faults {
		wg.Go(func() { r.throttleBursts(stop) })
	}
	if sc.sigterm || sc.kill9 || sc.redisOutage > 0 {
		// Hold every answer for a second until the workers have been
		// disrupted, so each has uploads in flight when its turn comes.
		r.holdAnswers(time.Second)
	}
	manifest := r.startImport()
	r.enqueueDirect()

	if sc.sigterm {
		r.termWorker(len(r.workers) - 1)
	}
	if sc.kill9 {
		r.killWorker(0)
	}
	if sc.redisOutage > 0 {
		r.stopRedis(sc.redisOutage)
	}
	r.holdAnswers(0)
	if sc.redisRestart {
		r.restartRedis()
	}

	var data []byte
	select {
	case data = <-manifest:
	case name := <-r.died:
		t.Fatalf("%s exited on its own", name)
	case <-time.After(importTimeout()):
		t.Fatalf("the import did not finish in %v", importTimeout())
	}
	stopBursts()
	r.bg.Wait()
	r.waitDirect()
	rows, err := ReadManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tasksByID, qi, err := Gather(r.insp, tasks.QueueDefault, r.samples)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(Outcome{Samples: r.samples, Manifest: rows, Tasks: tasksByID, Queue: qi, Uploads: r.gw.Uploads()})
	st := r.gw.Stats()
	t.Logf("%d files in %v, %d importer run(s); gateway: %d requests, %d successes, faults %v, %d aborted",
		len(r.samples), time.Since(r.started).Round(100*time.Millisecond), r.importRuns.Load(),
		st.Requests, st.Successes, st.Faults, st.Aborted)
	t.Logf("DUPLICATES: %d file(s) uploaded more than once, %d extra upload(s); files by number of uploads: %v", rep.DuplicateFiles, rep.ExtraUploads, uploadsPerFile(r.gw.Uploads()))
	if sc.redisOutage > 0 && rep.DuplicateFiles > 0 {
		t.Errorf("%d file(s) uploaded more than once across a Redis outage of %v, though every worker stayed alive", rep.DuplicateFiles, sc.redisOutage)
	}
	if !rep.OK() {
		t.Errorf("%s", rep)
	} else {
		t.Logf("%s", rep)
	}
	if rep.Valid == 0 || rep.Rejected == 0 || rep.Archived == 0 {
		t.Errorf("the set must hold valid, rejected and archived files: %s", rep)
	}
}

func newRig(t *testing.T, sc scenario) *rig {
	r := &rig{t: t, sc: sc, bins: binaries(t), root: t.TempDir(), died: make(chan string, 8), expectDown: map[int]bool{}}
	mp4, mov := templates(t)
	var err error
	r.samples, err = GenerateSet(r.root, SetConfig{Files: fileCount(), Seed: uint64(time.Now().UnixNano()), MP4: mp4, MOV: mov})
	if err != nil {
		t.Fatal(err)
	}
	r.gw, r.keys = newGateway(t, alipaytest.Config{SlowDelay: slowDelay})
	if sc.faults {
		err := r.gw.Faults().Apply(alipaytest.FaultSettings{Rates: map[alipaytest.FaultKind]float64{
			alipaytest.Fault502:         0.10,
			alipaytest.Fault503:         0.10,
			alipaytest.FaultReset:       0.05,
			alipaytest.FaultUnavailable: 0.05,
			alipaytest.FaultSlow:        0.03,
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	switch sc.topology {
	case "", "single":
		r.redis = testproc.StartRedis(t, testproc.RedisOptions{AppendOnly: sc.redisRestart || sc.redisOutage > 0})
		r.redisURL = r.redis.URL()
	case "cluster":
		c := testproc.StartCluster(t)
		r.redisURL = c.URL()
	case "sentinel":
		s := testproc.StartSentinel(t)
		r.redisURL = s.URL()
	default:
		t.Fatalf("unknown topology %q", sc.topology)
	}
	r.conn, err = redisurl.Parse(r.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	r.insp = asynq.NewInspector(r.conn)
	t.Cleanup(func() { _ = r.insp.Close() })
	r.started = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = ctx
	t.Cleanup(func() {
		cancel()
		r.bg.Wait()
		r.closing.Store(true)
		for _, w := range r.workers {
			w.Kill()
		}
		// The import goroutine sees r.ctx done and starts no other run.
		if p := r.importer.Load(); p != nil {
			p.Kill()
		}
		r.importing.Wait()
		if t.Failed() || os.Getenv("CHAOS_LOGS") != "" {
			for _, w := range r.workers {
				t.Logf("log of %s:\n%s", w.Name, lastBytes(w.Log(), 64<<10))
			}
			if p := r.importer.Load(); p != nil {
				t.Logf("log of the importer:\n%s", lastBytes(p.Log(), 16<<10))
			}
		}
	})
	return r
}

// newGateway is an emulator with the test keys and no log, and the key
// files of a worker that uploads to it.
func newGateway(t *testing.T, cfg alipaytest.Config) (*alipaytest.Gateway, alipaytest.KeyFiles) {
	t.Helper()
	keys, err := alipaytest.TestKeys().WriteFiles(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithTestKeys()
	cfg.Logger = slog.New(slog.DiscardHandler)
	gw, err := alipaytest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw, keys
}

// killAll kills procs and, when the test failed, logs the last tail bytes
// of what each one wrote.
func killAll(t *testing.T, procs []*testproc.Proc, tail int) {
	for _, p := range procs {
		p.Kill()
	}
	if t.Failed() {
		for _, p := range procs {
			t.Logf("log of %s:\n%s", p.Name, lastBytes(p.Log(), tail))
		}
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

// workerEnv holds the worker settings of every scenario.
func workerEnv() []string {
	return []string{
		"ALIPAY_TIMEOUT=" + clientTimeout.String(),
		"WORKER_CONCURRENCY=" + strconv.Itoa(concurrency),
		"SHUTDOWN_TIMEOUT=" + shutdownTimeout.String(),
		"RETRY_BASE_DELAY=200ms",
		"RETRY_MAX_DELAY=2s",
		"RETRY_THROTTLE_DELAY=1s",
		"WORKER_DELAYED_TASK_CHECK_INTERVAL=200ms",
		"WORKER_TASK_CHECK_INTERVAL=100ms",
		"LOG_LEVEL=info",
	}
}

func (r *rig) startWorkers(n int) {
	for i := range n {
		f := newFront(r.t, r.gw)
		r.fronts = append(r.fronts, f)
		w := testproc.NewWorker(fmt.Sprintf("worker%d", i+1), r.bins.worker, testproc.WorkerConfig{
			RedisURL: r.redisURL, GatewayURL: f.url(), Keys: r.keys, MediaRoot: r.root, Env: workerEnv(),
		})
		if err := w.Start(); err != nil {
			r.t.Fatal(err)
		}
		r.workers = append(r.workers, w)
		go r.watch(i, w)
	}
}

// watch reports worker i on r.died if it exits while not expected to.
func (r *rig) watch(i int, w *testproc.Proc) {
	for !r.closing.Load() {
		r.mu.Lock()
		expected := r.expectDown[i]
		r.mu.Unlock()
		if !expected && !w.Running() && !r.closing.Load() {
			r.died <- w.Name
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *rig) expect(i int, down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expectDown[i] = down
}

// holdAnswers makes every gateway front hold each answer for d (0: no
// longer), after the gateway has handled the request: an upload may then
// be recorded while its worker has not yet heard of it.
func (r *rig) holdAnswers(d time.Duration) {
	for _, f := range r.fronts {
		f.hold.Store(int64(d))
	}
}

// throttleBursts answers 40005 to 60% of the requests for 300ms every
// 2s: bursts of throttling in time, as a rate limit imposes them.
func (r *rig) throttleBursts(stop <-chan struct{}) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if err := r.gw.Faults().SetRate(alipaytest.FaultThrottled, 0.6); err != nil {
			r.t.Errorf("40005 burst: %v", err)
			return
		}
		time.Sleep(300 * time.Millisecond)
		_ = r.gw.Faults().SetRate(alipaytest.FaultThrottled, 0)
	}
}

// startImport runs importAll in the background and returns the channel
// that receives its manifest. The rig's cleanup stops it and waits for it.
func (r *rig) startImport() <-chan []byte {
	manifest := make(chan []byte, 1)
	r.importing.Go(func() { manifest <- r.importAll() })
	return manifest
}

// importAll imports the import directory and waits for the results,
// returning the manifest of the last run. An importer that stops because
// Redis went away (exit status 3) is run again, as an operator would: the
// content-derived task IDs make a second run queue nothing twice. Once the
// test has ended (r.ctx done) it stops and returns nil.
func (r *rig) importAll() []byte {
	dir := filepath.Join(r.root, ImportDir)
	for attempt := 1; ; attempt++ {
		if r.ctx.Err() != nil {
			return nil
		}
		r.importRuns.Add(1)
		manifest := filepath.Join(r.t.TempDir(), "manifest.jsonl")
		code := r.importProcess(dir, manifest)
		if r.ctx.Err() != nil {
			return nil // killed by the cleanup: nothing to report
		}
		data, err := os.ReadFile(manifest)
		if err != nil {
			r.t.Errorf("read manifest: %v", err)
			return nil
		}
		switch {
		case code == 1: // some files rejected: expected
			return data
		case code == 3 && attempt < 5:
			r.t.Logf("importer run %d stopped with status 3 (Redis unavailable); running it again once Redis answers", attempt)
			r.waitRedis(5 * time.Minute)
		default:
			r.t.Errorf("importer run %d exited with status %d, want 1 (files rejected)", attempt, code)
			return data
		}
	}
}

func (r *rig) importProcess(dir, manifest string) int {
	p := &testproc.Proc{
		Name: fmt.Sprintf("enqueue#%d", r.importRuns.Load()),
		Path: r.bins.enqueue,
		Args: []string{"--wait", "--manifest", manifest, "--progress", "none", "--poll", "200ms", dir},
		Env:  append(os.Environ(), "REDIS_URL="+r.redisURL, "MEDIA_ROOTS="+r.root),
	}
	r.importer.Store(p)
	if err := p.Start(); err != nil {
		r.t.Errorf("%v", err)
		return -1
	}
	// The cleanup kills the importer it finds; one started after that
	// sees r.ctx done here.
	if r.ctx.Err() != nil {
		p.Kill()
	}
	err := p.Wait(10 * time.Minute)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code != 3 && code != 1 && r.ctx.Err() == nil {
			r.t.Logf("importer output:\n%s", lastBytes(p.Log(), 8<<10))
		}
		return ee.ExitCode()
	default:
		r.t.Errorf("importer: %v", err)
		return -1
	}
}

// TestRigCleanupStopsTheImport ends a scenario while its import runs, as
// a Fatalf does: the rig's cleanup must kill the importer and wait for the
// import goroutine, so that nothing logs after the test and nothing runs
// on (and -race finds no unguarded rig field).
func TestRigCleanupStopsTheImport(t *testing.T) {
	t.Parallel()
	var importer *testproc.Proc
	t.Run("ends early", func(t *testing.T) {
		r := newRig(t, scenario{})
		// No worker runs: the importer (--wait) waits for results until
		// it is killed.
		r.startImport()
		deadline := time.Now().Add(time.Minute)
		for importer = r.importer.Load(); importer == nil || !importer.Running(); importer = r.importer.Load() {
			if time.Now().After(deadline) {
				t.Fatal("the importer did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if importer.Running() {
		importer.Kill()
		t.Fatal("the importer still runs after the test that started it")
	}
}

// enqueueDirect queues the direct samples straight to Redis, skipping the
// local check, as a producer that does not check its files would.
func (r *rig) enqueueDirect() {
	c := asynq.NewClient(r.conn)
	defer c.Close()
	for _, s := range r.samples {
		if !s.Direct {
			continue
		}
		task, err := tasks.NewUploadTask(tasks.UploadPayload{
			Path: s.Path, ImageName: filepath.Base(s.Path), ImageType: s.DeclaredType,
			SHA256: s.SHA256, Size: s.Size,
		})
		if err != nil {
			r.t.Fatalf("direct task for %s: %v", s.Path, err)
		}
		if _, err := c.Enqueue(task); err != nil {
			r.t.Fatalf("enqueue %s: %v", s.Path, err)
		}
	}
}

// waitDirect waits until every direct task is archived or completed.
func (r *rig) waitDirect() {
	deadline := time.Now().Add(3 * time.Minute)
	for _, s := range r.samples {
		if !s.Direct {
			continue
		}
		for {
			info, err := r.insp.GetTaskInfo(tasks.QueueDefault, TaskIDOf(s))
			if err == nil && (info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted) {
				break
			}
			if time.Now().After(deadline) {
				r.t.Errorf("direct task for %s not finished after 3 minutes (%v)", s.Path, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// waitInflight waits until worker i has a request in flight.
func (r *rig) waitInflight(i int) {
	f := r.fronts[i]
	deadline := time.Now().Add(time.Minute)
	for f.inflight.Load() == 0 {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s never had an upload in flight", r.workers[i].Name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killWorker kills w with SIGKILL in the middle of uploads and restarts
// it at once. The tasks it held stay "active" until asynq's recoverer
// moves them back: see the package documentation for the timing, which
// this logs.
func (r *rig) killWorker(i int) {
	w := r.workers[i]
	r.waitInflight(i)
	r.expect(i, true)
	defer r.expect(i, false)
	active, err := r.insp.ListActiveTasks(tasks.QueueDefault, asynq.PageSize(1000))
	if err != nil {
		r.t.Fatal(err)
	}
	inflight := r.fronts[i].inflight.Load()
	w.Kill()
	killed := time.Now()
	r.t.Logf("killed %s (kill -9) with %d request(s) of its own in flight and %d task(s) active in the queue", w.Name, inflight, len(active))
	if err := w.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.bg.Go(func() {
		// Follow the tasks active at the kill until none is active any
		// more: the other worker finishes its own within seconds, the
		// dead worker's wait for the recoverer.
		for {
			still := 0
			for _, a := range active {
				info, err := r.insp.GetTaskInfo(tasks.QueueDefault, a.ID)
				if err == nil && info.State == asynq.TaskStateActive {
					still++
				}
			}
			if still == 0 {
				r.t.Logf("RECOVERY: every task active at the kill left the active state %v after the kill", time.Since(killed).Round(100*time.Millisecond))
				return
			}
			if time.Since(killed) > 5*time.Minute || r.ctx.Err() != nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// termWorker sends SIGTERM to w while it uploads, checks that it exits
// with status 0 within its shutdown timeout (plus start-up slack), and
// starts it again.
func (r *rig) termWorker(i int) {
	w := r.workers[i]
	r.waitInflight(i)
	r.expect(i, true)
	defer r.expect(i, false)
	r.t.Logf("SIGTERM to %s with %d request(s) in flight", w.Name, r.fronts[i].inflight.Load())
	start := time.Now()
	err := w.Term(shutdownTimeout + 15*time.Second)
	if err != nil {
		r.t.Errorf("%s after SIGTERM: %v, want a clean exit", w.Name, err)
		if errors.Is(err, testproc.ErrStillRunning) {
			w.Kill()
		}
	} else {
		r.t.Logf("%s stopped on SIGTERM in %v", w.Name, time.Since(start).Round(10*time.Millisecond))
	}
	if err := w.Start(); err != nil {
		r.t.Fatal(err)
	}
}

// restartRedis kills Redis once a quarter of the valid files are uploaded,
// keeps it down for a second, and starts it again on the same port and
// append-only file.
func (r *rig) restartRedis() {
	valid := 0
	for _, s := range r.samples {
		if s.Valid {
			valid++
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for r.gw.Stats().Successes < int64(valid/4) {
		if time.Now().After(deadline) {
			r.t.Fatalf("only %d uploads after 2 minutes", r.gw.Stats().Successes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.redis.Kill()
	r.t.Logf("Redis killed after %d uploads", r.gw.Stats().Successes)
	time.Sleep(time.Second)
	if err := r.redis.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("Redis back after %d uploads", r.gw.Stats().Successes)
}

// stopRedis kills Redis while both workers have uploads in flight, keeps
// it down for d, and starts it again on the same port and append-only
// file. The answers held for the uploads in flight go out while Redis is
// down: the workers finish those uploads and cannot record them.
func (r *rig) stopRedis(d time.Duration) {
	r.waitInflight(0)
	r.waitInflight(1)
	// As many uploads in flight as the workers take, or what there is
	// after a few seconds.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if r.fronts[0].inflight.Load() >= concurrency && r.fronts[1].inflight.Load() >= concurrency {
			break
		}
	}
	inflight := []int32{r.fronts[0].inflight.Load(), r.fronts[1].inflight.Load()}
	r.redis.Kill()
	down := time.Now()
	r.holdAnswers(0)
	r.t.Logf("Redis stopped after %d uploads, with %v request(s) in flight per worker; down for %v", r.gw.Stats().Successes, inflight, d)
	select {
	case <-time.After(d):
	case <-r.ctx.Done():
		return
	}
	if err := r.redis.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("Redis back after %v, %d uploads so far", time.Since(down).Round(100*time.Millisecond), r.gw.Stats().Successes)
}

// waitRedis waits until the single Redis answers (other topologies are
// never stopped), or d passes, or the test ends.
func (r *rig) waitRedis(d time.Duration) {
	deadline := time.Now().Add(d)
	for r.redis != nil && testproc.Ping(r.redis.Addr()) != nil && time.Now().Before(deadline) && r.ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	if r.redis == nil {
		time.Sleep(500 * time.Millisecond)
	}
}

// uploadsPerFile counts the files (content and merchant) the gateway
// received once, twice, ...: number of uploads -> number of files.
func uploadsPerFile(ups []alipaytest.Upload) map[int]int {
	type key struct{ sha, token, pid string }
	per := map[key]int{}
	for _, u := range ups {
		per[key{u.SHA256, u.AppAuthToken, u.ImagePID}]++
	}
	out := map[int]int{}
	for _, n := range per {
		out[n]++
	}
	return out
}

// front serves the gateway to one worker, so the test can tell that
// worker's requests apart, count them over time and hold their answers.
type front struct {
	gw  *alipaytest.Gateway
	srv *httptest.Server
	// hold is how long (ns) each answer is held back; 0: not at all.
	hold atomic.Int64
	// inflight counts requests being handled.
	inflight atomic.Int32
	mu       sync.Mutex
	at       []time.Time // when each request arrived
}

func newFront(t *testing.T, gw *alipaytest.Gateway) *front {
	f := &front{gw: gw}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		gw.Wait()
	})
	return f
}

func (f *front) url() string { return f.srv.URL + alipaytest.GatewayPath }

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	if d := time.Duration(f.hold.Load()); d > 0 {
		w = &heldWriter{ResponseWriter: w, delay: d}
	}
	f.gw.ServeHTTP(w, r)
}

// count is the number of requests that arrived within [from, to).
func (f *front) count(from, to time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.at {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// heldWriter sleeps before the first byte of the answer goes out.
type heldWriter struct {
	http.ResponseWriter
	delay time.Duration
	once  sync.Once
}

func (h *heldWriter) wait() { h.once.Do(func() { time.Sleep(h.delay) }) }

func (h *heldWriter) WriteHeader(code int) {
	h.wait()
	h.ResponseWriter.WriteHeader(code)
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.wait()
	return h.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (the reset
// fault hijacks it).
func (h *heldWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
