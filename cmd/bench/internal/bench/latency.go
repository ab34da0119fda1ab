package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/worker"
)

// Latency scenario defaults.
const (
	// DefaultLatencyJobs is the number of jobs per path and setup.
	DefaultLatencyJobs = 50
	// LatencySize is the size of the latency scenario's photo.
	LatencySize = 200_000
	// DefaultIdleWindow is how long the idle cost of a worker is measured.
	DefaultIdleWindow = 10 * time.Second
	// baselineCheck and baselinePoll are the settings before notices:
	// asynq's own empty-queue check, and the waiters' former poll.
	baselineCheck = time.Second
	baselinePoll  = 500 * time.Millisecond
)

// Latency goals (issue 15): enqueue-to-completed on an idle worker.
const (
	GoalLatencyP50 = 100 * time.Millisecond
	GoalLatencyP99 = 300 * time.Millisecond
)

// Paths a job is waited for through.
const (
	PathGoAPI   = "Go API (Client.Enqueue + Wait)"
	PathCLI     = "enqueue --wait (one process per file)"
	PathHTTP    = "HTTP API (POST, then GET ?wait=30s)"
	pathHTTPOld = "HTTP API (POST, then GET every 500ms)"
)

// LatencyRow is one path under one setup: the time from the start of the
// enqueue to the completed task, over Jobs sequential jobs.
type LatencyRow struct {
	Setup    string
	Path     string
	P50, P99 time.Duration
	Max      time.Duration
}

// IdleCost is what one idle worker process costs per second.
type IdleCost struct {
	// CheckInterval is its WORKER_TASK_CHECK_INTERVAL.
	CheckInterval time.Duration
	// Commands is Redis commands per second (total_commands_processed).
	Commands float64
	// WorkerCPU and RedisCPU are milliseconds of CPU per second.
	WorkerCPU, RedisCPU float64
}

// LatencyResult is the outcome of the latency scenario.
type LatencyResult struct {
	Jobs int
	Size int64
	// Rows: the new setup's paths first, then the baseline's.
	Rows []LatencyRow
	Idle []IdleCost
}

// latencySetup is one way of running the worker and waiting for it.
type latencySetup struct {
	name    string
	check   time.Duration // WORKER_TASK_CHECK_INTERVAL
	notices bool          // the worker publishes, the waiters listen
}

// percentile is the nearest-rank percentile p (0-100) of sorted d.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (p*len(d) + 99) / 100
	return d[max(i, 1)-1]
}

func latencyRow(setup, path string, samples []time.Duration) LatencyRow {
	s := slices.Clone(samples)
	slices.Sort(s)
	return LatencyRow{Setup: setup, Path: path, P50: percentile(s, 50), P99: percentile(s, 99), Max: s[len(s)-1]}
}

// latency runs the latency scenario: for the default settings and for the
// baseline, a cmd/worker child process left idle (its idle cost is
// measured first), then Jobs sequential jobs of one 200 kB photo through
// each path.
func (r *runner) latency(ctx context.Context) (*LatencyResult, error) {
	n := r.cfg.LatencyJobs
	res := &LatencyResult{Jobs: n, Size: LatencySize}
	dir := filepath.Join(r.dir, "files", "latency")
	defer os.RemoveAll(dir)
	paths := map[string][]string{}
	for i, p := range []string{PathGoAPI, PathCLI, PathHTTP} {
		var err error
		if paths[p], err = writeFiles(filepath.Join(dir, strconv.Itoa(i)), LatencySize, n, 0x1a7+uint64(i)); err != nil {
			return nil, err
		}
	}
	setups := []latencySetup{
		{name: fmt.Sprintf("default: notices, %v empty-queue check", worker.DefaultTaskCheckInterval), check: worker.DefaultTaskCheckInterval, notices: true},
		{name: fmt.Sprintf("baseline: %v check, %v polling", baselineCheck, baselinePoll), check: baselineCheck},
	}
	for _, s := range setups {
		rows, idle, err := r.latencySetup(ctx, s, paths)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, rows...)
		res.Idle = append(res.Idle, idle)
	}
	return res, nil
}

