package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/promtext"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// token is the merchant secret that must never reach a browser.
const token = "202611BBtokenSECRETf3a9c"

const uploadType = "alipay:material_image_upload"

func payload(name string) []byte {
	return fmt.Appendf(nil, `{"version":1,"path":"/media/%s.jpg","image_name":%q,"app_auth_token":%q,`+
		`"sha256":"%064d","size":1234,"extra":{"merchant_secret":%q,"list":[{"sign":%q}]}}`,
		name, name, token, 0, token, token)
}

// leakyError imitates an *url.Error that quotes the full gateway URL.
func leakyError() error {
	u := "http://127.0.0.1:9/gateway.do?app_auth_token=" + url.QueryEscape(token) + "&app_id=2021&sign=c2lnbmF0dXJl%3D&sign_type=RSA2"
	return fmt.Errorf(`Post %q: dial tcp 127.0.0.1:9: connect: connection refused (body {"app_auth_token":%q})`, u, token)
}

type fixture struct {
	rs   *testproc.Redis
	opt  asynq.RedisClientOpt
	rdb  goredis.UniversalClient // what the server is given
	insp *asynq.Inspector
}

func setup(t *testing.T) fixture {
	t.Helper()
	rs := testproc.StartRedis(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr()}
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() {
		insp.Close()
		rdb.Close()
	})
	return fixture{rs: rs, opt: opt, rdb: rdb, insp: insp}
}

