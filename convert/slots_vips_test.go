//go:build vips

package convert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/jpeg"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

func TestConvertWaitsForAFreeSlot(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Concurrency: 1, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A WebP head is enough: the slot is taken before anything is decoded.
	webp := append([]byte("RIFF\x00\x10\x00\x00WEBPVP8 "), make([]byte, 64)...)
	c.slots <- struct{}{} // the one slot is busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Convert(ctx, bytes.NewReader(webp), int64(len(webp))); !errors.Is(err, context.Canceled) {
		t.Fatalf("with every slot busy: %v; want it to wait until cancelled", err)
	}
	<-c.slots
	// With the slot free, the same bytes get as far as libvips, which
	// refuses them.
	if _, err := c.Convert(context.Background(), bytes.NewReader(webp), int64(len(webp))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("with the slot free: %v; want libvips' refusal", err)
	}
}

// newBudgetedConverter returns a small JPEG photo and a Converter that
// converts it for its pixels (over MaxPixels), with a memory budget just
// its estimate: its bytes plus 4 a pixel.
func newBudgetedConverter(t *testing.T) (*Converter, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, mediagen.Photo(64, 48, 1, 4), nil); err != nil {
		t.Fatal(err)
	}
	small := buf.Bytes()
	c, err := New(Config{MaxPixels: 64 * 48 / 4, MaxMemory: int64(len(small)) + 64*48*bytesPerPixel, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, small
}

func TestConvertWaitsForItsShareOfMemory(t *testing.T) {
	t.Parallel()
	c, small := newBudgetedConverter(t)
	held, err := c.memory.acquire(context.Background(), 1) // another conversion runs
	if err != nil {
		t.Fatal(err)
	}
	// The photo's estimate does not fit beside it: Convert waits, after
	// reading the header, until cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Convert(ctx, bytes.NewReader(small), int64(len(small))); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with the budget partly held: %v; want it to wait until the deadline", err)
	}
	held()
	res, err := c.Convert(context.Background(), bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatalf("with the budget free: %v", err)
	}
	if err := res.Remove(); err != nil {
		t.Fatal(err)
	}
	if c.memory.used != 0 || c.memory.holders != 0 {
		t.Errorf("after the conversion: %d bytes held by %d; want none", c.memory.used, c.memory.holders)
	}
}

// countingReader counts the reads of all its bytes at once.
type countingReader struct {
	*bytes.Reader
	whole atomic.Int32
}

func (r *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	if off == 0 && int64(n) == r.Size() {
		r.whole.Add(1)
	}
	return n, err
}

// TestConvertWaitsForMemoryWithoutItsInput: a conversion whose share of
// the memory budget is not free gives its input back while it waits, and
// reads it again once granted; the hash is the bytes decoded.
func TestConvertWaitsForMemoryWithoutItsInput(t *testing.T) {
	t.Parallel()
	c, small := newBudgetedConverter(t)
	held, err := c.memory.acquire(context.Background(), 1) // another conversion runs
	if err != nil {
		t.Fatal(err)
	}
	r := &countingReader{Reader: bytes.NewReader(small)}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome)
	go func() {
		res, err := c.Convert(context.Background(), r, int64(len(small)))
		done <- outcome{res, err}
	}()
	waitQueued(c.memory, 1)
	if n := r.whole.Load(); n != 1 {
		t.Errorf("read %d times before waiting; want once", n)
	}
	held()
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	defer got.res.Remove()
	if n := r.whole.Load(); n != 2 {
		t.Errorf("read %d times in all; want twice (again once granted)", n)
	}
	sum := sha256.Sum256(small)
	if got.res.SourceSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("source sha256 %s; want the input's", got.res.SourceSHA256)
	}
	f, err := got.res.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		t.Fatal(err)
	}
}
