//go:build vips

package convert_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

func TestAvailableWithVips(t *testing.T) {
	t.Parallel()
	if !convert.Available() {
		t.Fatal("Available() = false in a build with the vips tag")
	}
}

func TestConvertHEICToJPEG(t *testing.T) {
	t.Parallel()
	src := mediagen.Photo(640, 480, 1, 4)
	heic := makeHEIC(t, src, 70)
	if got := validate.Sniff(heic); got != "heif" {
		t.Fatalf("heif-enc's output sniffs as %q", got)
	}
	c := newConverter(t, convert.Config{})
	res, out := mustConvert(t, c, heic)

	want := convert.Record{From: "heif", To: "jpg", Why: convert.WhyType,
		BytesBefore: int64(len(heic)), BytesAfter: int64(len(out)), Quality: convert.DefaultMaxQuality,
		WidthBefore: 640, HeightBefore: 480, WidthAfter: 640, HeightAfter: 480, SHA256: res.SHA256, SourceSHA256: res.SourceSHA256}
	if res.Record != want {
		t.Errorf("record\n got %+v\nwant %+v", res.Record, want)
	}
	info := accepted(t, out, validate.DefaultMaxSize)
	if info.Width != 640 || info.Height != 480 {
		t.Errorf("validate sees %dx%d; want 640x480", info.Width, info.Height)
	}
	// The same picture, colours included (HEVC and JPEG both lose a little).
	if d := meanDiff(src, decode(t, out)); d > 8 {
		t.Errorf("mean difference from the source %.1f levels; want under 8", d)
	}
}

func TestConvertWebPToJPEG(t *testing.T) {
	t.Parallel()
	src := mediagen.Photo(500, 400, 2, 4)
	in := filepath.Join(t.TempDir(), "in.png")
	writeFile(t, in, encodePNG(t, src))
	webp := makeWebP(t, in, 90)
	if got := validate.Sniff(webp); got != "webp" {
		t.Fatalf("the WebP sniffs as %q", got)
	}
	c := newConverter(t, convert.Config{})
	res, out := mustConvert(t, c, webp)
	if res.From != "webp" || res.Why != convert.WhyType || res.Quality != convert.DefaultMaxQuality ||
		res.WidthAfter != 500 || res.HeightAfter != 400 {
		t.Errorf("record %+v; want from webp, why type, quality %d, 500x400", res.Record, convert.DefaultMaxQuality)
	}
	accepted(t, out, validate.DefaultMaxSize)
	if d := meanDiff(src, decode(t, out)); d > 8 {
		t.Errorf("mean difference from the source %.1f levels; want under 8", d)
	}
}

func TestConvertFlattensTransparencyOntoWhite(t *testing.T) {
	t.Parallel()
	// Left half fully transparent, right half opaque red.
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := 32; x < 64; x++ {
			img.SetNRGBA(x, y, color.NRGBA{220, 20, 20, 255})
		}
	}
	in := filepath.Join(t.TempDir(), "alpha.png")
	writeFile(t, in, encodePNG(t, img))
	webp := makeWebP(t, in, 95)
	_, out := mustConvert(t, newConverter(t, convert.Config{}), webp)
	dec := decode(t, out)
	if c := rgb(dec, 8, 24); !near(c, [3]int{255, 255, 255}, 8) {
		t.Errorf("transparent area is %v; want white", c)
	}
	if c := rgb(dec, 56, 24); !near(c, [3]int{220, 20, 20}, 12) {
		t.Errorf("opaque area is %v; want the red", c)
	}
}

func TestConvertOversizedJPEGFitsTheLimit(t *testing.T) {
	t.Parallel()
	in, _ := photo(t, 2100, 1600, 60, 100)
	if len(in) <= int(validate.DefaultMaxSize) {
		t.Fatalf("test input has %d bytes; it must be over %d", len(in), validate.DefaultMaxSize)
	}
	res, out := mustConvert(t, newConverter(t, convert.Config{}), in)
	if len(out) > int(validate.DefaultMaxSize) {
		t.Fatalf("converted file has %d bytes, over the limit", len(out))
	}
	info := accepted(t, out, validate.DefaultMaxSize)
	if res.From != "jpg" || res.Why != convert.WhyBytes || info.Width != 2100 || info.Height != 1600 ||
		res.Quality < convert.DefaultMinQuality || res.Quality > convert.DefaultMaxQuality {
		t.Errorf("record %+v, %dx%d; want a 2100x1600 jpg re-encoded for its bytes at quality 80 to 95", res.Record, info.Width, info.Height)
	}
}

