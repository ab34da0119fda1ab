package mediagen_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// The tool-made files start as their formats do, and the camera JPEG
// decodes to the picture's size and carries the EXIF segment asked for.
func TestToolFormats(t *testing.T) {
	t.Parallel()
	img := mediagen.Photo(96, 64, 1, 4)
	heic, err := mediagen.HEIC(img, 60)
	if err != nil {
		t.Fatal(err)
	}
	if string(heic[4:8]) != "ftyp" || !bytes.Contains(heic[:32], []byte("heic")) {
		t.Errorf("HEIC starts %q", heic[:min(len(heic), 32)])
	}
	webp, err := mediagen.WebP(img, 60)
	if err != nil {
		t.Fatal(err)
	}
	if string(webp[:4]) != "RIFF" || string(webp[8:12]) != "WEBP" {
		t.Errorf("WebP starts %q", webp[:min(len(webp), 16)])
	}
	jpg, err := mediagen.CameraJPEG(img, 90, mediagen.EXIF{Orientation: 6})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil || cfg.Width != 96 || cfg.Height != 64 {
		t.Errorf("JPEG: %dx%d, %v; want 96x64", cfg.Width, cfg.Height, err)
	}
	if !bytes.Equal(jpg[2:4], []byte{0xFF, 0xE1}) || !bytes.Contains(jpg[:64], []byte("Exif\x00\x00")) {
		t.Errorf("JPEG does not start with the EXIF segment: % x", jpg[:16])
	}
}
