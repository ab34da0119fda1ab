package alipaytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestFaultAnswers(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)
	cases := []struct {
		kind     alipaytest.FaultKind
		status   int
		code     string
		subCode  string
		recorded bool
	}{
		{kind: alipaytest.Fault502, status: 502},
		{kind: alipaytest.Fault503, status: 503},
		{kind: alipaytest.FaultUnavailable, status: 200, code: "20000", subCode: alipaytest.SubUnknownError},
		{kind: alipaytest.FaultThrottled, status: 200, code: "40005", subCode: alipaytest.SubAppCallLimited},
		{kind: alipaytest.FaultSlow, status: 200, code: "10000", recorded: true},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{SlowDelay: time.Millisecond})
			if err := srv.Faults().Next(tc.kind, 1); err != nil {
				t.Fatal(err)
			}
			a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
			if a.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", a.status, tc.status, a.body)
			}
			if a.traceID == "" {
				t.Error("no trace_id header")
			}
			if tc.code != "" {
				if a.fields["code"] != tc.code || a.fields["sub_code"] != tc.subCode {
					t.Errorf("answer %s", a.node)
				}
				if err := a.verify(srv.PublicKey()); err != nil {
					t.Errorf("signature: %v", err)
				}
			}
			ups := srv.Uploads()
			if got := len(ups) == 1; got != tc.recorded {
				t.Errorf("recorded %d uploads", len(ups))
			}
			if tc.recorded && ups[0].Fault != tc.kind {
				t.Errorf("upload fault %q, want %q", ups[0].Fault, tc.kind)
			}
			st := srv.Stats()
			if st.Faults[tc.kind] != 1 || st.Requests != 1 {
				t.Errorf("stats %+v", st)
			}
			// The script is used up: the next request is served normally.
			if a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL)); a.fields["code"] != "10000" {
				t.Errorf("after the fault: %d %s", a.status, a.body)
			}
		})
	}
}

func TestFaultBadSignatureAndMalformed(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	srv.Faults().Next(alipaytest.FaultBadSignature, 1)
	srv.Faults().Next(alipaytest.FaultMalformed, 1)
	jpg := mediagen.Sample("jpg", 1)

	a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
	if a.fields["code"] != "10000" || a.sign == "" {
		t.Fatalf("answer %s", a.body)
	}
	if err := a.verify(srv.PublicKey()); err == nil {
		t.Error("bad-signature answer verifies")
	}

	resp, err := srv.Client().Do(newRawRequest("jpg", jpg).build(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("malformed answer: HTTP %d, decode error %v", resp.StatusCode, err)
	}

	ups := srv.Uploads()
	if len(ups) != 2 || ups[0].Fault != alipaytest.FaultBadSignature || ups[1].Fault != alipaytest.FaultMalformed {
		t.Errorf("uploads %+v: want both recorded with their fault", ups)
	}
	if st := srv.Stats(); st.Successes != 0 {
		t.Errorf("successes %d, want 0", st.Successes)
	}
}

func TestFaultResetConnection(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)
	for name, file := range map[string][]byte{
		"small body": jpg,                                 // read whole, reset while the client waits
		"large body": append(jpg, make([]byte, 1<<20)...), // reset while the client is still writing
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{})
			srv.Faults().Next(alipaytest.FaultReset, 1)
			_, err := srv.Client().Do(newRawRequest("jpg", file).build(t, srv.URL))
			if err == nil {
				t.Fatal("request succeeded, want a reset connection")
			}
			if !isReset(err) {
				t.Errorf("error %v: want a connection reset", err)
			}
			if n := len(srv.Uploads()); n != 0 {
				t.Errorf("%d uploads recorded", n)
			}
			if st := srv.Stats(); st.Faults[alipaytest.FaultReset] != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestFaultSlowBeyondClientTimeout(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{SlowDelay: time.Hour})
	srv.Faults().Next(alipaytest.FaultSlow, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req := newRawRequest("jpg", mediagen.Sample("jpg", 1)).build(t, srv.URL).WithContext(ctx)
	_, err := srv.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the client's deadline", err)
	}
	// The handler notices the client leaving and returns without
	// recording; Close waits for it, so this does not take an hour.
	srv.Close()
	st := srv.Stats()
	if st.Aborted != 1 || st.Successes != 0 || len(srv.Uploads()) != 0 {
		t.Errorf("stats %+v, uploads %d: want one aborted request and nothing recorded", st, len(srv.Uploads()))
	}
}