func (r *runner) latencySetup(ctx context.Context, s latencySetup, paths map[string][]string) ([]LatencyRow, IdleCost, error) {
	idle := IdleCost{CheckInterval: s.check}
	if err := r.flush(ctx); err != nil {
		return nil, idle, err
	}
	w := testproc.NewWorker("worker", r.cfg.WorkerBin, testproc.WorkerConfig{
		RedisURL: r.cfg.RedisURL, GatewayURL: r.gw.URL, Keys: r.files, MediaRoot: r.dir,
		Env: []string{
			"WORKER_TASK_CHECK_INTERVAL=" + s.check.String(),
			"WORKER_NOTICES=" + strconv.FormatBool(s.notices),
			"LOG_LEVEL=warn",
		},
	})
	if err := w.Start(); err != nil {
		return nil, idle, err
	}
	defer w.Kill()
	if err := r.waitServer(w); err != nil {
		return nil, idle, err
	}
	var err error
	if idle, err = r.idleCost(ctx, w.Pid(), s.check); err != nil {
		return nil, idle, err
	}
	poll := baselinePoll
	if s.notices {
		poll = 0 // the defaults
	}
	client, err := tasks.NewClient(tasks.ClientConfig{Redis: r.conn, MediaRoots: []string{r.dir}, PollInterval: poll, NoNotices: !s.notices})
	if err != nil {
		return nil, idle, err
	}
	defer client.Close()

	var rows []LatencyRow
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	measure := func(path string, job func(file string) error) error {
		samples := make([]time.Duration, 0, len(paths[path]))
		for _, f := range paths[path] {
			start := time.Now()
			if err := job(f); err != nil {
				return fmt.Errorf("bench: latency, %s, %s: %w (worker log:\n%s)", s.name, path, err, w.Log())
			}
			samples = append(samples, time.Since(start))
		}
		name := path
		if path == PathHTTP && !s.notices {
			name = pathHTTPOld
		}
		row := latencyRow(s.name, name, samples)
		r.log.Info("measured latency", "setup", s.name, "path", name, "p50", row.P50, "p99", row.P99)
		rows = append(rows, row)
		return nil
	}
	if err := measure(PathGoAPI, func(f string) error {
		enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: f})
		if err != nil {
			return err
		}
		st, err := client.Wait(ctx, enq.ID)
		if err == nil && st.State != tasks.StateCompleted {
			err = fmt.Errorf("task %s ended %s: %s", enq.ID, st.State, st.LastError)
		}
		return err
	}); err != nil {
		return nil, idle, err
	}
	if err := measure(PathCLI, func(f string) error {
		args := []string{"--wait", "--progress", "none", "--redis-url", r.cfg.RedisURL, "--media-roots", r.dir}
		if !s.notices {
			args = append(args, "--poll", baselinePoll.String())
		}
		out, err := exec.CommandContext(ctx, r.cfg.EnqueueBin, append(args, f)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("enqueue --wait: %w: %s", err, out)
		}
		if !strings.Contains(string(out), "1 completed") {
			return fmt.Errorf("enqueue --wait did not complete the file: %s", out)
		}
		return nil
	}); err != nil {
		return nil, idle, err
	}
	api, err := r.startAPI(ctx, client)
	if err != nil {
		return nil, idle, err
	}
	defer api.stop()
	if err := measure(PathHTTP, func(f string) error { return api.upload(ctx, f, s.notices) }); err != nil {
		return nil, idle, err
	}
	return rows, idle, nil
}

// idleCost measures an idle worker: Redis commands and CPU per second over
// IdleWindow.
func (r *runner) idleCost(ctx context.Context, pid int, check time.Duration) (IdleCost, error) {
	c := IdleCost{CheckInterval: check}
	commands := func() (int64, error) {
		info, err := r.rdb.Info(ctx, "stats").Result()
		if err != nil {
			return 0, fmt.Errorf("bench: Redis INFO: %w", err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				return strconv.ParseInt(v, 10, 64)
			}
		}
		return 0, errors.New("bench: Redis INFO has no total_commands_processed")
	}
	// Let start-up settle (the first heartbeats, the first checks).
	time.Sleep(min(time.Second, r.cfg.IdleWindow))
	cmd0, err := commands()
	if err != nil {
		return c, err
	}
	watch := r.startWatch(pid)
	select {
	case <-ctx.Done():
		return c, ctx.Err()
	case <-time.After(r.cfg.IdleWindow):
	}
	m := watch.measure(0, 0)
	cmd1, err := commands()
	if err != nil {
		return c, err
	}
	secs := m.Elapsed.Seconds()
	// The first INFO is counted between the two readings.
	c.Commands = float64(cmd1-cmd0-1) / secs
	c.WorkerCPU = float64(m.CPU.Worker.Milliseconds()) / secs
	c.RedisCPU = float64(m.CPU.Redis.Milliseconds()) / secs
	r.log.Info("measured idle cost", "check", check, "commands_per_s", c.Commands, "worker_cpu_ms_per_s", c.WorkerCPU, "redis_cpu_ms_per_s", c.RedisCPU)
	return c, nil
}

// benchAPI is the HTTP enqueue API served on loopback for the latency
// scenario, as "enqueue serve" serves it.
type benchAPI struct {
	url  string
	stop func()
}

// apiToken is the bearer token of the bench's API.
const apiToken = "bench-token-0123456789abcdef0123456789"

func (r *runner) startAPI(ctx context.Context, client *tasks.Client) (*benchAPI, error) {
	api, err := httpapi.New(httpapi.Config{Client: client, Token: apiToken})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = api.Serve(ctx, ln)
	}()
	return &benchAPI{url: "http://" + ln.Addr().String(), stop: func() { cancel(); <-done }}, nil
}

// upload queues file through the API and waits for its completion: with
// the long poll, or by reading the task every 500ms as clients did before.
func (a *benchAPI) upload(ctx context.Context, file string, longPoll bool) error {
	body, _ := json.Marshal(map[string]string{"path": file})
	req, err := http.NewRequestWithContext(ctx, "POST", a.url+"/v1/uploads", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	task, loc, err := a.do(req)
	if err != nil {
		return err
	}
	for task.State != string(tasks.StateCompleted) {
		if task.State == string(tasks.StateArchived) {
			return fmt.Errorf("task %s archived: %s", task.TaskID, task.LastError)
		}
		url := a.url + loc
		if longPoll {
			url += "?wait=30s"
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(baselinePoll):
			}
		}
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return err
		}
		if task, _, err = a.do(req); err != nil {
			return err
		}
	}
	return nil
}

// do sends req with the token and decodes the task it answers, with the
// Location of a new one.
func (a *benchAPI) do(req *http.Request) (httpapi.Task, string, error) {
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return httpapi.Task{}, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return httpapi.Task{}, "", fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	var t httpapi.Task
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return t, "", fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return t, resp.Header.Get("Location"), nil
}
