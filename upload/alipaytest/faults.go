package alipaytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrFault reports an invalid fault setting.
var ErrFault = errors.New("alipaytest: invalid fault")

// A FaultKind names one way the emulator can misbehave.
type FaultKind string

// The fault kinds. Their string values are what the command's -fault flag
// and the admin API use.
const (
	// Fault502 answers HTTP 502 after draining the request body. Nothing
	// is recorded.
	Fault502 FaultKind = "502"
	// FaultEcho502 answers HTTP 502 after draining the request body, with
	// an HTML page that echoes the request as a misconfigured proxy does:
	// its URL decoded and HTML-escaped, the URL as sent, the Authorization
	// and alipay-app-auth-token headers, and the decoded URL in JSON. It
	// checks that a client keeps the sign and the token out of its errors
	// and logs, whatever their encoding. Nothing is recorded.
	FaultEcho502 FaultKind = "echo502"
	// Fault503 answers HTTP 503 after draining the request body. Nothing
	// is recorded. "5xx" is accepted as an alias in specs.
	Fault503 FaultKind = "503"
	// FaultUnavailable answers a signed code 20000 isp.unknow-error after
	// draining the body. Nothing is recorded.
	FaultUnavailable FaultKind = "20000"
	// FaultThrottled answers a signed code 40005 isv.app-call-limited after
	// draining the body. Nothing is recorded.
	FaultThrottled FaultKind = "40005"
	// FaultReset reads part of the request body, then closes the TCP
	// connection with SO_LINGER 0 so the client sees a connection reset.
	// Nothing is recorded.
	FaultReset FaultKind = "reset"
	// FaultSlow handles the request normally but holds the answer for the
	// slow delay ([Faults.SetSlowDelay]). If the client gives up first,
	// nothing is recorded.
	FaultSlow FaultKind = "slow"
	// FaultBadSignature handles the request normally (a success is
	// recorded, with Upload.Fault set) but answers with a signature that
	// does not match.
	FaultBadSignature FaultKind = "badsign"
	// FaultMalformed handles the request normally (a success is recorded,
	// with Upload.Fault set) but answers with a truncated JSON body.
	FaultMalformed FaultKind = "malformed"
)

// FaultKinds lists every fault kind, in the order rates are sampled.
var FaultKinds = []FaultKind{
	Fault502, Fault503, FaultUnavailable, FaultThrottled,
	FaultReset, FaultSlow, FaultBadSignature, FaultMalformed,
	FaultEcho502,
}

// parseFaultKind returns the kind named by s, accepting "5xx" for [Fault503].
func parseFaultKind(s string) (FaultKind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "5xx" {
		return Fault503, nil
	}
	for _, k := range FaultKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: unknown kind %q", ErrFault, s)
}

// FaultScript is a scripted fault: the next Count gateway requests get Kind.
type FaultScript struct {
	Kind  FaultKind `json:"kind"`
	Count int       `json:"count"`
}

// FaultSettings is a snapshot of, or a change to, the fault settings. It is
// the JSON the admin API reads and writes.
type FaultSettings struct {
	// Rates maps a kind to the probability (0..1) that a request gets it.
	Rates map[FaultKind]float64 `json:"rates,omitempty"`
	// Next is the script, consumed in order before any rate applies.
	Next []FaultScript `json:"next,omitempty"`
	// SlowDelay is how long a slow fault holds its answer (JSON: a Go
	// duration string such as "1.5s"). Zero in a change: unchanged.
	SlowDelay Duration `json:"slow_delay,omitzero"`
	// Specs are extra settings in the -fault flag syntax (see
	// [Faults.Set]); only read, never written.
	Specs []string `json:"specs,omitempty"`
}

// String returns the settings as compact JSON.
func (s FaultSettings) String() string {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%#v", s)
	}
	return string(b)
}

// Duration is a time.Duration that encodes to JSON as a string like "1.5s"
// and decodes from such a string or from a number of nanoseconds.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("%w: duration must be a string like \"2s\"", ErrFault)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFault, err)
	}
	*d = Duration(v)
	return nil
}

// Faults holds the fault settings of a [Gateway]. Scripted faults
// ([Faults.Next]) take precedence over rates ([Faults.SetRate]); at most one
// fault applies to a request. Only gateway requests are affected, never the
// admin API or the sink. Faults is safe for concurrent use.
type Faults struct {
	mu          sync.Mutex
	rng         *rand.Rand
	rates       map[FaultKind]float64
	script      []FaultScript
	slowDelay   time.Duration
	defaultSlow time.Duration
}

func newFaults(seed uint64, slow time.Duration) *Faults {
	return &Faults{
		rng:         rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rates:       map[FaultKind]float64{},
		slowDelay:   slow,
		defaultSlow: slow,
	}
}

// Next makes the next n gateway requests fail with kind, after any
// scripted faults already queued. n == 0 does nothing. kind may be any
// name parseFaultKind accepts.
func (f *Faults) Next(kind FaultKind, n int) error {
	kind, err := parseFaultKind(string(kind))
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%w: negative count %d", ErrFault, n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next(kind, n)
	return nil
}

func (f *Faults) next(kind FaultKind, n int) {
	if n == 0 {
		return
	}
	if l := len(f.script); l > 0 && f.script[l-1].Kind == kind {
		f.script[l-1].Count += n
		return
	}
	f.script = append(f.script, FaultScript{Kind: kind, Count: n})
}

// SetRate makes each gateway request fail with kind with probability p
// (0 turns the kind off). The rates of all kinds may add up to at most 1.
// kind may be any name parseFaultKind accepts.
func (f *Faults) SetRate(kind FaultKind, p float64) error {
	kind, err := parseFaultKind(string(kind))
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.setRates(map[FaultKind]float64{kind: p}, false)
}