func TestScriptBeforeRates(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	f := srv.Faults()
	if err := f.SetRate(alipaytest.Fault503, 1); err != nil {
		t.Fatal(err)
	}
	f.Next(alipaytest.FaultUnavailable, 2)
	f.Next(alipaytest.Fault502, 1)
	jpg := mediagen.Sample("jpg", 1)
	var got []string
	for range 5 {
		a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL))
		got = append(got, http.StatusText(a.status)+" "+a.fields["code"])
	}
	want := []string{"OK 20000", "OK 20000", "Bad Gateway ", "Service Unavailable ", "Service Unavailable "}
	if !slices.Equal(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
}

func TestRatesAreSeeded(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []int {
		srv := alipaytest.Start(t, alipaytest.Config{Seed: seed})
		if err := srv.Faults().Set("503=50%"); err != nil {
			t.Fatal(err)
		}
		var statuses []int
		for range 40 {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
			statuses = append(statuses, send(t, srv.Client(), req).status)
		}
		return statuses
	}
	a, b := run(42), run(42)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 503) || !slices.Contains(a, 200) {
		t.Errorf("statuses %v: want both faults and answers at rate 0.5", a)
	}
}

func TestFaultSettings(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	f := srv.Faults()
	for _, bad := range []string{"503", "nope=0.1", "503=2", "503=-0.1", "reset=next:x", "reset=next:-1", "503=abc"} {
		if err := f.Set(bad); !errors.Is(err, alipaytest.ErrFault) {
			t.Errorf("Set(%q) = %v, want ErrFault", bad, err)
		}
	}
	for _, ok := range []string{"5xx=0.25", "reset=5%", "20000=next:3", "40005=next:1", "20000=next:2"} {
		if err := f.Set(ok); err != nil {
			t.Errorf("Set(%q): %v", ok, err)
		}
	}
	if err := f.SetRate(alipaytest.FaultSlow, 0.8); !errors.Is(err, alipaytest.ErrFault) {
		t.Errorf("rates above 1 in total: %v", err)
	}
	f.SetSlowDelay(1500 * time.Millisecond)
	got := f.Settings()
	want := alipaytest.FaultSettings{
		Rates: map[alipaytest.FaultKind]float64{alipaytest.Fault503: 0.25, alipaytest.FaultReset: 0.05},
		Next: []alipaytest.FaultScript{
			{Kind: alipaytest.FaultUnavailable, Count: 3}, {Kind: alipaytest.FaultThrottled, Count: 1},
			{Kind: alipaytest.FaultUnavailable, Count: 2},
		},
		SlowDelay: alipaytest.Duration(1500 * time.Millisecond),
	}
	if g, w := must(json.Marshal(got)), must(json.Marshal(want)); string(g) != string(w) {
		t.Errorf("settings %s\nwant %s", g, w)
	}
	f.Clear()
	if s := f.Settings(); len(s.Rates) != 0 || len(s.Next) != 0 || s.SlowDelay != alipaytest.Duration(alipaytest.DefaultSlowDelay) {
		t.Errorf("after Clear: %+v", s)
	}
}

// Next and SetRate take the aliases ParseFaultKind takes ("5xx", any case,
// spaces) and store the kind they name, as Set and Apply do.
func TestFaultAliases(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	f := srv.Faults()
	if err := f.Next("5xx", 2); err != nil {
		t.Fatal(err)
	}
	if err := f.Next(" 503 ", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.SetRate("RESET", 0.5); err != nil {
		t.Fatal(err)
	}
	// The same kind again replaces its rate rather than adding to the total.
	if err := f.SetRate("reset", 0.6); err != nil {
		t.Errorf("SetRate(reset, 0.6) after SetRate(RESET, 0.5): %v", err)
	}
	want := alipaytest.FaultSettings{
		Rates:     map[alipaytest.FaultKind]float64{alipaytest.FaultReset: 0.6},
		Next:      []alipaytest.FaultScript{{Kind: alipaytest.Fault503, Count: 3}},
		SlowDelay: alipaytest.Duration(alipaytest.DefaultSlowDelay),
	}
	if g, w := must(json.Marshal(f.Settings())), must(json.Marshal(want)); string(g) != string(w) {
		t.Errorf("settings %s\nwant %s", g, w)
	}
	if err := f.SetRate("Reset", 0); err != nil {
		t.Fatal(err)
	}
	if s := f.Settings(); len(s.Rates) != 0 {
		t.Errorf("rates %v after SetRate(Reset, 0)", s.Rates)
	}
	jpg := mediagen.Sample("jpg", 1)
	for i := range 3 {
		if a := send(t, srv.Client(), newRawRequest("jpg", jpg).build(t, srv.URL)); a.status != http.StatusServiceUnavailable {
			t.Errorf("request %d: HTTP %d, want 503", i+1, a.status)
		}
	}
	if st := srv.Stats(); st.Faults[alipaytest.Fault503] != 3 || len(st.Faults) != 1 {
		t.Errorf("fault counts %v, want 503:3", st.Faults)
	}
}