// reencode encodes in as the converter does, with the vips command
// instead: the same libvips loader and JPEG encoder, 4:2:0, no metadata.
func reencode(t *testing.T, in []byte, q int) []byte {
	t.Helper()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.jpg")
	writeFile(t, src, in)
	tool(t, "vips", "copy", src, dst+"[Q="+strconv.Itoa(q)+",strip,subsample-mode=on]")
	return readFile(t, dst)
}

func TestConvertPicksTheLargestQualityThatFits(t *testing.T) {
	t.Parallel()
	// 2.4 megapixels: large enough that the search estimates from samples.
	in, _ := photo(t, 2000, 1200, 12, 98)
	const limit = 700_000
	c := newConverter(t, convert.Config{MaxBytes: limit})
	res, out := mustConvert(t, c, in)
	if res.Quality <= convert.DefaultMinQuality || res.Quality >= convert.DefaultMaxQuality {
		t.Fatalf("quality %d (%+v): the test input no longer lands inside the range; adjust it", res.Quality, res.Record)
	}
	if len(out) > limit || res.WidthAfter != 2000 || res.HeightAfter != 1200 {
		t.Fatalf("%d bytes, %dx%d; want at most %d, unscaled", len(out), res.WidthAfter, res.HeightAfter, limit)
	}
	if same := reencode(t, in, res.Quality); !bytes.Equal(same, out) {
		t.Errorf("libvips at quality %d gives %d bytes; the converter's %d differ", res.Quality, len(same), len(out))
	}
	if next := reencode(t, in, res.Quality+1); len(next) <= limit {
		t.Errorf("quality %d also fits (%d bytes): %d is not the largest", res.Quality+1, len(next), res.Quality)
	}
}

func TestConvertDownscalesWhenTheFloorDoesNotFit(t *testing.T) {
	t.Parallel()
	in, _ := photo(t, 1600, 1200, 60, 100)
	const limit = 150_000
	res, out := mustConvert(t, newConverter(t, convert.Config{MaxBytes: limit}), in)
	if res.Quality != convert.DefaultMinQuality {
		t.Errorf("quality %d; want the floor %d", res.Quality, convert.DefaultMinQuality)
	}
	if len(out) > limit {
		t.Errorf("%d bytes, over %d", len(out), limit)
	}
	info := accepted(t, out, limit)
	if info.Width >= 1600 || info.Height >= 1200 || info.Width != res.WidthAfter || info.Height != res.HeightAfter {
		t.Errorf("%dx%d (record %dx%d); want it smaller than 1600x1200", info.Width, info.Height, res.WidthAfter, res.HeightAfter)
	}
	if r := float64(info.Width) / float64(info.Height); r < 1.32 || r > 1.35 {
		t.Errorf("aspect ratio %.3f; want 4:3 kept", r)
	}
}

func TestConvertCapsPixels(t *testing.T) {
	t.Parallel()
	// Under the byte limit, but over MaxPixels: re-encoded, and the JPEG
	// decoder shrinks by 4 while decoding (1600x1200 to 400x300), then
	// resizes the rest of the way.
	in, src := photo(t, 1600, 1200, 4, 90)
	const maxPixels = 100_000
	res, out := mustConvert(t, newConverter(t, convert.Config{MaxPixels: maxPixels}), in)
	if res.Why != convert.WhyPixels {
		t.Errorf("why %q; want %q", res.Why, convert.WhyPixels)
	}
	if px := res.WidthAfter * res.HeightAfter; px > maxPixels || px < maxPixels*9/10 {
		t.Errorf("%dx%d = %d pixels; want just under %d", res.WidthAfter, res.HeightAfter, px, maxPixels)
	}
	dec := decode(t, out)
	if dec.Bounds().Dx() != res.WidthAfter || dec.Bounds().Dy() != res.HeightAfter {
		t.Errorf("decoded %v; record says %dx%d", dec.Bounds(), res.WidthAfter, res.HeightAfter)
	}
	// Same picture: compare with the source at the output's size, by
	// sampling the source at the matching spots.
	small := image.NewRGBA(dec.Bounds())
	for y := range res.HeightAfter {
		for x := range res.WidthAfter {
			small.Set(x, y, src.At(x*1600/res.WidthAfter, y*1200/res.HeightAfter))
		}
	}
	if d := meanDiff(small, dec); d > 25 {
		t.Errorf("mean difference from the source %.1f; want the same picture", d)
	}
	// Within MaxPixels, the same JPEG is left alone.
	if _, _, err := run(t, newConverter(t, convert.Config{MaxPixels: 1600 * 1200}), in); !errors.Is(err, convert.ErrNotNeeded) {
		t.Errorf("at exactly MaxPixels: %v; want ErrNotNeeded", err)
	}
}