// setRates sets the rates of change, on top of the current rates or, with
// replace, instead of them. It changes nothing when it fails. f.mu must be
// held.
func (f *Faults) setRates(change map[FaultKind]float64, replace bool) error {
	total := 0.0
	if !replace {
		for k, p := range f.rates {
			if _, ok := change[k]; !ok {
				total += p
			}
		}
	}
	for k, p := range change {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: rate %v of %s is not within 0..1", ErrFault, p, k)
		}
		total += p
	}
	if total > 1+1e-9 {
		return fmt.Errorf("%w: rates add up to %.3g, more than 1", ErrFault, total)
	}
	if replace {
		clear(f.rates)
	}
	for k, p := range change {
		if p == 0 {
			delete(f.rates, k)
		} else {
			f.rates[k] = p
		}
	}
	return nil
}

// SetSlowDelay sets how long a slow fault holds its answer.
func (f *Faults) SetSlowDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slowDelay = max(d, 0)
}

// Clear removes every rate and scripted fault and restores the configured
// slow delay.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.rates)
	f.script = nil
	f.slowDelay = f.defaultSlow
}

// Set applies one setting in the command's -fault syntax:
//
//	KIND=P         rate as a fraction, e.g. 503=0.2
//	KIND=N%        rate as a percentage, e.g. reset=5%
//	KIND=next:N    the next N requests, e.g. 20000=next:3
//
// KIND is one of [FaultKinds] or "5xx".
func (f *Faults) Set(spec string) error {
	s, err := parseSpec(spec)
	if err != nil {
		return err
	}
	return f.Apply(s)
}

func parseSpec(spec string) (FaultSettings, error) {
	name, val, ok := strings.Cut(spec, "=")
	if !ok {
		return FaultSettings{}, fmt.Errorf("%w: %q is not KIND=VALUE", ErrFault, spec)
	}
	kind, err := parseFaultKind(name)
	if err != nil {
		return FaultSettings{}, err
	}
	val = strings.TrimSpace(val)
	if n, ok := strings.CutPrefix(val, "next:"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count < 0 {
			return FaultSettings{}, fmt.Errorf("%w: %q: count must be a whole number", ErrFault, spec)
		}
		return FaultSettings{Next: []FaultScript{{Kind: kind, Count: count}}}, nil
	}
	scale := 1.0
	if p, ok := strings.CutSuffix(val, "%"); ok {
		val, scale = p, 100
	}
	p, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return FaultSettings{}, fmt.Errorf("%w: %q: want a rate, N%% or next:N", ErrFault, spec)
	}
	return FaultSettings{Rates: map[FaultKind]float64{kind: p / scale}}, nil
}

// Apply merges a change into the settings: rates are set per kind (0
// removes one), scripts are queued after the current ones, a non-zero
// SlowDelay replaces the current one, and Specs are applied as by
// [Faults.Set]. Nothing changes when any part is invalid.
func (f *Faults) Apply(s FaultSettings) error {
	return f.apply(s, false)
}

// apply is [Faults.Apply] or, with replace, the same on cleared settings
// (as after [Faults.Clear]), done under one lock so that no request sees
// the settings in between. Nothing changes when any part is invalid.
func (f *Faults) apply(s FaultSettings, replace bool) error {
	rates := map[FaultKind]float64{}
	var next []FaultScript
	add := func(s FaultSettings) error {
		for k, p := range s.Rates {
			kind, err := parseFaultKind(string(k))
			if err != nil {
				return err
			}
			rates[kind] = p
		}
		for _, sc := range s.Next {
			kind, err := parseFaultKind(string(sc.Kind))
			if err != nil {
				return err
			}
			if sc.Count < 0 {
				return fmt.Errorf("%w: negative count %d", ErrFault, sc.Count)
			}
			next = append(next, FaultScript{Kind: kind, Count: sc.Count})
		}
		return nil
	}
	if err := add(s); err != nil {
		return err
	}
	for _, spec := range s.Specs {
		p, err := parseSpec(spec)
		if err != nil {
			return err
		}
		if err := add(p); err != nil {
			return err
		}
	}
	if s.SlowDelay < 0 {
		return fmt.Errorf("%w: negative slow delay", ErrFault)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.setRates(rates, replace); err != nil {
		return err
	}
	if replace {
		f.script = nil
		f.slowDelay = f.defaultSlow
	}
	for _, sc := range next {
		f.next(sc.Kind, sc.Count)
	}
	if s.SlowDelay > 0 {
		f.slowDelay = time.Duration(s.SlowDelay)
	}
	return nil
}

// Settings returns a snapshot of the current settings.
func (f *Faults) Settings() FaultSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := FaultSettings{SlowDelay: Duration(f.slowDelay)}
	if len(f.rates) > 0 {
		s.Rates = make(map[FaultKind]float64, len(f.rates))
		for k, p := range f.rates {
			s.Rates[k] = p
		}
	}
	s.Next = append([]FaultScript(nil), f.script...)
	return s
}

// pick decides the fault of one gateway request ("" for none) and, for a
// slow fault, its delay.
func (f *Faults) pick() (FaultKind, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) > 0 {
		k := f.script[0].Kind
		if f.script[0].Count--; f.script[0].Count <= 0 {
			f.script = f.script[1:]
		}
		return k, f.slowDelay
	}
	if len(f.rates) == 0 {
		return "", 0
	}
	u := f.rng.Float64()
	cum := 0.0
	for _, k := range FaultKinds {
		cum += f.rates[k]
		if u < cum {
			return k, f.slowDelay
		}
	}
	return "", 0
}
