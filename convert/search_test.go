package convert

import (
	"errors"
	"math"
	"testing"
)

// model is a picture whose JPEG size is a formula: w*h pixels at
// bytesPerPixel(q), growing 7% a quality step like real photos between
// qualities 80 and 95. Its estimates are off by a per-quality error, as
// sample estimates are. It counts what the search asks for.
type model struct {
	w, h  int
	base  float64             // bytes a pixel at quality 80
	skew  func(q int) float64 // estimate = real * (1 + skew(q)); nil: exact
	calls *calls
}

type calls struct {
	full      []int // qualities encoded in full, in order
	estimates int
	scales    []float64
}

func newModel(w, h int, base float64, skew func(int) float64) *model {
	return &model{w: w, h: h, base: base, skew: skew, calls: &calls{}}
}

func (m *model) size(q int) int64 {
	return int64(float64(m.w*m.h) * m.base * math.Pow(1.07, float64(q-80)))
}

func (m *model) encode(q int) ([]byte, error) {
	m.calls.full = append(m.calls.full, q)
	return make([]byte, m.size(q)), nil
}

func (m *model) estimate(q int) (int64, error) {
	m.calls.estimates++
	e := float64(m.size(q))
	if m.skew != nil {
		e *= 1 + m.skew(q)
	}
	return int64(e), nil
}

func (m *model) dims() (int, int) { return m.w, m.h }

func (m *model) scaled(f float64) (picture, error) {
	m.calls.scales = append(m.calls.scales, f)
	return &model{w: max(1, int(float64(m.w)*f+0.5)), h: max(1, int(float64(m.h)*f+0.5)), base: m.base, skew: m.skew, calls: m.calls}, nil
}

// bestQuality is the answer by brute force: the largest q in [qmin, qmax]
// whose size fits, or qmin-1.
func (m *model) bestQuality(limit int64, qmin, qmax int) int {
	for q := qmax; q >= qmin; q-- {
		if m.size(q) <= limit {
			return q
		}
	}
	return qmin - 1
}

func TestFitAtTheCeilingTakesOneFullEncode(t *testing.T) {
	t.Parallel()
	m := newModel(1000, 1000, 0.5, nil) // 0.5 MB at q80, 1.38 MB at q95
	got, err := fit(m, 5<<20, 80, 95)
	if err != nil {
		t.Fatal(err)
	}
	if got.quality != 95 || int64(len(got.data)) != m.size(95) {
		t.Errorf("quality %d, %d bytes; want 95, %d", got.quality, len(got.data), m.size(95))
	}
	if len(m.calls.full) != 1 {
		t.Errorf("full encodes at %v; want one", m.calls.full)
	}
}

func TestSearchFindsTheLargestQualityThatFits(t *testing.T) {
	t.Parallel()
	// Estimates off by up to 1%, differently at each quality, like sample
	// estimates of real photos: the answer must still be exact.
	skews := map[string]func(int) float64{
		"exact":     nil,
		"over 1%":   func(int) float64 { return 0.01 },
		"under 1%":  func(int) float64 { return -0.01 },
		"wobbly 1%": func(q int) float64 { return 0.01 * math.Sin(float64(q)*1.7) },
		"over 6%":   func(int) float64 { return 0.06 }, // uncalibrated error the first encode corrects
	}
	for name, skew := range skews {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			maxFulls := 0
			for limit := int64(24_500); limit <= 70_000; limit += 370 {
				m := newModel(200, 150, 0.8, skew) // 24 kB at q80, 66 kB at q95
				want := m.bestQuality(limit, 80, 95)
				got, err := fit(m, limit, 80, 95)
				if err != nil {
					t.Fatalf("limit %d: %v", limit, err)
				}
				if got.quality != want {
					t.Fatalf("limit %d: quality %d, want %d (full encodes at %v)", limit, got.quality, want, m.calls.full)
				}
				if int64(len(got.data)) != m.size(want) || len(m.calls.scales) != 0 {
					t.Fatalf("limit %d: %d bytes, scales %v; want the q%d encode, unscaled", limit, len(got.data), m.calls.scales, want)
				}
				maxFulls = max(maxFulls, len(m.calls.full))
			}
			// Bisection over full encodes would take four or five.
			if maxFulls > 3 {
				t.Errorf("up to %d full encodes; want at most 3", maxFulls)
			}
		})
	}
}

func TestFitDownscalesOnlyWhenTheFloorDoesNotFit(t *testing.T) {
	t.Parallel()
	m := newModel(6000, 4000, 1.0, func(int) float64 { return 0.02 }) // 24 MB at q80
	const limit = 5 << 20
	got, err := fit(m, limit, 80, 95)
	if err != nil {
		t.Fatal(err)
	}
	if got.quality != 80 {
		t.Errorf("quality %d; want the floor, 80", got.quality)
	}
	if int64(len(got.data)) > limit {
		t.Errorf("%d bytes, over the limit", len(got.data))
	}
	w, h := got.pic.dims()
	if w >= 6000 || h >= 4000 {
		t.Fatalf("dims %dx%d; want smaller than 6000x4000", w, h)
	}
	if r := float64(w) / float64(h); math.Abs(r-1.5) > 0.01 {
		t.Errorf("aspect ratio %.3f; want 1.5", r)
	}
	// Aiming at 95% of the limit, it should not shrink far below it.
	if int64(len(got.data)) < limit*85/100 {
		t.Errorf("%d bytes: shrunk far more than needed", len(got.data))
	}
	if len(m.calls.scales) > 2 {
		t.Errorf("scaled %d times (%v); want one or two", len(m.calls.scales), m.calls.scales)
	}
	if q := m.calls.full[0]; q == 80 && len(m.calls.full) == 1 {
		t.Errorf("full encodes %v: the downscale must follow a verified miss at the floor", m.calls.full)
	}
}

func TestFitWithOneQuality(t *testing.T) {
	t.Parallel()
	m := newModel(1000, 1000, 0.5, nil)
	got, err := fit(m, 1<<20, 85, 85)
	if err != nil {
		t.Fatal(err)
	}
	if got.quality != 85 || len(m.calls.full) != 1 {
		t.Errorf("quality %d after %v; want 85 after one encode", got.quality, m.calls.full)
	}
}

type failing struct{ model }

var errEncode = errors.New("encoder exploded")

func (f *failing) encode(int) ([]byte, error) { return nil, errEncode }

func TestFitReturnsEncoderErrors(t *testing.T) {
	t.Parallel()
	_, err := fit(&failing{*newModel(100, 100, 1, nil)}, 1<<20, 80, 95)
	if !errors.Is(err, errEncode) {
		t.Errorf("err = %v; want the encoder's", err)
	}
}

func TestLargest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, edge, want int }{
		{80, 95, 88, 88},  // ok up to 88
		{80, 95, 95, 95},  // ok everywhere
		{80, 95, 100, 95}, // ok beyond the range
		{80, 95, 79, 79},  // ok nowhere: a-1
		{80, 80, 80, 80},
		{80, 80, 79, 79},
		{81, 80, 90, 80}, // empty range
	} {
		n := 0
		got, err := largest(tc.a, tc.b, func(q int) (bool, error) { n++; return q <= tc.edge, nil })
		if err != nil || got != tc.want {
			t.Errorf("largest(%d, %d) with edge %d = %d, %v; want %d", tc.a, tc.b, tc.edge, got, err, tc.want)
		}
		if n > 6 {
			t.Errorf("largest(%d, %d): %d calls; want at most 6", tc.a, tc.b, n)
		}
	}
}
