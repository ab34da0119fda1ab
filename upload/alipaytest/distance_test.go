package alipaytest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// TestRoundTrip: every gateway answer waits the round trip, whatever it
// says, and the reset fault still resets through the delaying writer.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	const rtt = 80 * time.Millisecond
	srv := alipaytest.Start(t, alipaytest.Config{RoundTrip: rtt})
	jpg := mediagen.Sample("jpg", 1)
	for _, tc := range []struct {
		name string
		req  *rawRequest
		code string
	}{
		{"success", newRawRequest("jpg", jpg), "10000"},
		{"refusal", newRawRequest("exe", jpg), "40002"},
	} {
		start := time.Now()
		a := send(t, srv.Client(), tc.req.build(t, srv.URL))
		if took := time.Since(start); took < rtt {
			t.Errorf("%s answered after %v, before the %v round trip", tc.name, took, rtt)
		}
		if a.status != http.StatusOK || a.fields["code"] != tc.code {
			t.Errorf("%s: HTTP %d %s", tc.name, a.status, a.node)
		}
		if err := a.verify(srv.PublicKey()); err != nil {
			t.Errorf("%s: signature: %v", tc.name, err)
		}
	}
	srv.Faults().Next(alipaytest.FaultReset, 1)
	if _, err := srv.Client().Do(newRawRequest("jpg", jpg).build(t, srv.URL)); err == nil || !isReset(err) {
		t.Errorf("reset fault: error %v, want a connection reset", err)
	}
	if st := srv.Stats(); st.Successes != 1 || st.Requests != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestBandwidth: a request body is read no faster than the cap.
func TestBandwidth(t *testing.T) {
	t.Parallel()
	const rate = 400_000 // bytes a second
	srv := alipaytest.Start(t, alipaytest.Config{Bandwidth: rate})
	jpg, err := mediagen.JPEGOfSize(100_000, 7)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	if least := time.Duration(float64(len(jpg)) / rate * float64(time.Second)); time.Since(start) < least {
		t.Errorf("%d bytes sent in %v, faster than %d bytes/s allows (%v)", len(jpg), time.Since(start), rate, least)
	}
	if a.fields["code"] != "10000" {
		t.Errorf("answer %s", a.node)
	}
	if ups := srv.Uploads(); len(ups) != 1 || ups[0].Size != int64(len(jpg)) {
		t.Errorf("uploads %+v", ups)
	}
}

func TestDistanceConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]alipaytest.Config{
		"round trip": {RoundTrip: -time.Second},
		"bandwidth":  {Bandwidth: -1},
	} {
		if _, err := alipaytest.New(cfg.WithTestKeys()); !errors.Is(err, alipaytest.ErrConfig) {
			t.Errorf("negative %s: %v, want ErrConfig", name, err)
		}
	}
}
