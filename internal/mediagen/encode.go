package mediagen

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
)

// ErrFormat reports a format this package does not write.
var ErrFormat = errors.New("mediagen: unknown format")

// jpegQuality is the quality [Encode] writes JPEGs at.
const jpegQuality = 85

// Encode encodes img in format: "jpg" (or "jpeg"), "png", "gif" (the
// Plan 9 palette, dithered) or "bmp" (see [EncodeBMP]). It returns an error
// wrapping [ErrFormat] for any other format, and the encoder's error for an
// image the format cannot hold.
func Encode(format string, img image.Image) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch format {
	case "jpg", "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: jpegQuality})
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = EncodeBMP(&b, img)
	default:
		return nil, fmt.Errorf("%w %q", ErrFormat, format)
	}
	if err != nil {
		return nil, fmt.Errorf("mediagen: encode %s: %w", format, err)
	}
	return b.Bytes(), nil
}

// Sample returns a small, valid file of format, different for every seed
// and the same for the same seed: a 16×12 [Noise] image encoded by
// [Encode] (under a kilobyte as JPEG), or for "mp4" an [MP4] whose media
// data are 64 bytes drawn from seed. It panics for a format [Encode] does
// not know and that is not "mp4": a sample format is a constant of the
// caller's code, and in-memory encoding of so small an image cannot
// otherwise fail.
func Sample(format string, seed uint64) []byte {
	if format == "mp4" {
		body := make([]byte, 64)
		rng := rand.NewChaCha8(seedKey(seed, "mp4"))
		_, _ = rng.Read(body)
		return MP4(body)
	}
	data, err := Encode(format, Noise(16, 12, seed))
	if err != nil {
		panic(err)
	}
	return data
}

// seedKey spreads seed and a label over a ChaCha8 key.
func seedKey(seed uint64, label string) [32]byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	copy(key[8:], label)
	return key
}

// AnimatedGIF returns a w×h GIF of three frames (0.4s each) of a coloured
// square moving across a white background.
func AnimatedGIF(w, h int) ([]byte, error) {
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
		return nil, fmt.Errorf("mediagen: gif: %w", err)
	}
	return b.Bytes(), nil
}
