package alipaytest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// Every call is recorded with its arrival time, whatever its answer, the
// newest MaxRecords of them, and the admin API serves them.
func TestCallsAreRecorded(t *testing.T) {
	t.Parallel()
	srv := startWith(t, func(c *alipaytest.Config) { c.MaxRecords = 3 })
	jpg := mediagen.Sample("jpg", 1)
	if err := srv.Faults().Next(alipaytest.FaultThrottled, 1); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Fault != alipaytest.FaultThrottled || calls[0].API != alipaytest.APIClassic ||
		calls[0].Method != alipayapi.Method || calls[0].Time.Before(before) || time.Since(calls[0].Time) < 0 {
		t.Fatalf("calls %+v", calls)
	}
	for range 3 {
		send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	}
	calls = srv.Calls()
	if len(calls) != 3 || calls[0].Fault != "" || !calls[0].Time.After(before) {
		t.Errorf("after 4 calls, kept %+v; want the newest 3", calls)
	}
	resp, err := http.Get(srv.AdminURL("calls"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []alipaytest.Call
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got) != 3 || !got[2].Time.Equal(calls[2].Time) {
		t.Errorf("GET /_emulator/calls: %+v, %v", got, err)
	}
	srv.Reset()
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls after Reset", n)
	}
}
