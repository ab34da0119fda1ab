package tasks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

// file writes data into the root under name and returns its path.
func (b *bundle) file(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(b.root, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// noiseFile encodes a noise image of w×h pixels, larger than the first
// piece the handler reads before the request, so its check ends while
// it is sent.
func noiseFile(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	data, err := mediagen.Encode(format, mediagen.Noise(w, h, 7))
	if err != nil {
		t.Fatal(err)
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	if len(data) <= 2*len(*buf) {
		t.Fatalf("a %s of %d bytes is too small to be checked while it is sent", format, len(data))
	}
	return data
}

// The structure of a file larger than the first piece is checked while it
// is sent: a good one is sent byte for byte, whatever follows its end
// marker; a broken one is found with its last bytes (cut short) or in the
// middle (a damaged chunk), the body never completes, and the task is
// rejected with the validator's reason.
func TestHandlerChecksWhileSending(t *testing.T) {
	t.Parallel()
	jpg := noiseFile(t, "jpg", 640, 480)
	png := noiseFile(t, "png", 320, 240)
	motion, err := mediagen.MotionPhoto(jpg, mediagen.Sample("mp4", 1))
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(png)
	damaged[len(png)/2] ^= 0x10 // inside the image data: its chunk's CRC no longer matches

	for _, c := range []struct {
		name   string
		data   []byte
		reason string
		text   string
	}{
		{name: "motion photo", data: motion},
		{name: "png with a trailer", data: append(bytes.Clone(png), "trailer"...)},
		{name: "jpeg cut in its image data", data: jpg[:len(jpg)*3/4], reason: "corrupt", text: "without its end-of-image marker FF D9"},
		{name: "png with a damaged chunk", data: damaged, reason: "corrupt", text: "has CRC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := payloadFor(t, b.file(t, "f", c.data))
			err := b.h.ProcessTask(context.Background(), taskOf(t, p))
			if b.up.Calls() != 1 {
				t.Fatalf("uploader called %d times; the check should end while sending", b.up.Calls())
			}
			if c.reason == "" {
				if err != nil || !bytes.Equal(b.up.body, c.data) {
					t.Fatalf("err = %v; sent %d of %d bytes", err, len(b.up.body), len(c.data))
				}
				return
			}
			if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, validate.ErrCorrupt) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want a corrupt rejection saying %q", err, c.text)
			}
			if len(b.up.body) != 0 {
				t.Errorf("the uploader received a complete body of %d bytes", len(b.up.body))
			}
			if obs := b.obs.String(); !strings.Contains(obs, "rejected "+c.reason) {
				t.Errorf("observer: %s", obs)
			}
		})
	}
}

// A file changed since enqueue is reported as changed, even when its new
// content also fails the check before its end.
func TestHandlerChangedBeatsCorrupt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	png := noiseFile(t, "png", 320, 240)
	path := b.file(t, "f.png", png)
	p := payloadFor(t, path)
	png[len(png)/2] ^= 0x10
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	err := b.h.ProcessTask(context.Background(), taskOf(t, p))
	if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "sha256 differs") {
		t.Fatalf("err = %v, want changed since enqueue", err)
	}
	if obs := b.obs.String(); !strings.Contains(obs, "rejected changed") {
		t.Errorf("observer: %s", obs)
	}
}
