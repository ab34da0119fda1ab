//go:build vips

package convert

import (
	"bytes"
	"context"
	"errors"
	"testing"
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
