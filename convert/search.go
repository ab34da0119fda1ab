package convert

import (
	"errors"
	"fmt"
	"math"
)

// picture is a decoded photo, ready to encode. The engine implements it
// over libvips; the search below only needs sizes, so its tests use a
// model.
type picture interface {
	// encode returns the whole picture as a JPEG at quality q.
	encode(q int) ([]byte, error)
	// estimate returns the size the whole picture would have at quality q,
	// extrapolated from encoding a sample of it (a few full-width bands);
	// small pictures answer with their exact size.
	estimate(q int) (int64, error)
	// dims returns the picture's width and height.
	dims() (w, h int)
	// scaled returns the picture resized by factor f (0 < f < 1), from the
	// same decoded pixels.
	scaled(f float64) (picture, error)
}

// Tuning of the search.
const (
	// firstMargin is the share of the limit the first, uncalibrated
	// estimate aims for, so that the first full encode usually fits.
	firstMargin = 0.97
	// closeCall is how far over the limit a calibrated estimate of the
	// next quality up may be and still be checked with a full encode: the
	// estimate is good to about 1%, so beyond 2% it is trusted.
	closeCall = 1.02
	// maxFullEncodes bounds the full encodes of one quality search.
	maxFullEncodes = 6
	// scaleMargin is the share of the limit a downscale aims for.
	scaleMargin = 0.95
	// maxScaleSteps bounds the downscale attempts.
	maxScaleSteps = 6
)

// fitted is the outcome of fit: the bytes, their quality, and the picture
// they encode.
type fitted struct {
	data    []byte
	quality int
	pic     picture
}

// fit encodes p at the largest quality in [qmin, qmax] whose file has at
// most limit bytes. When even qmin does not fit, it downscales p by the
// factor the excess calls for (file size grows about with the pixel
// count) and encodes at qmin, repeating with a smaller factor until the
// file fits.
func fit(p picture, limit int64, qmin, qmax int) (fitted, error) {
	data, q, err := searchQuality(p, limit, qmin, qmax)
	var nf *noFit
	if !errors.As(err, &nf) {
		return fitted{data: data, quality: q, pic: p}, err
	}
	size, f := nf.size, 1.0
	for range maxScaleSteps {
		f *= math.Sqrt(scaleMargin * float64(limit) / float64(size))
		w, h := p.dims()
		f = max(f, 1/float64(min(w, h))) // never below one pixel
		sp, err := p.scaled(f)
		if err != nil {
			return fitted{}, err
		}
		b, err := sp.encode(qmin)
		if err != nil {
			return fitted{}, err
		}
		if int64(len(b)) <= limit {
			return fitted{data: b, quality: qmin, pic: sp}, nil
		}
		size = int64(len(b))
	}
	return fitted{}, fmt.Errorf("convert: still %d bytes, over the limit of %d, after %d downscales", size, limit, maxScaleSteps)
}

// noFit reports that even the lowest quality gave a file over the limit.
type noFit struct{ size int64 } // the file's size at the lowest quality

func (e *noFit) Error() string {
	return fmt.Sprintf("convert: %d bytes at the lowest quality", e.size)
}

// searchQuality finds the largest quality in [qmin, qmax] whose full
// encode has at most limit bytes, and returns that encode. It returns a
// *noFit when qmin does not fit.
//
// Full encodes are the expensive step, so candidates come from estimates
// (sample encodes), found by bisection, and only the candidate is encoded
// in full. The first full encode calibrates the estimates (the ratio of
// real to estimated size barely moves with quality); the next candidate
// uses the calibrated ones. The search ends when the next quality up is
// known not to fit, or its calibrated estimate is clearly over the limit,
// so typically after one or two full encodes. Sizes are taken to grow with
// quality, which holds for a fixed chroma subsampling.
func searchQuality(p picture, limit int64, qmin, qmax int) ([]byte, int, error) {
	estimates := map[int]int64{}
	estimate := func(q int) (int64, error) {
		if v, ok := estimates[q]; ok {
			return v, nil
		}
		v, err := p.estimate(q)
		if err == nil {
			estimates[q] = v
		}
		return v, err
	}
	calibration := 0.0 // real size / estimate; 0 until the first full encode
	predict := func(q int) (float64, error) {
		e, err := estimate(q)
		if calibration == 0 {
			return float64(e) / firstMargin, err
		}
		return float64(e) * calibration, err
	}
	fits := func(q int) (bool, error) {
		pr, err := predict(q)
		return pr <= float64(limit), err
	}

	var best []byte
	lo, hi := qmin-1, qmax+1 // lo: the best quality known to fit; hi: the lowest known not to
	var smallest int64       // the size at hi, once known
	for range maxFullEncodes {
		if hi-lo <= 1 {
			break
		}
		cand, err := largest(lo+1, hi-1, fits)
		if err != nil {
			return nil, 0, err
		}
		if cand <= lo { // no quality above lo is predicted to fit
			if lo < qmin {
				cand = qmin // check the floor itself before giving up on quality
			} else {
				pr, err := predict(lo + 1)
				if err != nil {
					return nil, 0, err
				}
				if pr > closeCall*float64(limit) {
					break
				}
				cand = lo + 1 // a close call: check it
			}
		}
		b, err := p.encode(cand)
		if err != nil {
			return nil, 0, err
		}
		if e, err := estimate(cand); err != nil {
			return nil, 0, err
		} else if e > 0 {
			calibration = float64(len(b)) / float64(e)
		}
		if int64(len(b)) <= limit {
			lo, best = cand, b
		} else {
			hi, smallest = cand, int64(len(b))
		}
	}
	if best == nil {
		if hi == qmin {
			return nil, 0, &noFit{size: smallest}
		}
		// Only reachable if maxFullEncodes ran out before the floor was
		// tried, which the bisection's bounds rule out.
		return nil, 0, fmt.Errorf("convert: quality search ended without a result between %d and %d", lo, hi)
	}
	return best, lo, nil
}

// largest returns the largest q in [a, b] for which ok(q) holds, assuming
// ok is true up to some point and false after it, or a-1 when it holds
// nowhere. It calls ok about log2(b-a) times.
func largest(a, b int, ok func(int) (bool, error)) (int, error) {
	if a > b {
		return a - 1, nil
	}
	yes, err := ok(a)
	if err != nil || !yes {
		return a - 1, err
	}
	if yes, err := ok(b); err != nil || yes {
		return b, err
	}
	lo, hi := a, b // ok(lo) holds, ok(hi) does not
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		yes, err := ok(mid)
		if err != nil {
			return 0, err
		}
		if yes {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}
