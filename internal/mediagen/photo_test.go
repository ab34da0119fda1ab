package mediagen_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

func TestPhotoIsDeterministicAndOpaque(t *testing.T) {
	t.Parallel()
	a, b := mediagen.Photo(120, 80, 7, 8), mediagen.Photo(120, 80, 7, 8)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("the same arguments gave different pixels")
	}
	if c := mediagen.Photo(120, 80, 8, 8); bytes.Equal(a.Pix, c.Pix) {
		t.Error("another seed gave the same pixels")
	}
	if !a.Opaque() || a.Bounds().Dx() != 120 || a.Bounds().Dy() != 80 {
		t.Errorf("bounds %v, opaque %v; want 120x80, opaque", a.Bounds(), a.Opaque())
	}
	if e := mediagen.Photo(0, 10, 1, 8); len(e.Pix) != 0 {
		t.Error("an empty size gave pixels")
	}
}

func TestPhotoGrainMakesFilesBigger(t *testing.T) {
	t.Parallel()
	size := func(grain int) int {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, mediagen.Photo(400, 300, 1, grain), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		return b.Len()
	}
	smooth, grainy := size(0), size(12)
	if grainy < 2*smooth {
		t.Errorf("grain 0: %d bytes, grain 12: %d; want grain to at least double the size", smooth, grainy)
	}
}

func jpegOf(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, mediagen.Photo(64, 48, 1, 4), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ifd0 parses the IFD0 entries of the APP1 segment AddEXIF writes right
// after SOI: tag to the entry's type, count and value field.
func ifd0(t *testing.T, jpg []byte) (tiff []byte, tags map[uint16][3]uint32) {
	t.Helper()
	if jpg[2] != 0xFF || jpg[3] != 0xE1 || string(jpg[6:12]) != "Exif\x00\x00" {
		t.Fatalf("no EXIF APP1 after SOI: % x", jpg[:12])
	}
	n := int(binary.BigEndian.Uint16(jpg[4:]))
	tiff = jpg[12 : 4+n]
	le := binary.LittleEndian
	if string(tiff[:4]) != "II*\x00" {
		t.Fatalf("TIFF header % x", tiff[:4])
	}
	at := le.Uint32(tiff[4:])
	tags = map[uint16][3]uint32{}
	for i := range int(le.Uint16(tiff[at:])) {
		e := tiff[int(at)+2+12*i:]
		tags[le.Uint16(e)] = [3]uint32{uint32(le.Uint16(e[2:])), le.Uint32(e[4:]), le.Uint32(e[8:])}
	}
	return tiff, tags
}

func TestAddEXIFWritesOrientationMakeAndGPS(t *testing.T) {
	t.Parallel()
	src := jpegOf(t)
	out, err := mediagen.AddEXIF(src, mediagen.EXIF{Orientation: 6, Make: "Acme", Latitude: -33.8688, Longitude: 151.2093})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[len(out)-len(src)+2:], src[2:]) {
		t.Error("the JPEG after the new segment is not the original")
	}
	tiff, tags := ifd0(t, out)
	if o := tags[0x0112]; o != [3]uint32{3, 1, 6} {
		t.Errorf("orientation entry %v; want SHORT, 1, 6", o)
	}
	if m := tags[0x010F]; m[0] != 2 || m[1] != 5 || string(tiff[m[2]:m[2]+5]) != "Acme\x00" {
		t.Errorf("make entry %v; want ASCII \"Acme\"", m)
	}
	gps, ok := tags[0x8825]
	if !ok {
		t.Fatal("no GPS IFD pointer")
	}
	le := binary.LittleEndian
	g := tiff[gps[2]:]
	refs := map[uint16]string{}
	for i := range int(le.Uint16(g)) {
		e := g[2+12*i:]
		if le.Uint16(e[2:]) == 2 { // ASCII, two bytes: stored in the entry
			refs[le.Uint16(e)] = string(e[8])
		}
	}
	if refs[1] != "S" || refs[3] != "E" {
		t.Errorf("latitude and longitude refs %q, %q; want S, E", refs[1], refs[3])
	}
	// Still a JPEG every reader takes.
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Errorf("image/jpeg: %v", err)
	}
	v, _ := validate.New(validate.Config{})
	if _, err := v.Check(bytes.NewReader(out), int64(len(out)), "jpg", "exif.jpg"); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestAddEXIFLeavesOutZeroFields(t *testing.T) {
	t.Parallel()
	out, err := mediagen.AddEXIF(jpegOf(t), mediagen.EXIF{Orientation: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, tags := ifd0(t, out); len(tags) != 1 {
		t.Errorf("tags %v; want only the orientation", tags)
	}
}

func TestAddEXIFRefusesBadInput(t *testing.T) {
	t.Parallel()
	if _, err := mediagen.AddEXIF([]byte("GIF89a"), mediagen.EXIF{Orientation: 1}); !errors.Is(err, mediagen.ErrNotJPEG) {
		t.Errorf("a GIF: %v; want ErrNotJPEG", err)
	}
	if _, err := mediagen.AddEXIF(jpegOf(t), mediagen.EXIF{Orientation: 9}); err == nil {
		t.Error("orientation 9 accepted")
	}
}
