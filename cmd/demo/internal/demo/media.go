package demo

import (
	"cmp"
	_ "embed"
	"fmt"
	"image"
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
// replacing earlier copies. Images are drawn and encoded by
// internal/mediagen, so every run produces the same bytes.
func WriteMedia(root string) error {
	// Encoding in memory fails only on a programming error: keep the
	// first error and report it once.
	var encodeErr error
	encode := func(format string, img image.Image) []byte {
		data, err := mediagen.Encode(format, img)
		encodeErr = cmp.Or(encodeErr, err)
		return data
	}
	storefront := encode("jpg", mediagen.Scene(640, 400, 1))
	// Random pixels do not compress: this opaque PNG holds about 3 bytes a
	// pixel, some 5.8 MB, over Alipay's 5 MB limit.
	huge := encode("png", mediagen.Noise(1600, 1200, 9))
	logo, err := mediagen.AnimatedGIF(96, 96)
	if err != nil {
		return fmt.Errorf("demo: media: %w", err)
	}
	files := []struct {
		path string
		data []byte
	}{
		{"store/storefront.jpg", storefront},
		{"store/menu-board.png", encode("png", mediagen.Scene(320, 240, 3))},
		{"store/logo.gif", logo},
		{"store/counter.bmp", encode("bmp", mediagen.Scene(120, 80, 5))},
		{"store/walkthrough.mp4", walkthroughMP4},
		{"store/broken/notes.jpg", []byte("Opening hours: 9:00-21:00. This is text, not a photo.\n")},
		{"store/broken/half-photo.jpg", storefront[:len(storefront)/2]},
		{"store/broken/empty.png", nil},
		{"store/broken/huge-poster.png", huge},
		{"merchant/shop-sign.jpg", encode("jpg", mediagen.Scene(480, 320, 7))},
	}
	if encodeErr != nil {
		return fmt.Errorf("demo: media: %w", encodeErr)
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
