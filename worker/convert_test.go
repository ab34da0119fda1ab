package worker

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// phonePhotos are the photos conversion is for, written into the media
// root: a HEIC (iPhone), a WebP (Android, web tools), and a JPEG over the
// 5 MB limit stored sideways with an EXIF orientation of 6 and a GPS
// position, its stored top-left corner painted red.
type phonePhotos struct {
	heic, webp, bigJPEG string
}

// bigJPEGSize is the stored pixel size of phonePhotos.bigJPEG: landscape
// as stored, portrait once its orientation is applied.
const bigJPEGWidth, bigJPEGHeight = 3000, 2000

func writePhonePhotos(t *testing.T, e *testEnv) phonePhotos {
	t.Helper()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	img := mediagen.Photo(bigJPEGWidth, bigJPEGHeight, 18, 24)
	paint(img, image.Rect(0, 0, 300, 300), color.RGBA{220, 20, 20, 255})
	big := must(mediagen.CameraJPEG(img, 95, mediagen.EXIF{Orientation: 6, Make: "PhoneCo", Latitude: 31.23, Longitude: 121.47}))
	if len(big) <= int(validate.DefaultMaxSize) {
		t.Fatalf("the big JPEG has %d bytes, not over the limit", len(big))
	}
	return phonePhotos{
		heic:    e.file(t, "phone/IMG_0001.HEIC", must(mediagen.HEIC(mediagen.Photo(640, 480, 1, 4), 70))),
		webp:    e.file(t, "phone/shop.webp", must(mediagen.WebP(mediagen.Photo(500, 400, 2, 4), 80))),
		bigJPEG: e.file(t, "phone/IMG_0002.jpg", big),
	}
}

func paint(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// count is how many attempts were rejected with reason.
func (o *reasonObserver) count(reason string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.reasons {
		if r == string(tasks.OutcomeRejected)+" "+reason {
			n++
		}
	}
	return n
}

// TestWithoutConversionPhonePhotosAreRefusedAsBefore: with conversion off
// (the default), HEIC, WebP and an oversized JPEG are archived with the
// reasons and messages of before, whether the job asks for conversion or
// not; only the advice grows a hint saying how to have them converted.
func TestWithoutConversionPhonePhotosAreRefusedAsBefore(t *testing.T) {
	t.Parallel()
	obs := &reasonObserver{}
	e := startEnv(t, envOptions{config: func(c *Config) { c.Observer = obs }})
	ph := writePhonePhotos(t, e)
	val, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path string
		reason     validate.Reason
	}{
		{"heic", ph.heic, validate.ReasonUnsupportedType},
		{"webp", ph.webp, validate.ReasonUnsupportedType},
		{"big jpeg", ph.bigJPEG, validate.ReasonTooLarge},
	} {
		// The refusal as it was before conversion existed: the
		// validator's, whose detail then ended with its fix.
		data, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		_, verr := val.Check(bytes.NewReader(data), int64(len(data)), "", filepath.Base(c.path))
		var ve *validate.Error
		if !errors.As(verr, &ve) || ve.Reason != c.reason {
			t.Fatalf("%s: the validator says %v, want %s", c.name, verr, c.reason)
		}
		before := string(c.reason) + ": " + ve.Detail() // as the task's error says it
		for _, asked := range []bool{false, true} {
			p := payloadFor(t, c.path)
			p.Convert = asked
			if asked {
				p.ImagePID = "2088000000000009" // another task ID for the same file
			}
			info := e.wait(t, e.enqueue(t, p))
			if info.State.String() != "archived" {
				t.Errorf("%s (convert %v): %s, want archived", c.name, asked, describe(info))
				continue
			}
			if !strings.HasPrefix(info.LastErr, before+"; or ") {
				t.Errorf("%s (convert %v): error %q, want it to start as before, %q, and go on with a hint", c.name, asked, info.LastErr, before)
			}
			hint := "enqueue --convert"
			if asked {
				hint = "this worker does not convert: run it with UPLOAD_CONVERT=on"
			}
			if !strings.Contains(info.LastErr, hint) {
				t.Errorf("%s (convert %v): error %q has no hint %q", c.name, asked, info.LastErr, hint)
			}
		}
		if n := obs.count(string(c.reason)); n < 2 {
			t.Errorf("%s: %d attempts rejected as %s, want 2 (reasons %v)", c.name, n, c.reason, obs.reasons)
		}
	}
	// A PNG over the limit gets no hint: conversion would not help it.
	big, err := mediagen.PadTo(mediagen.Sample("png", 1), validate.DefaultMaxSize+1)
	if err != nil {
		t.Fatal(err)
	}
	info := e.wait(t, e.enqueue(t, payloadFor(t, e.file(t, "big.png", big))))
	if !strings.Contains(info.LastErr, "too_large") || strings.Contains(info.LastErr, "convert") {
		t.Errorf("big PNG: error %q, want too_large without a conversion hint", info.LastErr)
	}
	if n := len(e.gw.Uploads()); n != 0 {
		t.Errorf("the gateway recorded %d uploads, want none", n)
	}
}

// TestConvertNeedsVipsBuild: asking New for conversion in a build that
// cannot convert is a configuration error naming the field and the build
// command; with libvips, New accepts it.
func TestConvertNeedsVipsBuild(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envOptions{noStart: true})
	cfg := e.cfg
	cfg.Convert = &convert.Config{ScratchDir: t.TempDir()}
	w, err := New(t.Context(), cfg, nil)
	if convert.Available() {
		if err != nil {
			t.Fatalf("New with conversion in a vips build: %v", err)
		}
		w.Close()
		return
	}
	var ce *ConfigError
	if w != nil || !errors.As(err, &ce) || ce.Field != "Convert" || !errors.Is(err, convert.ErrUnavailable) ||
		!strings.Contains(err.Error(), "go build -tags vips ./cmd/worker") {
		t.Fatalf("New = %v, %v; want a ConfigError for Convert saying how to build with libvips", w, err)
	}
}
