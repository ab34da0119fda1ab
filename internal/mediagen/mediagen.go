package mediagen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
)

// ErrBMPSize reports an image that a BMP cannot hold: empty, or too large
// for the format's 32-bit size fields.
var ErrBMPSize = errors.New("mediagen: image size not representable as BMP")

// BMP layout constants.
const (
	fileHeaderLen = 14
	infoHeaderLen = 40
	// BMPHeaderLen is the size of the headers EncodeBMP writes: the pixel
	// data starts at this offset.
	BMPHeaderLen = fileHeaderLen + infoHeaderLen
	// pixelsPerMetre is 72 dpi, the resolution most tools assume.
	pixelsPerMetre = 2835
)

// EncodeBMP writes img to w as an uncompressed 24-bit bottom-up BMP with a
// BITMAPINFOHEADER. It returns an error wrapping [ErrBMPSize] for an empty
// image or one whose file would not fit in 4 GiB, and any error from w.
func EncodeBMP(w io.Writer, img image.Image) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 {
		return fmt.Errorf("%w: %dx%d", ErrBMPSize, width, height)
	}
	stride := (3*width + 3) &^ 3
	if width > math.MaxInt32 || height > math.MaxInt32 || uint64(stride)*uint64(height) > math.MaxUint32-BMPHeaderLen {
		return fmt.Errorf("%w: %dx%d", ErrBMPSize, width, height)
	}
	pixels := stride * height

	le := binary.LittleEndian
	hdr := make([]byte, BMPHeaderLen)
	copy(hdr, "BM")
	le.PutUint32(hdr[2:], uint32(BMPHeaderLen+pixels)) // file size
	le.PutUint32(hdr[10:], BMPHeaderLen)               // pixel data offset
	le.PutUint32(hdr[14:], infoHeaderLen)
	le.PutUint32(hdr[18:], uint32(width))
	le.PutUint32(hdr[22:], uint32(height)) // positive: bottom-up rows
	le.PutUint16(hdr[26:], 1)              // planes
	le.PutUint16(hdr[28:], 24)             // bits per pixel
	// hdr[30:34] compression 0: BI_RGB, uncompressed.
	le.PutUint32(hdr[34:], uint32(pixels))
	le.PutUint32(hdr[38:], pixelsPerMetre)
	le.PutUint32(hdr[42:], pixelsPerMetre)
	// Colours used and important colours stay 0: no palette.
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("mediagen: write bmp: %w", err)
	}

	row := make([]byte, stride) // padding bytes stay zero
	for y := b.Max.Y - 1; y >= b.Min.Y; y-- {
		for x := range width {
			c := color.RGBAModel.Convert(img.At(b.Min.X+x, y)).(color.RGBA)
			row[3*x], row[3*x+1], row[3*x+2] = c.B, c.G, c.R
		}
		if _, err := w.Write(row); err != nil {
			return fmt.Errorf("mediagen: write bmp: %w", err)
		}
	}
	return nil
}

// Noise returns a w×h opaque image of random pixels drawn from seed: the
// same seed always gives the same pixels.
func Noise(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365)) // "noise"
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 255
	}
	return img
}
