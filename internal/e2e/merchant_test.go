package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// merchantRig is two worker processes with a merchant key file, the
// emulator with issued tokens only, and what enqueue needs to authorize
// merchants and queue their files.
type merchantRig struct {
	t       *testing.T
	bins    commands
	root    string
	redis   *testproc.Redis
	gw      *alipaytest.Gateway
	keys    alipaytest.KeyFiles
	keyFile string
	workers []*testproc.Proc
	insp    *asynq.Inspector
	fronts  []*front
	logs    []string // the output of every enqueue run
}

func newMerchantRig(t *testing.T) *merchantRig {
	r := &merchantRig{t: t, bins: binaries(t), root: t.TempDir()}
	r.redis = testproc.StartRedis(t)
	r.gw, r.keys = newGateway(t, alipaytest.Config{
		// A replaced token stops working at once, and uploads must carry
		// a token the emulator issued: every upload is checked against
		// the merchant's state at that moment.
		Auth: alipaytest.AuthConfig{OldTokenGrace: -1, RequireIssuedTokens: true},
	})
	r.keyFile = filepath.Join(t.TempDir(), "merchant.keys")
	r.enqueue(0, "merchant", "keygen", r.keyFile)
	r.insp = asynq.NewInspector(asynq.RedisClientOpt{Addr: r.redis.Addr()})
	t.Cleanup(func() {
		_ = r.insp.Close()
		killAll(t, r.workers, 32<<10)
	})
	return r
}

// env is the environment of enqueue: the workers' settings it reads.
func (r *merchantRig) env() []string {
	gw := r.fronts
	url := ""
	if len(gw) > 0 {
		url = gw[0].url()
	}
	return append(os.Environ(), "REDIS_URL="+r.redis.URL(), "MEDIA_ROOTS="+r.root, "MERCHANT_KEY_FILE="+r.keyFile,
		"ALIPAY_APP_ID="+alipaytest.TestAppID, "ALIPAY_PRIVATE_KEY_FILE="+r.keys.AppPrivateKey,
		"ALIPAY_PUBLIC_KEY_FILE="+r.keys.GatewayPublicKey, "ALIPAY_GATEWAY_URL="+url)
}

// enqueue runs cmd/enqueue with args and checks its exit status.
func (r *merchantRig) enqueue(want int, args ...string) string {
	r.t.Helper()
	p := &testproc.Proc{Name: "enqueue", Path: r.bins.enqueue, Args: args, Env: r.env()}
	if err := p.Start(); err != nil {
		r.t.Fatal(err)
	}
	err := p.Wait(3 * time.Minute)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	r.logs = append(r.logs, p.Log())
	if code != want {
		r.t.Fatalf("enqueue %s: exit status %d, want %d\n%s", strings.Join(args, " "), code, want, lastBytes(p.Log(), 8<<10))
	}
	return p.Log()
}

func (r *merchantRig) startWorkers(n int) {
	for i := range n {
		f := newFront(r.t, r.gw)
		r.fronts = append(r.fronts, f)
		w := testproc.NewWorker(fmt.Sprintf("worker%d", i+1), r.bins.worker, testproc.WorkerConfig{
			RedisURL: r.redis.URL(), GatewayURL: f.url(), Keys: r.keys, MediaRoot: r.root,
			Env: append(workerEnv(), "MERCHANT_KEY_FILE="+r.keyFile),
		})
		if err := w.Start(); err != nil {
			r.t.Fatal(err)
		}
		r.workers = append(r.workers, w)
	}
}

