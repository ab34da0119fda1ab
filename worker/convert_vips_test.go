//go:build vips

package worker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/validate"
)

// TestConvertsPhonePhotosForJobsThatAsk runs conversion end to end:
// Redis, worker.New with UPLOAD_CONVERT's configuration, the emulator.
// HEIC, WebP and an oversized JPEG of jobs that ask arrive as valid JPEGs
// under 5,242,880 bytes, upright, without their GPS position; the task
// keeps the original's SHA-256, size and ID, the result records the
// conversion, and the scratch space is empty afterwards. Files that need
// no conversion arrive byte for byte; a PNG over the limit is refused as
// before.
func TestConvertsPhonePhotosForJobsThatAsk(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	e := startEnv(t, envOptions{
		protocol: upload.V3,
		gateway:  alipaytest.Config{KeepContent: true},
		config:   func(c *Config) { c.Convert = &convert.Config{ScratchDir: scratch} },
	})
	ph := writePhonePhotos(t, e)
	type want struct {
		from, why string
		w, h      int  // pixel size before
		upright   bool // the big JPEG: portrait once turned, red top right
	}
	jobs := []struct {
		name string
		path string
		want want
	}{
		{"heic", ph.heic, want{from: "heif", why: convert.WhyType, w: 640, h: 480}},
		{"webp", ph.webp, want{from: "webp", why: convert.WhyType, w: 500, h: 400}},
		{"big jpeg", ph.bigJPEG, want{from: "jpg", why: convert.WhyBytes, w: bigJPEGWidth, h: bigJPEGHeight, upright: true}},
	}
	ids := make([]string, len(jobs))
	payloads := make([]tasks.UploadPayload, len(jobs))
	for i, j := range jobs {
		payloads[i] = payloadFor(t, j.path)
		payloads[i].Convert = true
		ids[i] = e.enqueue(t, payloads[i])
		if ids[i] != tasks.TaskID(payloads[i]) {
			t.Errorf("%s: task ID %s, want the original's %s", j.name, ids[i], tasks.TaskID(payloads[i]))
		}
	}
	// Untouched: acceptable files of jobs that ask, byte for byte.
	same := []tasks.UploadPayload{
		payloadFor(t, e.sample(t, "photo.jpg")),
		payloadFor(t, e.sample(t, "photo.png")),
		payloadFor(t, e.sample(t, "clip.mp4")),
	}
	sameIDs := make([]string, len(same))
	for i := range same {
		same[i].Convert = true
		sameIDs[i] = e.enqueue(t, same[i])
	}
	big, err := mediagen.PadTo(mediagen.Sample("png", 7), validate.DefaultMaxSize+1)
	if err != nil {
		t.Fatal(err)
	}
	bigPNG := payloadFor(t, e.file(t, "big.png", big))
	bigPNG.Convert = true
	bigPNGID := e.enqueue(t, bigPNG)

	for i, j := range jobs {
		r := result(t, e.wait(t, ids[i]))
		p := payloads[i]
		if r.SHA256 != p.SHA256 || r.Bytes != p.Size || r.ImageType != "jpg" || r.Converted == nil {
			t.Errorf("%s: result %+v; want the original's sha256 %s and %d bytes, jpg, converted", j.name, r, p.SHA256, p.Size)
			continue
		}
		c := r.Converted
		t.Logf("%s: %d bytes %dx%d -> %d bytes %dx%d at quality %d", j.name, c.BytesBefore, c.WidthBefore, c.HeightBefore, c.BytesAfter, c.WidthAfter, c.HeightAfter, c.Quality)
		if c.From != j.want.from || c.To != "jpg" || c.Why != j.want.why || c.BytesBefore != p.Size || c.SourceSHA256 != p.SHA256 ||
			c.WidthBefore != j.want.w || c.HeightBefore != j.want.h || c.Quality < convert.DefaultMinQuality || c.Quality > convert.DefaultMaxQuality {
			t.Errorf("%s: conversion record %+v", j.name, *c)
		}
		up, err := e.uploadByID(r.ImageID)
		if err != nil {
			t.Fatal(err)
		}
		content, ok := e.gw.Content(r.ImageID)
		if !ok {
			t.Fatalf("%s: the emulator kept no content", j.name)
		}
		sum := sha256.Sum256(content)
		if up.ImageType != "jpg" || up.DetectedType != "jpg" || up.ContentType != "image/jpeg" || int64(len(content)) != c.BytesAfter ||
			hex.EncodeToString(sum[:]) != c.SHA256 || c.BytesAfter >= validate.DefaultMaxSize {
			t.Errorf("%s: the gateway saw %+v (%d bytes, sha256 %x); record %+v", j.name, up, len(content), sum, *c)
		}
		if _, err := e.cfgValidator(t).Check(bytes.NewReader(content), int64(len(content)), "jpg", up.ImageName); err != nil {
			t.Errorf("%s: what arrived is not an acceptable JPEG: %v", j.name, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(content))
		if err != nil {
			t.Fatalf("%s: what arrived does not decode: %v", j.name, err)
		}
		if b := img.Bounds(); b.Dx() != c.WidthAfter || b.Dy() != c.HeightAfter {
			t.Errorf("%s: decodes as %dx%d, the record says %dx%d", j.name, b.Dx(), b.Dy(), c.WidthAfter, c.HeightAfter)
		}
		if bytes.Contains(content, []byte("Exif\x00\x00")) || bytes.Contains(content, []byte("PhoneCo")) {
			t.Errorf("%s: EXIF metadata arrived with the photo", j.name)
		}
		if j.want.upright {
			// Stored 3000x2000 with orientation 6 (turn 90° clockwise):
			// upright it is portrait, and the stored top-left red square
			// is at the top right.
			b := img.Bounds()
			if b.Dx() >= b.Dy() || c.WidthAfter*bigJPEGWidth != c.HeightAfter*bigJPEGHeight {
				t.Errorf("%s: %dx%d after conversion, want a portrait of the 2:3 stored landscape turned", j.name, b.Dx(), b.Dy())
			}
			corner := b.Dx() * 150 / bigJPEGHeight // half the square, in the converted scale
			if tr, tl := meanColour(img, image.Rect(b.Dx()-corner, 0, b.Dx(), corner)), meanColour(img, image.Rect(0, 0, corner, corner)); !(tr.R > 180 && tr.G < 70 && tr.B < 70) || (tl.R > 180 && tl.G < 70) {
				t.Errorf("%s: top right %v, top left %v; want the red square at the top right only", j.name, tr, tl)
			}
		}
	}
	for i, p := range same {
		r := result(t, e.wait(t, sameIDs[i]))
		up, err := e.uploadByID(r.ImageID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Converted != nil || up.SHA256 != p.SHA256 || up.Size != p.Size {
			t.Errorf("%s: converted %+v; the gateway saw %s (%d bytes), want the original %s (%d bytes)", p.Path, r.Converted, up.SHA256, up.Size, p.SHA256, p.Size)
		}
	}
	info := e.wait(t, bigPNGID)
	if info.State.String() != "archived" || !strings.HasPrefix(info.LastErr, "too_large: ") {
		t.Errorf("big PNG: %s; want archived as too_large", describe(info))
	}
	// Converted files are removed once their attempt is over.
	entries, err := os.ReadDir(scratch)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		files, err := os.ReadDir(scratch + "/" + d.Name())
		if err != nil || len(files) > 0 {
			t.Errorf("scratch directory %s holds %d files (%v) after the uploads", d.Name(), len(files), err)
		}
	}
}

// cfgValidator is the validator of the worker's settings: what the
// gateway accepts.
func (e *testEnv) cfgValidator(t *testing.T) *validate.Validator {
	t.Helper()
	v, err := validate.New(validate.Config{Allowed: e.cfg.AllowedTypes, MaxSize: e.cfg.MaxFileSize})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// meanColour is the mean colour of r in img.
func meanColour(img image.Image, r image.Rectangle) color.RGBA {
	var sum [3]int
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			sum[0] += int(c.R)
			sum[1] += int(c.G)
			sum[2] += int(c.B)
			n++
		}
	}
	return color.RGBA{uint8(sum[0] / n), uint8(sum[1] / n), uint8(sum[2] / n), 255}
}
