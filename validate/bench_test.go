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
// multiple of the SHA-256 pass (x-sha256), measured in the same run.

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

// shaTime is the time of one SHA-256 pass over data, the best of several.
func shaTime(data []byte) time.Duration {
	best := time.Duration(1 << 62)
	for range 30 {
		start := time.Now()
		shaPass(data)
		best = min(best, time.Since(start))
	}
	return best
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
			sha := shaTime(data)
			ratio := func(b *testing.B) {
				per := b.Elapsed() / time.Duration(b.N)
				b.ReportMetric(float64(per)/float64(sha), "x-sha256")
			}
			b.Run(name+"/stream", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					streamPass(b, v, data)
				}
				ratio(b)
			})
			b.Run(name+"/check", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				r := bytes.NewReader(data)
				for b.Loop() {
					if _, err := v.Check(r, int64(len(data)), "", "bench"); err != nil {
						b.Fatal(err)
					}
				}
				ratio(b)
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