// readyBody is the JSON of /readyz.
type readyBody struct {
	Status string `json:"status"`
	Checks []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"checks"`
}

func newServer(t *testing.T, cfg dashboard.Config) *httptest.Server {
	t.Helper()
	s, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = s.Close()
	})
	return hs
}

func get(t *testing.T, hs *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestTokenNeverInAPI puts a task carrying the token in every state asynq
// has, one of them failing with an error that quotes the token, and reads
// every list of the dashboard's JSON API.
func TestTokenNeverInAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	client := asynq.NewClient(f.opt)
	defer client.Close()
	enqueue := func(id, queue string, opts ...asynq.Option) {
		t.Helper()
		opts = append(opts, asynq.TaskID(id), asynq.Queue(queue))
		if _, err := client.Enqueue(asynq.NewTask(uploadType, payload(id)), opts...); err != nil {
			t.Fatalf("enqueue %s: %v", id, err)
		}
	}
	// "held" has no worker, so its tasks stay pending or scheduled.
	enqueue("pending", "held")
	enqueue("scheduled", "held", asynq.ProcessIn(time.Hour))
	enqueue("active", "uploads")
	enqueue("retry", "uploads", asynq.MaxRetry(5))
	enqueue("archived", "uploads", asynq.MaxRetry(0))
	enqueue("completed", "uploads", asynq.Retention(time.Hour))

	release := make(chan struct{})
	handler := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		switch id {
		case "active":
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		case "completed":
			_, err := task.ResultWriter().Write([]byte(`{"image_id":"img_7f3e","image_url":"http://emulator.test/images/img_7f3e"}`))
			return err
		default:
			return leakyError()
		}
	})
	srv := asynq.NewServer(f.opt, asynq.Config{
		Concurrency:    4,
		Queues:         map[string]int{"uploads": 1},
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour },
		LogLevel:       asynq.FatalLevel,
	})
	if err := srv.Start(handler); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(release)

	testproc.WaitFor(t, time.Minute, "every task state", func() bool {
		in, err := f.insp.GetQueueInfo("uploads")
		if err != nil {
			return false
		}
		srvs, err := f.insp.Servers()
		return in.Active == 1 && in.Retry == 1 && in.Archived == 1 && in.Completed == 1 &&
			err == nil && len(srvs) == 1 && len(srvs[0].ActiveWorkers) == 1
	})

	hs := newServer(t, dashboard.Config{Redis: f.rdb})
	api := "/monitoring/api/"
	paths := []string{
		"queues", "queues/uploads", "queues/held", "queue_stats", "servers", "redis_info", "scheduler_entries",
		"queues/held/pending_tasks", "queues/held/scheduled_tasks",
		"queues/uploads/active_tasks", "queues/uploads/retry_tasks",
		"queues/uploads/archived_tasks", "queues/uploads/completed_tasks",
		"queues/held/tasks/pending", "queues/held/tasks/scheduled", "queues/uploads/tasks/active",
		"queues/uploads/tasks/retry", "queues/uploads/tasks/archived", "queues/uploads/tasks/completed",
	}
	bodies := map[string]string{}
	for _, p := range paths {
		code, body := get(t, hs, api+p)
		if code != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", p, code, body)
		}
		for _, form := range []string{token, url.QueryEscape(token), "tokenSECRET"} {
			if strings.Contains(body, form) {
				t.Errorf("GET %s: body contains the token (%q):\n%s", p, form, body)
			}
		}
		bodies[p] = body
	}

	// The lists are not empty, and they show what an operator needs.
	type task struct {
		ID      string `json:"id"`
		Payload string `json:"payload"`
		Error   string `json:"error_message"`
		Result  string `json:"result"`
	}
	decode := func(p string) []task {
		var v struct {
			Tasks []task `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(bodies[p]), &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return v.Tasks
	}
	for state, p := range map[string]string{
		"pending": "queues/held/pending_tasks", "scheduled": "queues/held/scheduled_tasks",
		"active": "queues/uploads/active_tasks", "retry": "queues/uploads/retry_tasks",
		"archived": "queues/uploads/archived_tasks", "completed": "queues/uploads/completed_tasks",
	} {
		tasks := decode(p)
		if len(tasks) != 1 || tasks[0].ID != state {
			t.Errorf("%s: want task %q, got %+v", p, state, tasks)
			continue
		}
		pl := tasks[0].Payload
		if !strings.Contains(pl, `"app_auth_token": "[redacted]"`) || !strings.Contains(pl, `"path": "/media/`+state+`.jpg"`) {
			t.Errorf("%s: payload not readable and redacted:\n%s", p, pl)
		}
	}
	archived := decode("queues/uploads/archived_tasks")[0]
	if !strings.Contains(archived.Error, "connection refused") || !strings.Contains(archived.Error, "app_auth_token=[redacted]") {
		t.Errorf("archived error not shown, or not scrubbed: %q", archived.Error)
	}
	completed := decode("queues/uploads/completed_tasks")[0]
	if !strings.Contains(completed.Result, `"image_id": "img_7f3e"`) {
		t.Errorf("completed result does not show the image_id: %q", completed.Result)
	}
	if !strings.Contains(bodies["servers"], `[redacted]`) {
		t.Errorf("servers list does not show the active task's redacted payload:\n%s", bodies["servers"])
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	hs := newServer(t, dashboard.Config{Redis: f.rdb})
	hs.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp, err := hs.Client().Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/monitoring/" {
		t.Errorf("GET / = %d Location %q, want 302 to /monitoring/", resp.StatusCode, resp.Header.Get("Location"))
	}
	code, body := get(t, hs, "/monitoring/")
	if code != http.StatusOK || !strings.Contains(body, "Asynq - Monitoring") {
		t.Errorf("GET /monitoring/ = %d, want the asynqmon page; body starts %.200q", code, body)
	}
	if code, _ := get(t, hs, "/nope"); code != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gatewayErr := error(nil)
	hs := newServer(t, dashboard.Config{
		Redis: f.rdb,
		Checks: []dashboard.Check{{Name: "gateway", Func: func(context.Context) error {
			return gatewayErr
		}}},
	})
	ready := func() (int, readyBody) {
		t.Helper()
		code, body := get(t, hs, "/readyz")
		var rb readyBody
		if err := json.Unmarshal([]byte(body), &rb); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		return code, rb
	}
	if code, body := get(t, hs, "/healthz"); code != http.StatusOK || !strings.Contains(body, `"status": "ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, rb := ready(); code != http.StatusOK || rb.Status != "ready" || len(rb.Checks) != 2 || !rb.Checks[0].OK || !rb.Checks[1].OK {
		t.Errorf("/readyz = %d %+v, want 200 ready", code, rb)
	}

	f.rs.Kill()
	code, rb := ready()
	if code != http.StatusServiceUnavailable || rb.Status != "not ready" || rb.Checks[0].Name != "redis" || rb.Checks[0].OK || rb.Checks[0].Error == "" {
		t.Errorf("/readyz with Redis down = %d %+v, want 503 with a failed redis check", code, rb)
	}
	if code, _ := get(t, hs, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with Redis down = %d, want 200 (the process is alive)", code)
	}
	if err := f.rs.Start(); err != nil {
		t.Fatal(err)
	}
	gatewayErr = errors.New("no gateway configured")
	code, rb = ready()
	if code != http.StatusServiceUnavailable || !rb.Checks[0].OK || rb.Checks[1].OK || rb.Checks[1].Error != "no gateway configured" {
		t.Errorf("/readyz with gateway check failing = %d %+v", code, rb)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	f := setup(t)
	client := asynq.NewClient(f.opt)
	defer client.Close()
	for i := range 3 {
		if _, err := client.Enqueue(asynq.NewTask(uploadType, payload(fmt.Sprint(i))), asynq.Queue("photos")); err != nil {
			t.Fatal(err)
		}
	}
	uploads := metrics.NewUploads()
	uploads.Observe(tasks.Attempt{Outcome: tasks.OutcomeThrottled, Reason: "alipay_40005"})
	hs := newServer(t, dashboard.Config{Redis: f.rdb, Collectors: []prometheus.Collector{uploads}})
	fams, err := promtext.Scrape(hs.Client(), hs.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	fams.Check(t, 3, "asynq_queue_tasks", "queue", "photos", "state", "pending")
	fams.Check(t, 1, "alipay_media_upload_throttled_total")
	fams.Check(t, 1, "asynq_inspector_up")
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	hs := newServer(t, dashboard.Config{Redis: f.rdb, Addr: "0.0.0.0:0", User: "ops", Password: "correct horse"})
	do := func(path, user, pass string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("401 without a Basic challenge")
		}
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, user, pass string
		want             int
	}{
		{"/monitoring/", "", "", http.StatusUnauthorized},
		{"/monitoring/api/queues", "ops", "wrong", http.StatusUnauthorized},
		{"/monitoring/api/queues", "OPS", "correct horse", http.StatusUnauthorized},
		{"/monitoring/api/queues", "ops", "correct horse", http.StatusOK},
		{"/metrics", "", "", http.StatusUnauthorized},
		{"/metrics", "ops", "correct horse", http.StatusOK},
		{"/", "", "", http.StatusUnauthorized},
		{"/healthz", "", "", http.StatusOK},
		{"/readyz", "", "", http.StatusOK},
	} {
		if got := do(tc.path, tc.user, tc.pass); got != tc.want {
			t.Errorf("GET %s as %q/%q = %d, want %d", tc.path, tc.user, tc.pass, got, tc.want)
		}
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	client := asynq.NewClient(f.opt)
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask(uploadType, payload("x")), asynq.TaskID("x"), asynq.Queue("photos")); err != nil {
		t.Fatal(err)
	}
	hs := newServer(t, dashboard.Config{Redis: f.rdb, ReadOnly: true})
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/monitoring/api/queues/photos:pause"},
		{http.MethodDelete, "/monitoring/api/queues/photos/pending_tasks/x"},
		{http.MethodDelete, "/monitoring/api/queues/photos"},
		{http.MethodPost, "/monitoring/api/queues/photos/pending_tasks/x:archive"},
	} {
		req, _ := http.NewRequest(r.method, hs.URL+r.path, nil)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s = %d, want 405", r.method, r.path, resp.StatusCode)
		}
	}
	in, err := f.insp.GetQueueInfo("photos")
	if err != nil || in.Paused || in.Pending != 1 {
		t.Fatalf("queue changed in read-only mode: %+v, %v", in, err)
	}
	if code, body := get(t, hs, "/monitoring/"); code != http.StatusOK || !strings.Contains(body, `READ_ONLY="true"`) {
		t.Errorf("UI not told it is read-only (status %d)", code)
	}

	// Without read-only mode the same request does pause the queue.
	rw := newServer(t, dashboard.Config{Redis: f.rdb})
	resp, err := rw.Client().Post(rw.URL+"/monitoring/api/queues/photos:pause", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if in, err := f.insp.GetQueueInfo("photos"); err != nil || !in.Paused {
		t.Errorf("POST :pause without read-only: status %d, queue %+v, %v", resp.StatusCode, in, err)
	}
}

func TestRunListensAndStops(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s, err := dashboard.New(dashboard.Config{Redis: f.rdb, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/monitoring/") || strings.HasSuffix(s.Addr(), ":0") {
		t.Fatalf("URL %q, Addr %q", s.URL(), s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s = %d", s.URL(), resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Error("still serving after Run returned")
	}
}
