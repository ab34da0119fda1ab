package validate

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// The benchmarks check files of about 1 MB and 5 MB the way the worker
// does (a Stream fed in the 32 KiB pieces the upload sends) and the way
// Check does, next to one SHA-256 pass over the same bytes, which the
// worker makes anyway. Each validation row also reports its time as a
// multiple of a SHA-256 pass made alternately with it (x-sha256).

// pieceSize is the size of the pieces the upload client reads.
const pieceSize = 32 << 10

// benchFile is a valid file of the format, of about size bytes (at most
// DefaultMaxSize): noise images, whose compressed data is as large as
// their pixels, and an MP4 grown by a free box.
func benchFile(tb testing.TB, format string, size int) []byte {
	tb.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		// About 2 bytes a pixel at quality 100.
		err = jpeg.Encode(&b, noise(size, 2), &jpeg.Options{Quality: 100})
	case "png":
		err = png.Encode(&b, noise(size, 3))
	case "mp4":
		return padMP4(tb, int64(size))
	}
	if err != nil {
		tb.Fatal(err)
	}
	if b.Len() > int(DefaultMaxSize) {
		tb.Fatalf("%s of %d bytes, over the limit", format, b.Len())
	}
	return b.Bytes()
}

// noise is a noise image whose encoding takes about perPixel bytes a pixel
// and size bytes in all.
func noise(size int, perPixel float64) image.Image {
	w := 1000
	h := int(float64(size)/perPixel) / w
	return mediagen.Noise(w, h, uint64(size))
}

// shaPass hashes data in pieces, as the worker does while it sends.
func shaPass(data []byte) [sha256.Size]byte {
	h := sha256.New()
	for p := data; len(p) > 0; {
		k := min(pieceSize, len(p))
		h.Write(p[:k])
		p = p[k:]
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// streamPass checks data through a Stream in pieces, as the worker does.
func streamPass(tb testing.TB, v *Validator, data []byte) {
	if _, err := streamIn(v, data, "", "bench", pieceSize); err != nil {
		tb.Fatal(err)
	}
}

// withRatio runs check in a benchmark loop and, after each run, one
// SHA-256 pass over the same bytes with the timer stopped, and reports the
// time of check over the time of the pass (x-sha256): the two alternate, so
// a machine busy with other work slows both alike.
func withRatio(b *testing.B, data []byte, check func()) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var val, sha time.Duration
	for b.Loop() {
		start := time.Now()
		check()
		mid := time.Now()
		b.StopTimer()
		shaPass(data)
		sha += time.Since(mid)
		b.StartTimer()
		val += mid.Sub(start)
	}
	b.ReportMetric(float64(val)/float64(sha), "x-sha256")
}

func BenchmarkStructure(b *testing.B) {
	v := newValidator(b, Config{})
	for _, format := range []string{"jpeg", "png", "mp4"} {
		for _, mb := range []int{1, 5} {
			data := benchFile(b, format, mb*1000*1000)
			name := fmt.Sprintf("%s/%dMB", format, mb)
			b.Run(name+"/sha256", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					shaPass(data)
				}
			})
			b.Run(name+"/stream", func(b *testing.B) {
				withRatio(b, data, func() { streamPass(b, v, data) })
			})
			b.Run(name+"/check", func(b *testing.B) {
				r := bytes.NewReader(data)
				withRatio(b, data, func() {
					if _, err := v.Check(r, int64(len(data)), "", "bench"); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// A Stream allocates the same whatever the file's size: its memory is
// fixed. (BenchmarkStructure shows it for 1 and 5 MB; 100 KB and 1 MB keep
// this test quick under the race detector.)
func TestStreamAllocationsDoNotGrow(t *testing.T) { // not parallel: AllocsPerRun
	v := newValidator(t, Config{})
	for _, format := range []string{"jpeg", "png", "mp4"} {
		small, big := benchFile(t, format, 100*1000), benchFile(t, format, 1000*1000)
		a := testing.AllocsPerRun(3, func() { streamPass(t, v, small) })
		b := testing.AllocsPerRun(3, func() { streamPass(t, v, big) })
		if a != b || a > 4 {
			t.Errorf("%s: %v allocations for %d bytes, %v for %d bytes", format, a, len(small), b, len(big))
		}
		t.Logf("%s: %v allocations for %d and for %d bytes", format, a, len(small), len(big))
	}
}
