package mediagen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// ErrBMPSize reports an image that a BMP cannot hold: empty, or too large
// for the format's 32-bit size fields.
var ErrBMPSize = errors.New("mediagen: image size not representable as BMP")

// BMP layout constants.
const (
	fileHeaderLen = 14
	infoHeaderLen = 40
	// BMPHeaderLen is the size of the headers [BMPHeader] returns and
	// [EncodeBMP] writes: the pixel data starts at this offset.
	BMPHeaderLen = fileHeaderLen + infoHeaderLen
	// pixelsPerMetre is 72 dpi, the resolution most tools assume.
	pixelsPerMetre = 2835
)

// BMPHeader returns the headers of a BMP file whose pixel data, of
// pixelBytes bytes, follows them: a BITMAPFILEHEADER and a
// BITMAPINFOHEADER with the given size (a negative height means top-down
// rows), bit depth and compression (0 is BI_RGB), 72 dpi and no palette.
// The fields are written as given, unchecked, so that tests can build odd
// or broken files too.
func BMPHeader(width, height int32, bitCount uint16, compression, pixelBytes uint32) []byte {
	le := binary.LittleEndian
	hdr := make([]byte, BMPHeaderLen)
	copy(hdr, "BM")
	le.PutUint32(hdr[2:], BMPHeaderLen+pixelBytes) // file size
	le.PutUint32(hdr[10:], BMPHeaderLen)           // pixel data offset
	le.PutUint32(hdr[14:], infoHeaderLen)
	le.PutUint32(hdr[18:], uint32(width))
	le.PutUint32(hdr[22:], uint32(height))
	le.PutUint16(hdr[26:], 1) // planes
	le.PutUint16(hdr[28:], bitCount)
	le.PutUint32(hdr[30:], compression)
	le.PutUint32(hdr[34:], pixelBytes)
	le.PutUint32(hdr[38:], pixelsPerMetre)
	le.PutUint32(hdr[42:], pixelsPerMetre)
	// Colours used and important colours stay 0: no palette.
	return hdr
}

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
	// A positive height: bottom-up rows.
	hdr := BMPHeader(int32(width), int32(height), 24, 0, uint32(stride*height))
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