// files writes n small distinct photos under root/dir.
func (r *merchantRig) files(dir string, n int, seed uint64) {
	r.t.Helper()
	d := filepath.Join(r.root, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		r.t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%04d.png", i)), mediagen.Sample("png", seed+uint64(i)), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// authorize issues a code for id at the emulator and authorizes it with
// enqueue merchant authorize (and more args).
func (r *merchantRig) authorize(id string, args ...string) string {
	code, err := r.gw.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088" + id[4:]})
	if err != nil {
		r.t.Fatal(err)
	}
	return r.enqueue(0, append([]string{"merchant", "authorize", "--code", code}, args...)...)
}

// drain waits until the default queue holds nothing pending, active or
// waiting for a retry, and n tasks in all.
func (r *merchantRig) drain(n int, within time.Duration) *asynq.QueueInfo {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		qi, err := r.insp.GetQueueInfo(tasks.QueueDefault)
		if err == nil && qi.Pending+qi.Active+qi.Scheduled+qi.Retry == 0 && qi.Completed+qi.Archived == n {
			return qi
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the queue did not drain in %v: %+v (%v)", within, qi, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitUploads waits until the emulator has recorded n uploads.
func (r *merchantRig) waitUploads(n int) {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(r.gw.Uploads()) < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("only %d uploads after 2m, waiting for %d", len(r.gw.Uploads()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMerchantEndToEnd runs the issue's checks with 2 worker processes:
//
//   - 1,000 uploads for one merchant whose token expires mid-run: exactly
//     one refresh reaches the emulator, every upload carries the token
//     current at that moment, none is lost, none is uploaded twice;
//   - a merchant revoked mid-run: its jobs end merchant_unauthorized with
//     at most the uploads in flight reaching the emulator, and complete
//     after re-authorization with --requeue;
//   - then every key and value in Redis, the workers' logs and enqueue's
//     output hold no token or refresh token in clear.
func TestMerchantEndToEnd(t *testing.T) {
	t.Parallel()
	r := newMerchantRig(t)
	const (
		a, b   = "2021000000000101", "2021000000000202"
		nA, nB = 1000, 200
	)
	r.files("a", nA, 1)
	r.files("b", nB, 100000)
	r.startWorkers(2)
	r.authorize(a)

	// Expiry mid-run.
	r.enqueue(0, "--merchant", a, "--progress", "none", filepath.Join(r.root, "a"))
	r.waitUploads(nA / 3)
	if !r.gw.ExpireToken(a) {
		t.Fatal("the emulator does not know merchant a")
	}
	t.Logf("token of merchant a expired after %d uploads", len(r.gw.Uploads()))
	qi := r.drain(nA, 3*time.Minute)
	ma, _ := r.gw.Merchant(a)
	ups := r.gw.Uploads()
	perSHA := map[string]int{}
	for _, u := range ups {
		perSHA[u.SHA256]++
		if u.AuthAppID != a || u.TokenState != alipaytest.TokenCurrent {
			t.Errorf("upload %s carried a token of %q in state %q, want merchant a's current one", u.ImageID, u.AuthAppID, u.TokenState)
		}
	}
	t.Logf("merchant a: %d uploads, %d distinct files, %d completed, %d archived; emulator: %d refresh calls, %d refreshes, rejections %v",
		len(ups), len(perSHA), qi.Completed, qi.Archived, ma.RefreshCalls, ma.Refreshes, r.gw.Stats().Rejections)
	if ma.RefreshCalls != 1 || ma.Refreshes != 1 {
		t.Errorf("%d refresh calls (%d successful) reached the emulator, want exactly 1", ma.RefreshCalls, ma.Refreshes)
	}
	if len(ups) != nA || len(perSHA) != nA || qi.Completed != nA || qi.Archived != 0 {
		t.Errorf("%d uploads of %d distinct files, %d completed, %d archived; want %d of each, none archived", len(ups), len(perSHA), qi.Completed, qi.Archived, nA)
	}

	// Revocation mid-run.
	r.enqueue(0, "--merchant", b, "--progress", "none", filepath.Join(r.root, "b")) // not authorized yet: queued anyway
	r.drain(nA+nB, 2*time.Minute)
	archived, err := r.insp.ListArchivedTasks(tasks.QueueDefault, asynq.PageSize(nB+1))
	if err != nil || len(archived) != nB || !strings.HasPrefix(archived[0].LastErr, string(tasks.ReasonMerchantNotFound)+": ") {
		t.Fatalf("before authorization: %d archived, err %v, first %q", len(archived), err, archived[0].LastErr)
	}
	r.authorize(b, "--requeue")
	r.waitUploads(nA + nB/4)
	// Gateway requests after the revocation, less the token calls (the
	// refused refresh): the uploads that reached the emulator.
	sent := func() int64 { m, _ := r.gw.Merchant(b); return r.gw.Stats().Requests - m.RefreshCalls - m.Exchanges }
	before := sent()
	r.gw.Revoke(b)
	qi = r.drain(nA+nB, 2*time.Minute)
	after := sent()
	inFlight := int64(2 * concurrency)
	done := len(r.gw.Uploads()) - nA
	t.Logf("merchant b: revoked after %d uploads; %d gateway requests after the revocation (at most %d in flight); %d completed, %d archived",
		done, after-before, inFlight, qi.Completed, qi.Archived)
	if after-before > inFlight {
		t.Errorf("%d uploads reached the emulator after the revocation, more than the %d in flight", after-before, inFlight)
	}
	archived, err = r.insp.ListArchivedTasks(tasks.QueueDefault, asynq.PageSize(nB+1))
	if err != nil || len(archived) == 0 || len(archived)+done != nB {
		t.Fatalf("after revocation: %d archived + %d uploaded, want %d (err %v)", len(archived), done, nB, err)
	}
	for _, info := range archived {
		if !strings.HasPrefix(info.LastErr, string(tasks.ReasonMerchantUnauthorized)+": ") || !strings.Contains(info.LastErr, "--requeue") {
			t.Fatalf("archived %s: %q, want merchant_unauthorized saying what to do", info.ID, info.LastErr)
		}
	}
	out := r.enqueue(0, "merchant", "show", b)
	if !strings.Contains(out, string(merchant.StatusReauthorizationRequired)) {
		t.Errorf("merchant show: %s", out)
	}
	r.authorize(b, "--requeue")
	qi = r.drain(nA+nB, 2*time.Minute)
	perSHA = map[string]int{}
	for _, u := range r.gw.Uploads() {
		perSHA[u.SHA256]++
	}
	if qi.Completed != nA+nB || qi.Archived != 0 || len(perSHA) != nA+nB || len(r.gw.Uploads()) != nA+nB {
		t.Errorf("after re-authorization: %d completed, %d archived, %d uploads of %d files; want %d, none archived, each once",
			qi.Completed, qi.Archived, len(r.gw.Uploads()), len(perSHA), nA+nB)
	}

	// No token in clear anywhere.
	var secrets []string
	for _, m := range r.gw.Merchants() {
		secrets = append(secrets, m.Secrets...)
	}
	if len(secrets) < 5 {
		t.Fatalf("only %d secrets issued", len(secrets))
	}
	// The search would find them: the emulator's records hold the tokens
	// the uploads carried.
	if rec := fmt.Sprint(r.gw.Uploads()); !containsAny(rec, secrets) {
		t.Fatal("no issued token appears even in the emulator's upload records: the search proves nothing")
	}
	dump := dumpRedis(t, r.redis.Addr())
	texts := map[string]string{"Redis": dump}
	for _, w := range r.workers {
		texts["log of "+w.Name] = w.Log()
	}
	texts["enqueue's output"] = strings.Join(r.logs, "\n")
	for path, body := range r.dashboardAnswers() {
		texts["dashboard "+path] = body
		t.Logf("dashboard %s: %d bytes", path, len(body))
	}
	for where, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a token or refresh token in clear", where)
				break
			}
		}
	}
	t.Logf("Redis dump: %d bytes searched for %d secrets; worker logs %d bytes", len(dump), len(secrets), len(texts["log of worker1"])+len(texts["log of worker2"]))
}

// dashboardAnswers starts one more worker process with its dashboard and
// metrics on, and returns the answers of its API about the queue.
func (r *merchantRig) dashboardAnswers() map[string]string {
	r.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := testproc.NewWorker("worker-dashboard", r.bins.worker, testproc.WorkerConfig{
		RedisURL: r.redis.URL(), GatewayURL: r.fronts[0].url(), Keys: r.keys, MediaRoot: r.root,
		Env: append(workerEnv(), "MERCHANT_KEY_FILE="+r.keyFile, "HTTP_ADDR="+addr),
	})
	if err := w.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.workers = append(r.workers, w)
	base := "http://" + addr
	out := map[string]string{}
	for _, p := range []string{"/monitoring/api/queues", "/monitoring/api/queues/default/completed_tasks?page_size=500",
		"/monitoring/api/queues/default/archived_tasks?page_size=500", "/metrics"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(base + p)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					r.t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
				}
				out[p] = string(b)
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("GET %s: %v", p, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !strings.Contains(out["/metrics"], "alipay_media_merchants_reauthorization_required") {
		r.t.Error("/metrics lacks the merchant metrics")
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// dumpRedis returns every key and value of the Redis at addr, as text.
func dumpRedis(t *testing.T, addr string) string {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	var b strings.Builder
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "list":
			v, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = c.SMembers(ctx, k).Result()
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = c.XRange(ctx, k, "-", "+").Result()
		case "none":
			continue // expired meanwhile
		default:
			t.Fatalf("key %s of type %s", k, typ)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %v\n", typ, k, v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
