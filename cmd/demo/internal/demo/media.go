package demo

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// walkthroughMP4 is a real half-second H.264 MP4 (64x48, ISO brand isom),
// the one committed file of the sample set.
//
//go:embed media/walkthrough.mp4
var walkthroughMP4 []byte

// Sample directories below the media root.
const (
	// StoreDir holds the store's own files, imported without a merchant
	// token: five good files and four broken ones.
	StoreDir = "store"
	// MerchantDir holds a file imported on behalf of a merchant whose
	// app_auth_token the gateway does not accept.
	MerchantDir = "merchant"
)

// Expectation is what the demo must see for one sample file.
type Expectation struct {
	// Path is relative to the media root, slash-separated.
	Path string
	// State is the final importer state: "completed", "rejected" or
	// "failed".
	State string
	// Reason is the rejection reason (State "rejected").
	Reason string
	// ErrorContains is a fragment of the last error (State "failed").
	ErrorContains string
}

// Samples lists the sample files [WriteMedia] creates and their expected
// outcome, in the order the result table prints them.
func Samples() []Expectation {
	return []Expectation{
		{Path: "store/storefront.jpg", State: "completed"},
		{Path: "store/menu-board.png", State: "completed"},
		{Path: "store/logo.gif", State: "completed"},
		{Path: "store/counter.bmp", State: "completed"},
		{Path: "store/walkthrough.mp4", State: "completed"},
		{Path: "store/broken/notes.jpg", State: "rejected", Reason: "unsupported_type"},
		{Path: "store/broken/half-photo.jpg", State: "rejected", Reason: "corrupt"},
		{Path: "store/broken/empty.png", State: "rejected", Reason: "empty"},
		{Path: "store/broken/huge-poster.png", State: "rejected", Reason: "too_large"},
		{Path: "merchant/shop-sign.jpg", State: "failed", ErrorContains: "20001"},
	}
}

// WriteMedia writes the sample files below root (created if needed),
// replacing earlier copies. Images are drawn and encoded with Go's image
// encoders, so every run produces the same bytes.
func WriteMedia(root string) error {
	storefront, err := encodeJPEG(scene(640, 400, 1), 85)
	if err != nil {
		return err
	}
	sign, err := encodeJPEG(scene(480, 320, 7), 80)
	if err != nil {
		return err
	}
	menu, err := encodePNG(scene(320, 240, 3))
	if err != nil {
		return err
	}
	logo, err := animatedGIF(96, 96)
	if err != nil {
		return err
	}
	// Random pixels do not compress: this opaque PNG holds about 3 bytes a
	// pixel, some 5.8 MB, over Alipay's 5 MB limit.
	huge, err := encodePNG(mediagen.Noise(1600, 1200, 9))
	if err != nil {
		return err
	}
	var counter bytes.Buffer
	if err := mediagen.EncodeBMP(&counter, scene(120, 80, 5)); err != nil {
		return fmt.Errorf("demo: bmp: %w", err)
	}
	files := []struct {
		path string
		data []byte
	}{
		{"store/storefront.jpg", storefront},
		{"store/menu-board.png", menu},
		{"store/logo.gif", logo},
		{"store/counter.bmp", counter.Bytes()},
		{"store/walkthrough.mp4", walkthroughMP4},
		{"store/broken/notes.jpg", []byte("Opening hours: 9:00-21:00. This is text, not a photo.\n")},
		{"store/broken/half-photo.jpg", storefront[:len(storefront)/2]},
		{"store/broken/empty.png", nil},
		{"store/broken/huge-poster.png", huge},
		{"merchant/shop-sign.jpg", sign},
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("demo: media: %w", err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return fmt.Errorf("demo: media: %w", err)
		}
	}
	return nil
}

// scene draws a simple shop front: sky, a wall, a door and an awning whose
// colours depend on seed.
func scene(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 42))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		c := color.RGBA{R: uint8(120 + 100*y/h), G: uint8(170 + 60*y/h), B: 235, A: 255}
		draw.Draw(img, image.Rect(0, y, w, y+1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	wall := color.RGBA{R: uint8(150 + r.IntN(80)), G: uint8(110 + r.IntN(60)), B: uint8(80 + r.IntN(60)), A: 255}
	draw.Draw(img, image.Rect(w/10, h/3, w-w/10, h), image.NewUniform(wall), image.Point{}, draw.Src)
	stripe := []color.RGBA{{200, 40, 40, 255}, {245, 245, 245, 255}}
	for i, x := 0, w/10; x < w-w/10; i, x = i+1, x+w/20 {
		draw.Draw(img, image.Rect(x, h/3-h/12, min(x+w/20, w-w/10), h/3+h/24), image.NewUniform(stripe[i%2]), image.Point{}, draw.Src)
	}
	draw.Draw(img, image.Rect(w/2-w/12, h/2, w/2+w/12, h), image.NewUniform(color.RGBA{70, 45, 30, 255}), image.Point{}, draw.Src)
	for _, x := range []int{w / 6, w - w/6 - w/6} {
		draw.Draw(img, image.Rect(x, h/2, x+w/6, h/2+h/5), image.NewUniform(color.RGBA{180, 215, 240, 255}), image.Point{}, draw.Src)
	}
	return img
}

func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("demo: jpeg: %w", err)
	}
	return b.Bytes(), nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("demo: png: %w", err)
	}
	return b.Bytes(), nil
}

// animatedGIF draws three frames of a turning coloured square.
func animatedGIF(w, h int) ([]byte, error) {
	anim := &gif.GIF{}
	for i, c := range []color.Color{palette.Plan9[200], palette.Plan9[100], palette.Plan9[40]} {
		frame := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		draw.Draw(frame, frame.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		off := i * w / 6
		draw.Draw(frame, image.Rect(w/4+off/2, h/4, w/2+off, h*3/4), image.NewUniform(c), image.Point{}, draw.Src)
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 40)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		return nil, fmt.Errorf("demo: gif: %w", err)
	}
	return b.Bytes(), nil
}
