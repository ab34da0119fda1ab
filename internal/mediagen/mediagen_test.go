package mediagen_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
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

// Noise and Scene draw opaque images of the asked size, the same for the
// same seed and different for another.
func TestDrawingsAreDeterministic(t *testing.T) {
	t.Parallel()
	for name, draw := range map[string]func(w, h int, seed uint64) *image.RGBA{"Noise": mediagen.Noise, "Scene": mediagen.Scene} {
		a, b, c := draw(64, 48, 7), draw(64, 48, 7), draw(64, 48, 8)
		if a.Bounds() != image.Rect(0, 0, 64, 48) {
			t.Errorf("%s: bounds %v", name, a.Bounds())
		}
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("%s: the same seed gave different pixels", name)
		}
		if bytes.Equal(a.Pix, c.Pix) {
			t.Errorf("%s: different seeds gave the same pixels", name)
		}
		if !a.Opaque() {
			t.Errorf("%s: not opaque", name)
		}
	}
}

func TestNoiseDoesNotCompress(t *testing.T) {
	t.Parallel()
	a := mediagen.Noise(64, 48, 7)
	// Noise does not compress: its PNG holds about 3 bytes a pixel.
	var p bytes.Buffer
	if err := png.Encode(&p, a); err != nil {
		t.Fatal(err)
	}
	if raw := 64 * 48 * 3; p.Len() < raw {
		t.Errorf("PNG of noise is %d bytes, less than the %d raw bytes", p.Len(), raw)
	}
}

func newValidator(t *testing.T) *validate.Validator {
	t.Helper()
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every format Sample makes passes the real validator with its type, the
// same seed gives the same bytes and another seed other bytes.
func TestSample(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for _, format := range []string{"jpg", "jpeg", "png", "gif", "bmp", "mp4"} {
		a, b, c := mediagen.Sample(format, 1), mediagen.Sample(format, 1), mediagen.Sample(format, 2)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the same seed gave different bytes", format)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds gave the same bytes", format)
		}
		info, err := v.Check(bytes.NewReader(a), int64(len(a)), format, "sample."+format)
		if err != nil {
			t.Errorf("%s: validate: %v", format, err)
			continue
		}
		if want := validate.CanonicalType(format); info.Type != want {
			t.Errorf("%s: validated as %s, want %s", format, info.Type, want)
		}
		// Tests pad a JPEG sample up to a size limit: it stays small.
		if (format == "jpg" || format == "jpeg") && len(a) >= 1000 {
			t.Errorf("%s: sample of %d bytes, want under 1000", format, len(a))
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Sample of an unknown format did not panic")
		}
	}()
	mediagen.Sample("tiff", 1)
}

func TestEncode(t *testing.T) {
	t.Parallel()
	img := mediagen.Scene(64, 48, 3)
	for format, decoder := range map[string]string{"jpg": "jpeg", "png": "png", "gif": "gif"} {
		data, err := mediagen.Encode(format, img)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != 64 || cfg.Height != 48 || got != decoder {
			t.Errorf("%s: decodes as %s %dx%d (%v)", format, got, cfg.Width, cfg.Height, err)
		}
	}
	if _, err := mediagen.Encode("tiff", img); !errors.Is(err, mediagen.ErrFormat) {
		t.Errorf("Encode(tiff) = %v, want ErrFormat", err)
	}
	if _, err := mediagen.Encode("bmp", image.NewRGBA(image.Rectangle{})); !errors.Is(err, mediagen.ErrBMPSize) {
		t.Errorf("Encode of an empty BMP = %v, want ErrBMPSize", err)
	}
}

func TestAnimatedGIF(t *testing.T) {
	t.Parallel()
	data, err := mediagen.AnimatedGIF(96, 64)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.Config.Width != 96 || g.Config.Height != 64 {
		t.Errorf("%d frames of %dx%d, want 3 of 96x64", len(g.Image), g.Config.Width, g.Config.Height)
	}
	if _, err := newValidator(t).Check(bytes.NewReader(data), int64(len(data)), "gif", "anim.gif"); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestBoxAndMP4(t *testing.T) {
	t.Parallel()
	if got, want := mediagen.Box("free", []byte("ab")), []byte("\x00\x00\x00\x0afreeab"); !bytes.Equal(got, want) {
		t.Errorf("Box = %q, want %q", got, want)
	}
	v := newValidator(t)
	mp4 := mediagen.MP4([]byte("media data"))
	padded := append(bytes.Clone(mp4), mediagen.Box("free", []byte("unique"))...)
	for name, data := range map[string][]byte{"mp4": mp4, "with a free box": padded} {
		info, err := v.Check(bytes.NewReader(data), int64(len(data)), "mp4", "v.mp4")
		if err != nil || info.Type != "mp4" {
			t.Errorf("%s: validate says %+v, %v", name, info, err)
		}
	}
	cut := mp4[:len(mp4)-1]
	if _, err := v.Check(bytes.NewReader(cut), int64(len(cut)), "mp4", "v.mp4"); validate.ReasonOf(err) != validate.ReasonCorrupt {
		t.Errorf("a cut MP4: %v, want corrupt", err)
	}
}

func TestJPEGOfSizeIsValidAndExact(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	seen := map[[32]byte]bool{}
	for i, size := range []int64{mediagen.MinJPEGSize, 4099, 65537 + 700, 100_000, 1_000_000, 5_000_000} {
		data, err := mediagen.JPEGOfSize(size, uint64(i))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if int64(len(data)) != size {
			t.Fatalf("asked %d bytes, got %d", size, len(data))
		}
		info, err := v.Check(bytes.NewReader(data), size, "jpg", "bench.jpg")
		if err != nil {
			t.Fatalf("%d bytes: validator refuses it: %v", size, err)
		}
		if info.Width != 16 || info.Height != 16 {
			t.Errorf("%d bytes: %dx%d, want 16x16", size, info.Width, info.Height)
		}
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%d bytes: does not decode: %v", size, err)
		}
		sum := sha256.Sum256(data)
		if seen[sum] {
			t.Errorf("%d bytes: not unique", size)
		}
		seen[sum] = true
	}
	if _, err := mediagen.JPEGOfSize(100, 1); err == nil {
		t.Error("a 100-byte JPEG was made")
	}
}
