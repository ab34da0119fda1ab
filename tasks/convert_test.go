package tasks_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// TestPrepareForConversion: a request asking for conversion queues a
// HEIC, a WebP and a JPEG over the limit (up to ConvertMaxBytes), with the
// original's hash and size and the convert flag; without it they are
// refused as before, with a hint. Files conversion cannot help are
// refused the same either way.
func TestPrepareForConversion(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(name string, data []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	img := mediagen.Photo(64, 48, 3, 4)
	heic, err := mediagen.HEIC(img, 60)
	heicPath := write("a.heic", heic, err)
	webp, err := mediagen.WebP(img, 60)
	webpPath := write("a.webp", webp, err)
	bigJPEG, err := mediagen.JPEGOfSize(validate.DefaultMaxSize+1, 4)
	bigPath := write("big.jpg", bigJPEG, err)
	hugeJPEG, err := mediagen.JPEGOfSize(validate.DefaultMaxSize+100_000, 5)
	hugePath := write("huge.jpg", hugeJPEG, err)
	bigPNG, err := mediagen.PadTo(mediagen.Sample("png", 6), validate.DefaultMaxSize+1)
	pngPath := write("big.png", bigPNG, err)
	smallPath := write("small.jpg", mediagen.Sample("jpg", 7), nil)

	c, err := tasks.NewClient(tasks.ClientConfig{MediaRoots: []string{root}, ConvertMaxBytes: validate.DefaultMaxSize + 50_000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	for _, f := range []struct {
		path, typ, info string
		reason          validate.Reason // without conversion
	}{
		{heicPath, "", "heif", validate.ReasonUnsupportedType},
		{webpPath, "", "webp", validate.ReasonUnsupportedType},
		{bigPath, "jpg", "jpg", validate.ReasonTooLarge},
	} {
		p, err := c.Prepare(ctx, tasks.UploadRequest{Path: f.path, Convert: true})
		if err != nil {
			t.Errorf("%s with conversion: %v", f.path, err)
			continue
		}
		st, _ := os.Stat(f.path)
		if !p.Payload.Convert || p.Payload.ImageType != f.typ || p.Payload.Size != st.Size() || p.Payload.SHA256 != sha256File(t, f.path) || p.Info.Type != f.info {
			t.Errorf("%s: payload %+v, info %+v", f.path, p.Payload, p.Info)
		}
		_, err = c.Prepare(ctx, tasks.UploadRequest{Path: f.path})
		var rej *tasks.RejectError
		if !errors.As(err, &rej) || rej.Reason != tasks.Reason(f.reason) || !strings.Contains(err.Error(), "queue it with conversion (enqueue --convert") {
			t.Errorf("%s without conversion: %v; want %s with a hint", f.path, err, f.reason)
		}
	}
	// Over ConvertMaxBytes; a PNG, which is never converted; a declared
	// type other than the JPEG sent.
	for _, f := range []struct {
		req    tasks.UploadRequest
		reason string
	}{
		{tasks.UploadRequest{Path: hugePath, Convert: true}, "input_too_large"},
		{tasks.UploadRequest{Path: pngPath, Convert: true}, "too_large"},
		{tasks.UploadRequest{Path: pngPath}, "too_large"},
		{tasks.UploadRequest{Path: heicPath, ImageType: "png", Convert: true}, "type_mismatch"},
	} {
		_, err := c.Prepare(ctx, f.req)
		var rej *tasks.RejectError
		if !errors.As(err, &rej) || string(rej.Reason) != f.reason || strings.Contains(err.Error(), "enqueue --convert") {
			t.Errorf("%+v: %v; want %s without a conversion hint", f.req, err, f.reason)
		}
	}
	// An acceptable file is prepared as ever, the flag kept for the worker.
	p, err := c.Prepare(ctx, tasks.UploadRequest{Path: smallPath, Convert: true})
	if err != nil || !p.Payload.Convert || p.Payload.ImageType != "jpg" || tasks.TaskID(p.Payload) != "upload:"+sha256File(t, smallPath)+":self" {
		t.Errorf("small JPEG: %+v, %v", p, err)
	}
}
