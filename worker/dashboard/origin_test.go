package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// do sends method path to hs with the given headers ("Host" sets the Host
// header) and returns the status.
func do(t *testing.T, hs *httptest.Server, method, path string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, hs.URL+path, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCrossSiteChangesAndForeignHostsRefused (issue 12, item 2): on the
// default dashboard (loopback, no authentication, writable), a page on
// another site posting text/plain to :archive_all and :pause changed
// nothing only if refused; and a Host header naming a foreign host (DNS
// rebinding) was served. Now both are refused with 403, the queue is
// untouched, and the dashboard's own requests still work.
func TestCrossSiteChangesAndForeignHostsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	client := asynq.NewClient(f.opt)
	defer client.Close()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := client.Enqueue(asynq.NewTask(uploadType, payload(id)), asynq.TaskID(id), asynq.Queue("photos")); err != nil {
			t.Fatal(err)
		}
	}
	hs := newServer(t, dashboard.Config{Redis: f.rdb, AllowedHosts: []string{"Dash.Example.com"}})
	api := "/monitoring/api/queues/photos"
	evil := map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}
	fetchCrossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
	for _, path := range []string{api + "/pending_tasks:archive_all", api + ":pause", api + "/pending_tasks/a:archive"} {
		for name, h := range map[string]map[string]string{"Origin": evil, "Sec-Fetch-Site": fetchCrossSite} {
			if code := do(t, hs, http.MethodPost, path, h); code != http.StatusForbidden {
				t.Errorf("POST %s, cross-site by %s: %d, want 403", path, name, code)
			}
		}
	}
	if code := do(t, hs, http.MethodDelete, api+"/pending_tasks:delete_all", evil); code != http.StatusForbidden {
		t.Errorf("DELETE :delete_all cross-site: %d, want 403", code)
	}
	in, err := f.insp.GetQueueInfo("photos")
	if err != nil || in.Pending != 3 || in.Archived != 0 || in.Paused {
		t.Fatalf("queue after cross-site requests: %+v, %v; want 3 pending, none archived, not paused", in, err)
	}

	for _, host := range []string{"evil.example", "evil.example:8090", "localhost.evil.example", "127.0.0.1.nip.io"} {
		for _, path := range []string{"/monitoring/", "/monitoring/api/queues", "/metrics", "/"} {
			if code := do(t, hs, http.MethodGet, path, map[string]string{"Host": host}); code != http.StatusForbidden {
				t.Errorf("GET %s with Host %s: %d, want 403", path, host, code)
			}
		}
	}
	for _, host := range []string{"127.0.0.1:8090", "[::1]:8090", "localhost:8090", "app.localhost", "10.1.2.3", "dash.example.com", "DASH.example.com.:443"} {
		if code := do(t, hs, http.MethodGet, "/monitoring/api/queues", map[string]string{"Host": host}); code != http.StatusOK {
			t.Errorf("GET with Host %s: %d, want 200", host, code)
		}
	}
	// The probes answer whatever the Host.
	if code := do(t, hs, http.MethodGet, "/healthz", map[string]string{"Host": "evil.example"}); code != http.StatusOK {
		t.Errorf("GET /healthz with a foreign Host: %d, want 200", code)
	}

	// The dashboard's own page, and clients that are not browsers, may
	// still change things.
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": hs.URL, "Content-Type": "application/json"}
	if code := do(t, hs, http.MethodPost, api+"/pending_tasks/a:archive", same); code != http.StatusNoContent {
		t.Errorf("same-origin :archive: %d, want 204", code)
	}
	if code := do(t, hs, http.MethodPost, api+":pause", nil); code != http.StatusNoContent {
		t.Errorf(":pause without browser headers: %d, want 204", code)
	}
	if in, err := f.insp.GetQueueInfo("photos"); err != nil || in.Archived != 1 || !in.Paused {
		t.Errorf("queue after same-origin requests: %+v, %v; want one archived and paused", in, err)
	}
}
