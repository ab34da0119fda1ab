package alipaytest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// call sends an admin request and returns the status and body.
func call(t *testing.T, srv *alipaytest.Server, method, endpoint, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.AdminURL(endpoint), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	jpg := mediagen.Sample("jpg", 1)

	// Faults: POST merges, GET shows, PUT replaces, DELETE clears.
	st, b := call(t, srv, "POST", "faults", `{"next":[{"kind":"20000","count":1}],"specs":["5xx=next:1"],"slow_delay":"250ms"}`)
	if st != 200 {
		t.Fatalf("POST faults: %d %s", st, b)
	}
	var fs alipaytest.FaultSettings
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	if len(fs.Next) != 2 || fs.Next[1].Kind != alipaytest.Fault503 || fs.SlowDelay != alipaytest.Duration(250*time.Millisecond) {
		t.Errorf("settings after POST: %s", b)
	}
	if st, b := call(t, srv, "POST", "faults", `{"rates":{"reset":1.5}}`); st != 400 || !strings.Contains(string(b), "error") {
		t.Errorf("invalid rate: %d %s", st, b)
	}
	if st, b := call(t, srv, "PUT", "faults", `{"rates":{"nope":0.5}}`); st != 400 {
		t.Errorf("invalid kind: %d %s", st, b)
	}
	if st, b := call(t, srv, "POST", "faults", `{"unknown_field":1}`); st != 400 {
		t.Errorf("unknown field: %d %s", st, b)
	}
	if _, b := call(t, srv, "GET", "faults", ""); !bytes.Contains(b, []byte(`"kind": "20000"`)) {
		t.Errorf("a rejected change altered the settings: %s", b)
	}

	a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	if a.fields["code"] != "20000" {
		t.Errorf("first request: %s", a.body)
	}
	if a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL)); a.status != 503 {
		t.Errorf("second request: HTTP %d", a.status)
	}

	if st, b := call(t, srv, "PUT", "faults", `{"rates":{"40005":1}}`); st != 200 || bytes.Contains(b, []byte("next")) {
		t.Errorf("PUT faults: %d %s", st, b)
	}
	if a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL)); a.fields["code"] != "40005" {
		t.Errorf("after PUT: %s", a.body)
	}
	if st, b := call(t, srv, "DELETE", "faults", ""); st != 200 || bytes.Contains(b, []byte("rates")) {
		t.Errorf("DELETE faults: %d %s", st, b)
	}

	// Uploads and stats.
	a = send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	if a.fields["code"] != "10000" {
		t.Fatalf("request after DELETE: %s", a.body)
	}
	_, b = call(t, srv, "GET", "uploads", "")
	var ups []alipaytest.Upload
	if err := json.Unmarshal(b, &ups); err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].ImageID != a.fields["image_id"] || ups[0].Size != int64(len(jpg)) {
		t.Errorf("uploads %s", b)
	}
	_, b = call(t, srv, "GET", "stats", "")
	var stats alipaytest.Stats
	if err := json.Unmarshal(b, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Requests != 4 || stats.Successes != 1 || stats.Faults[alipaytest.FaultUnavailable] != 1 ||
		stats.Faults[alipaytest.Fault503] != 1 || stats.Faults[alipaytest.FaultThrottled] != 1 {
		t.Errorf("stats %s", b)
	}

	// Public key, sink, index, reset.
	_, b = call(t, srv, "GET", "public-key", "")
	if k, err := sign.ParsePublicKey(b); err != nil || !k.Equal(srv.PublicKey()) {
		t.Errorf("public-key: %v", err)
	}
	if st, b := call(t, srv, "POST", "sink", strings.Repeat("x", 12345)); st != 200 || string(b) != "{\"bytes\":12345}\n" {
		t.Errorf("sink: %d %s", st, b)
	}
	if st, b := call(t, srv, "GET", "", ""); st != 200 || !bytes.Contains(b, []byte("/_emulator/sink")) {
		t.Errorf("index: %d %s", st, b)
	}
	if st, _ := call(t, srv, "POST", "reset", ""); st != 204 {
		t.Errorf("reset: %d", st)
	}
	if _, b := call(t, srv, "GET", "uploads", ""); strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("uploads after reset: %s", b)
	}
	if s := srv.Stats(); s.Requests != 0 || s.SinkRequests != 0 {
		t.Errorf("stats after reset: %+v", s)
	}
	if st, _ := call(t, srv, "GET", "nothing-here", ""); st != 404 {
		t.Errorf("unknown endpoint: %d", st)
	}
}

// A PUT replaces the settings in one step: no request or reader sees the
// settings cleared but not yet set, and concurrent PUTs do not merge.
func TestAdminPutFaultsIsAtomic(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	const body = `{"rates":{"503":1},"next":[{"kind":"20000","count":1}]}`
	if st, b := call(t, srv, "PUT", "faults", body); st != 200 {
		t.Fatalf("PUT faults: %d %s", st, b)
	}
	want := `{"rates":{"503":1},"next":[{"kind":"20000","count":1}],"slow_delay":"3s"}`
	stop := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s := srv.Faults().Settings().String(); s != want {
				seen <- s
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if st, b := call(t, srv, "PUT", "faults", body); st != 200 {
					t.Errorf("PUT faults: %d %s", st, b)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if s, ok := <-seen; ok {
		t.Errorf("settings during PUTs: %s\nwant always %s", s, want)
	}
	if s := srv.Faults().Settings().String(); s != want {
		t.Errorf("settings after the PUTs: %s\nwant %s", s, want)
	}
	// Rates over 1 in total are found under the lock; the PUT still
	// changes nothing.
	if st, b := call(t, srv, "PUT", "faults", `{"rates":{"502":0.6,"reset":0.6},"slow_delay":"1s"}`); st != 400 {
		t.Errorf("PUT with rates over 1: %d %s", st, b)
	}
	if s := srv.Faults().Settings().String(); s != want {
		t.Errorf("settings after a rejected PUT: %s\nwant %s", s, want)
	}
}
