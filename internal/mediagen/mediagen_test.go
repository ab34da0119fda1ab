package mediagen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

// bmpHeader is the fixed part of a BMP file with a BITMAPINFOHEADER, in
// file order.
type bmpHeader struct {
	Magic         [2]byte
	FileSize      uint32
	Reserved      uint32
	PixelOffset   uint32
	InfoSize      uint32
	Width, Height int32
	Planes        uint16
	BitCount      uint16
	Compression   uint32
	ImageSize     uint32
	XPPM, YPPM    int32
	ColorsUsed    uint32
	ColorsImp     uint32
}

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := mediagen.EncodeBMP(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEncodeBMPHeader(t *testing.T) {
	t.Parallel()
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []image.Point{{1, 1}, {3, 2}, {4, 4}, {5, 3}, {32, 24}} {
		data := encode(t, mediagen.Noise(size.X, size.Y, 1))
		var h bmpHeader
		if err := binary.Read(bytes.NewReader(data), binary.LittleEndian, &h); err != nil {
			t.Fatalf("%v: %v", size, err)
		}
		stride := (3*size.X + 3) / 4 * 4
		want := bmpHeader{
			Magic: [2]byte{'B', 'M'}, FileSize: uint32(54 + stride*size.Y), PixelOffset: 54,
			InfoSize: 40, Width: int32(size.X), Height: int32(size.Y), Planes: 1, BitCount: 24,
			ImageSize: uint32(stride * size.Y), XPPM: 2835, YPPM: 2835,
		}
		if h != want {
			t.Errorf("%v: header %+v, want %+v", size, h, want)
		}
		if len(data) != int(want.FileSize) {
			t.Errorf("%v: %d bytes, header says %d", size, len(data), want.FileSize)
		}
		info, err := v.Check(bytes.NewReader(data), int64(len(data)), "bmp", "noise.bmp")
		if err != nil {
			t.Errorf("%v: validate: %v", size, err)
		} else if info.Type != "bmp" || info.Width != size.X || info.Height != size.Y {
			t.Errorf("%v: validate says %+v", size, info)
		}
	}
}

// Rows are stored bottom-up, pixels as B, G, R, rows padded with zeros;
// images whose bounds do not start at the origin are written from their
// bounds.
func TestEncodeBMPPixels(t *testing.T) {
	t.Parallel()
	img := image.NewNRGBA(image.Rect(10, 20, 13, 22)) // 3x2: 9-byte rows padded to 12
	img.Set(10, 20, color.NRGBA{R: 1, G: 2, B: 3, A: 255})
	img.Set(12, 20, color.NRGBA{R: 4, G: 5, B: 6, A: 255})
	img.Set(11, 21, color.NRGBA{R: 200, G: 100, B: 50, A: 255})
	img.Set(12, 21, color.NRGBA{R: 255, G: 255, B: 255, A: 0}) // transparent: black
	got := encode(t, img)[mediagen.BMPHeaderLen:]
	want := []byte{
		0, 0, 0, 50, 100, 200, 0, 0, 0, 0, 0, 0, // bottom row first
		3, 2, 1, 0, 0, 0, 6, 5, 4, 0, 0, 0,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("pixels\n got %v\nwant %v", got, want)
	}
}

type failWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errDisk
	}
	f.after--
	return len(p), nil
}

func TestEncodeBMPErrors(t *testing.T) {
	t.Parallel()
	for _, r := range []image.Rectangle{image.Rect(0, 0, 0, 5), image.Rect(0, 0, 5, 0), {}} {
		err := mediagen.EncodeBMP(&bytes.Buffer{}, image.NewRGBA(r))
		if !errors.Is(err, mediagen.ErrBMPSize) {
			t.Errorf("%v: err = %v, want ErrBMPSize", r, err)
		}
	}
	for after := range 3 { // header, first row, second row
		err := mediagen.EncodeBMP(&failWriter{after: after}, mediagen.Noise(4, 3, 1))
		if !errors.Is(err, errDisk) {
			t.Errorf("failing after %d writes: err = %v", after, err)
		}
	}
}

func TestNoise(t *testing.T) {
	t.Parallel()
	a, b, c := mediagen.Noise(64, 48, 7), mediagen.Noise(64, 48, 7), mediagen.Noise(64, 48, 8)
	if a.Bounds() != image.Rect(0, 0, 64, 48) {
		t.Fatalf("bounds %v", a.Bounds())
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("the same seed gave different pixels")
	}
	if bytes.Equal(a.Pix, c.Pix) {
		t.Error("different seeds gave the same pixels")
	}
	if !a.Opaque() {
		t.Error("noise is not opaque")
	}
	// Noise does not compress: its PNG holds about 3 bytes a pixel.
	var p bytes.Buffer
	if err := png.Encode(&p, a); err != nil {
		t.Fatal(err)
	}
	if raw := 64 * 48 * 3; p.Len() < raw {
		t.Errorf("PNG of noise is %d bytes, less than the %d raw bytes", p.Len(), raw)
	}
}
