package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// The fleet's rate limit, as issue 16 checks it: three worker processes
// share ALIPAY_RATE_LIMIT=20 with a burst of 5 through Redis. The
// emulator's recorded calls never exceed 20 + 5 in any one-second window,
// the first call after each pause included; a burst of 40005 answers, each
// seen by one worker, pauses all three for the cool-down; every job
// completes, and none spends its retry budget on throttling.
//
// It counts calls by their arrival times, which carry the jitter of the
// machine (a grant's Redis round trip, signing, the request): it does not
// run in parallel with the chaos scenarios, so that their load does not
// stretch that jitter past the one call of margin a one-second window
// leaves (see the report in its log).
func TestFleetRateLimit(t *testing.T) {
	const (
		workers  = 3
		rate     = 20
		burst    = 5
		coolDown = 2 * time.Second
		files    = 150
	)
	bins := binaries(t)
	redis := testproc.StartRedis(t)
	gw, keyFiles := newGateway(t, alipaytest.Config{})

	// The jobs, queued before the workers start, so that all of them
	// start by asking for a slot at once.
	root := t.TempDir()
	conn := asynq.RedisClientOpt{Addr: redis.Addr()}
	client := asynq.NewClient(conn)
	defer client.Close()
	insp := asynq.NewInspector(conn)
	defer insp.Close()
	for i := range files {
		data := mediagen.Sample("jpg", uint64(i+1))
		path := filepath.Join(root, fmt.Sprintf("photo-%03d.jpg", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		task, err := tasks.NewUploadTask(tasks.UploadPayload{Path: path, ImageName: filepath.Base(path), ImageType: "jpg",
			SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}

	fronts := make([]*front, workers)
	procs := make([]*testproc.Proc, workers)
	for i := range workers {
		fronts[i] = newFront(t, gw)
		procs[i] = testproc.NewWorker(fmt.Sprintf("worker%d", i+1), bins.worker, testproc.WorkerConfig{
			RedisURL: redis.URL(), GatewayURL: fronts[i].url(), Keys: keyFiles, MediaRoot: root,
			Env: []string{
				fmt.Sprintf("ALIPAY_RATE_LIMIT=%d", rate),
				fmt.Sprintf("ALIPAY_RATE_BURST=%d", burst),
				"ALIPAY_RATE_COOLDOWN=" + coolDown.String(),
				"WORKER_CONCURRENCY=4",
				"RETRY_THROTTLE_DELAY=1s",
				"WORKER_DELAYED_TASK_CHECK_INTERVAL=200ms",
				"HTTP_ADDR=127.0.0.1:0",
				"LOG_LEVEL=info",
			},
		})
	}
	defer killAll(t, procs, 16<<10)
	start := time.Now()
	for _, p := range procs {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}

	// Three seconds of the steady rate, then two throttled answers.
	testproc.WaitFor(t, 30*time.Second, "60 calls", func() bool { return len(gw.Calls()) >= 60 })
	if err := gw.Faults().Next(alipaytest.FaultThrottled, 2); err != nil {
		t.Fatal(err)
	}
	testproc.WaitFor(t, 90*time.Second, "every job completed", func() bool {
		qi, err := insp.GetQueueInfo(tasks.QueueDefault)
		return err == nil && qi.Completed == files
	})
	elapsed := time.Since(start)

	// Nothing lost, nothing counted against the retry budget.
	done, err := insp.ListCompletedTasks(tasks.QueueDefault, asynq.PageSize(files+10))
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range done {
		if info.Retried != 0 {
			t.Errorf("task %s was retried %d times: throttling spent its retry budget", info.ID, info.Retried)
		}
	}
	if len(done) != files || len(gw.Uploads()) != files {
		t.Errorf("%d tasks completed, %d uploads recorded; want %d", len(done), len(gw.Uploads()), files)
	}

	// At most limit + burst calls in any one-second window.
	calls := gw.Calls()
	times := make([]time.Time, len(calls))
	var throttled []time.Time
	for i, c := range calls {
		times[i] = c.Time
		if c.Fault == alipaytest.FaultThrottled {
			throttled = append(throttled, c.Time)
		}
	}
	most := maxInWindow(times, time.Second)
	t.Logf("%d calls (%d throttled) from %d workers in %v; at most %d calls in one second (limit %d + burst %d)",
		len(calls), len(throttled), workers, elapsed.Round(100*time.Millisecond), most, rate, burst)
	if most > rate+burst {
		t.Errorf("%d calls in one second, more than %d + %d", most, rate, burst)
	}

	// Each 40005 paused every worker, not only the one that saw it: no
	// worker's call arrived during the cool-down (a margin of 300ms each
	// side for calls already on their way), though each was sending just
	// before it.
	if len(throttled) != 2 {
		t.Fatalf("%d throttled calls, want the 2 injected", len(throttled))
	}
	for _, at := range throttled {
		for i, f := range fronts {
			before := f.count(at.Add(-time.Second), at)
			during := f.count(at.Add(300*time.Millisecond), at.Add(coolDown-300*time.Millisecond))
			t.Logf("40005 at +%v: worker%d sent %d calls in the second before, %d during the cool-down",
				at.Sub(start).Round(10*time.Millisecond), i+1, before, during)
			if during > 0 {
				t.Errorf("worker%d sent %d calls during the fleet's cool-down after the 40005 at +%v", i+1, during, at.Sub(start))
			}
		}
	}
	if before := fronts[0].count(throttled[0].Add(-time.Second), throttled[0]) + fronts[1].count(throttled[0].Add(-time.Second), throttled[0]) +
		fronts[2].count(throttled[0].Add(-time.Second), throttled[0]); before < rate/2 {
		t.Errorf("only %d calls in the second before the first 40005: the fleet was not busy", before)
	}

	// Every worker says so in its metrics: one or two started a cool-down,
	// all three were held by one.
	started := 0.0
	for _, p := range procs {
		f, err := promtext.Scrape(nil, metricsURL(t, p))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := f.Value("alipay_media_rate_cooldowns_total")
		started += n
		if held, err := f.Value("alipay_media_rate_held_total", "by", "cooldown"); err != nil || held < 1 {
			t.Errorf("%s: alipay_media_rate_held_total{by=cooldown} = %v, %v; want the cool-down to have held it", p.Name, held, err)
		}
		waited, _ := f.Sum("alipay_media_rate_wait_seconds", "outcome", "slot")
		sent, _ := f.Value("alipay_media_rate_wait_seconds", "outcome", "slot")
		t.Logf("%s: %v calls, %.1fs waiting for slots, %v cool-downs started", p.Name, sent, waited, n)
	}
	if started != 2 {
		t.Errorf("%v cool-downs started in all, want 2 (one per 40005)", started)
	}
}

// maxInWindow is the largest number of times within one window [t, t+w).
func maxInWindow(times []time.Time, w time.Duration) int {
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// metricsURL is the /metrics address of a worker started with
// HTTP_ADDR=127.0.0.1:0, read from its log.
func metricsURL(t *testing.T, p *testproc.Proc) string {
	t.Helper()
	m := regexp.MustCompile(`msg="dashboard listening".*? url=(http://\S+)/monitoring/`).FindStringSubmatch(p.Log())
	if m == nil {
		t.Fatalf("%s did not log its dashboard's address", p.Name)
	}
	return strings.TrimSuffix(m[1], "/") + "/metrics"
}