// orientedJPEG is a 96x64 JPEG, red on the left and blue on the right as
// stored, with EXIF orientation 6 (displayed turned 90° clockwise: red on
// top), a camera make and a GPS position.
func orientedJPEG(t *testing.T) []byte {
	t.Helper()
	in, err := mediagen.AddEXIF(encodeJPEG(t, twoColours(96, 64), 95),
		mediagen.EXIF{Orientation: 6, Make: "Acme", Latitude: 31.2304, Longitude: 121.4737})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestConvertAppliesOrientationAndStripsMetadata(t *testing.T) {
	t.Parallel()
	in := orientedJPEG(t)
	// One byte under the file: over the limit, so it is re-encoded.
	res, out := mustConvert(t, newConverter(t, convert.Config{MaxBytes: int64(len(in) - 1)}), in)
	if res.WidthBefore != 96 || res.HeightBefore != 64 || res.WidthAfter != 64 || res.HeightAfter != 96 {
		t.Errorf("record %dx%d -> %dx%d; want 96x64 -> 64x96", res.WidthBefore, res.HeightBefore, res.WidthAfter, res.HeightAfter)
	}
	dec := decode(t, out)
	if b := dec.Bounds(); b.Dx() != 64 || b.Dy() != 96 {
		t.Fatalf("decoded %v; want 64x96", b)
	}
	if top, bottom := rgb(dec, 32, 10), rgb(dec, 32, 85); !near(top, [3]int{200, 30, 30}, 16) || !near(bottom, [3]int{30, 30, 200}, 16) {
		t.Errorf("top %v, bottom %v; want red on top and blue below", top, bottom)
	}
	if apps := metadata(out); len(apps) != 0 {
		t.Errorf("APPn segments %v left in; want none but JFIF (no EXIF, GPS, XMP or ICC)", apps)
	}
	if bytes.Contains(out, []byte("Acme")) {
		t.Error("the camera make is still in the file")
	}
}

// metadata lists the APPn markers of out other than the JFIF APP0 header.
func metadata(out []byte) []byte {
	var found []byte
	for n, payloads := range appSegments(out) {
		for _, p := range payloads {
			if n != 0 || !bytes.HasPrefix(p, []byte("JFIF\x00")) {
				found = append(found, n)
			}
		}
	}
	return found
}

func TestConvertKeepsOnlyTheEXIFTagsAskedFor(t *testing.T) {
	t.Parallel()
	in := orientedJPEG(t)
	res, out := mustConvert(t, newConverter(t, convert.Config{MaxBytes: int64(len(in) - 1), KeepEXIF: []string{"Make"}}), in)
	if res.WidthAfter != 64 || res.HeightAfter != 96 {
		t.Errorf("%dx%d; want 64x96", res.WidthAfter, res.HeightAfter)
	}
	app1 := appSegments(out)[1]
	if len(app1) != 1 {
		t.Fatalf("%d APP1 segments; want one EXIF", len(app1))
	}
	tags := exifIFD0Tags(t, app1[0])
	if _, ok := tags[0x010F]; !ok || !bytes.Contains(app1[0], []byte("Acme")) {
		t.Error("Make was not kept")
	}
	if _, ok := tags[0x8825]; ok {
		t.Error("the GPS IFD is still there")
	}
	if o, ok := tags[0x0112]; ok && binary.LittleEndian.Uint16(o) != 1 && binary.BigEndian.Uint16(o) != 1 {
		t.Errorf("orientation tag %v; want 1 (already applied) or none", o)
	}
}

func TestConvertTurnsColourIntoSRGB(t *testing.T) {
	t.Parallel()
	// A flat sRGB colour, converted to Display P3 numbers with a P3 ICC
	// profile attached, by the vips command.
	want := [3]int{200, 60, 40}
	flat := image.NewRGBA(image.Rect(0, 0, 128, 96))
	for i := 0; i < len(flat.Pix); i += 4 {
		flat.Pix[i], flat.Pix[i+1], flat.Pix[i+2], flat.Pix[i+3] = uint8(want[0]), uint8(want[1]), uint8(want[2]), 255
	}
	dir := t.TempDir()
	srgb, p3 := filepath.Join(dir, "srgb.png"), filepath.Join(dir, "p3.jpg")
	writeFile(t, srgb, encodePNG(t, flat))
	tool(t, "vips", "icc_transform", srgb, p3+"[Q=98]", "p3", "--input-profile", "srgb")
	in := readFile(t, p3)
	if raw := rgb(decode(t, in), 64, 48); near(raw, want, 6) {
		t.Fatalf("P3 numbers %v are too close to the sRGB ones to tell the conversion happened", raw)
	}
	if len(appSegments(in)[2]) == 0 {
		t.Fatal("the P3 file has no ICC profile (APP2)")
	}
	_, out := mustConvert(t, newConverter(t, convert.Config{MaxBytes: int64(len(in) - 1)}), in)
	if got := rgb(decode(t, out), 64, 48); !near(got, want, 6) {
		t.Errorf("converted colour %v; want about %v (sRGB)", got, want)
	}
	if len(appSegments(out)[2]) != 0 {
		t.Error("an ICC profile is left in; sRGB needs none")
	}
}

// patchSOF sets the dimensions in a baseline JPEG's SOF0 header.
func patchSOF(t *testing.T, jpg []byte, w, h uint16) []byte {
	t.Helper()
	out := bytes.Clone(jpg)
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// patchISPE sets the dimensions in every ispe (image spatial extents)
// property of a HEIF file.
func patchISPE(t *testing.T, heic []byte, w, h uint32) []byte {
	t.Helper()
	out := bytes.Clone(heic)
	n := 0
	for i := 0; ; {
		j := bytes.Index(out[i:], []byte("ispe"))
		if j < 0 {
			break
		}
		at := i + j + 4 + 4 // after the type and the version and flags
		binary.BigEndian.PutUint32(out[at:], w)
		binary.BigEndian.PutUint32(out[at+4:], h)
		n++
		i = at
	}
	if n == 0 {
		t.Fatal("no ispe box")
	}
	return out
}

func TestConvertRefusesDecompressionBombs(t *testing.T) {
	t.Parallel()
	c := newConverter(t, convert.Config{MaxBytes: 100}) // every input is over the limit
	jpg := patchSOF(t, encodeJPEG(t, twoColours(64, 48), 90), 60000, 60000)
	heic := patchISPE(t, makeHEIC(t, twoColours(64, 48), 50), 12000, 12000)
	for name, in := range map[string][]byte{"jpeg": jpg, "heic": heic} {
		_, _, err := run(t, c, in)
		var e *convert.Error
		if !errors.As(err, &e) || e.Reason != convert.ReasonTooManyPixels || !errors.Is(err, convert.ErrTooManyPixels) {
			t.Errorf("%s: %v; want a too_many_pixels refusal", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "nothing was decoded") {
			t.Errorf("%s: message %q does not say nothing was decoded", name, err)
		}
	}
}

func TestConvertRefusesDamagedFiles(t *testing.T) {
	t.Parallel()
	c := newConverter(t, convert.Config{MaxBytes: 1000})
	heic := makeHEIC(t, mediagen.Photo(320, 240, 3, 4), 70)
	jpg, _ := photo(t, 320, 240, 20, 95)
	for name, in := range map[string][]byte{
		"heic cut in half": heic[:len(heic)/2],
		"jpeg cut short":   jpg[:len(jpg)*2/3],
	} {
		_, _, err := run(t, c, in)
		if !errors.Is(err, convert.ErrCorrupt) {
			t.Errorf("%s: %v; want a corrupt refusal", name, err)
		}
	}
}

func TestConvertRefusesAnimatedWebP(t *testing.T) {
	t.Parallel()
	anim, err := mediagen.AnimatedGIF(32, 24)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "anim.gif")
	writeFile(t, in, anim)
	webp := makeWebP(t, in+"[n=-1]", 90)
	_, _, err = run(t, newConverter(t, convert.Config{}), webp)
	var e *convert.Error
	if !errors.As(err, &e) || e.Reason != convert.ReasonNotConvertible || !strings.Contains(e.Found, "animated") {
		t.Errorf("animated WebP: %v; want a not_convertible refusal naming the animation", err)
	}
}

func TestConvertWaitsForScratchSpace(t *testing.T) {
	t.Parallel()
	in, _ := photo(t, 300, 200, 8, 95)
	c := newConverter(t, convert.Config{MaxBytes: int64(len(in) - 1), ScratchBytes: int64(len(in) - 1)})
	first, err := c.Convert(context.Background(), bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	if first.BytesAfter*2 <= int64(len(in)-1) {
		t.Fatalf("converted file %d bytes: two fit the budget, the test needs one", first.BytesAfter)
	}
	// The budget holds one converted file: a second conversion waits for
	// its space until the context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Convert(ctx, bytes.NewReader(in), int64(len(in))); !errors.Is(err, context.Canceled) {
		t.Fatalf("second conversion with the budget spent: %v; want it to wait until cancelled", err)
	}
	if err := first.Remove(); err != nil {
		t.Fatal(err)
	}
	second, err := c.Convert(context.Background(), bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatalf("after Remove: %v", err)
	}
	if err := second.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed result's file: %v; want it gone", err)
	}
}

func TestCloseRemovesTheScratchDirectory(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	c, err := convert.New(convert.Config{ScratchDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	heic := makeHEIC(t, mediagen.Photo(64, 48, 4, 4), 50)
	res, err := c.Convert(context.Background(), bytes.NewReader(heic), int64(len(heic)))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(res.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("scratch file: %v, %v; want it there, mode 0600", fi, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("left in the scratch parent after Close: %v", left)
	}
}
