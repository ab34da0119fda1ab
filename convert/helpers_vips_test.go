//go:build vips

package convert_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Test media is made at test time: JPEGs with Go's image/jpeg, HEIC with
// heif-enc (Debian's libheif-examples) and WebP with the vips command
// (libvips-tools), both independent of the code under test. `make deps`
// installs the tools; a missing one fails the test.

// encodeJPEG encodes img with Go's encoder.
func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	b, err := mediagen.Encode("png", img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tool runs a command, failing the test with its output if it fails.
func tool(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s(install it with `make deps`)", name, args, err, out)
	}
}

// makeHEIC encodes img as HEIC with heif-enc at quality q.
func makeHEIC(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	b, err := mediagen.HEIC(img, q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeWebP encodes the image file src (any format vips reads, with its
// options, e.g. "in.gif[n=-1]") as WebP with the vips command.
func makeWebP(t testing.TB, src string, q int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.webp")
	tool(t, "vips", "copy", src, out+"[Q="+strconv.Itoa(q)+"]")
	return readFile(t, out)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newConverter builds a Converter for cfg, closed at the end of the test.
func newConverter(t testing.TB, cfg convert.Config) *convert.Converter {
	t.Helper()
	if cfg.ScratchDir == "" {
		cfg.ScratchDir = t.TempDir()
	}
	c, err := convert.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// run converts data and returns the result, the converted bytes (read
// back from the scratch file, which is then removed) and the error.
func run(t testing.TB, c *convert.Converter, data []byte) (*convert.Result, []byte, error) {
	t.Helper()
	res, err := c.Convert(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	f, err := res.Open()
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Remove(); err != nil {
		t.Fatal(err)
	}
	return res, out, nil
}

// mustConvert is run for inputs that must convert; it also checks that
// validate accepts the converted file, and the record against the bytes.
func mustConvert(t testing.TB, c *convert.Converter, data []byte) (*convert.Result, []byte) {
	t.Helper()
	res, out, err := run(t, c, data)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	accepted(t, out, validate.DefaultMaxSize)
	sum, srcSum := sha256.Sum256(out), sha256.Sum256(data)
	if res.To != "jpg" || res.BytesBefore != int64(len(data)) || res.BytesAfter != int64(len(out)) || res.SHA256 != hex.EncodeToString(sum[:]) ||
		res.SourceSHA256 != hex.EncodeToString(srcSum[:]) {
		t.Errorf("record %+v does not match %d bytes in (sha256 %x), %d bytes out (sha256 %x)", res.Record, len(data), srcSum, len(out), sum)
	}
	return res, out
}

// accepted checks out the way the worker will: validate accepts it as a
// JPEG within limit bytes. It returns validate's Info.
func accepted(t testing.TB, out []byte, limit int64) validate.Info {
	t.Helper()
	v, err := validate.New(validate.Config{MaxSize: limit})
	if err != nil {
		t.Fatal(err)
	}
	info, err := v.Check(bytes.NewReader(out), int64(len(out)), "jpg", "converted.jpg")
	if err != nil {
		t.Fatalf("validate refuses the converted file: %v", err)
	}
	return info
}

func decode(t testing.TB, out []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decoding the converted file: %v", err)
	}
	return img
}

// meanDiff is the mean absolute difference per channel between two
// images of the same size, 0 to 255.
func meanDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c1 := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			c2 := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range []int{int(c1.R) - int(c2.R), int(c1.G) - int(c2.G), int(c1.B) - int(c2.B)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

// rgb returns the colour at (x, y) as 8-bit values.
func rgb(img image.Image, x, y int) [3]int {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return [3]int{int(c.R), int(c.G), int(c.B)}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// appSegments returns the payloads of a JPEG's APPn segments (marker
// 0xE0+n) before the first scan.
func appSegments(jpg []byte) map[byte][][]byte {
	out := map[byte][][]byte{}
	for i := 2; i+4 <= len(jpg) && jpg[i] == 0xFF; {
		m := jpg[i+1]
		if m == 0xDA { // start of scan: no more headers
			break
		}
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if i+2+n > len(jpg) {
			break
		}
		if m >= 0xE0 && m <= 0xEF {
			out[m-0xE0] = append(out[m-0xE0], jpg[i+4:i+2+n])
		}
		i += 2 + n
	}
	return out
}

// exifIFD0Tags returns the tags of IFD0 in an EXIF APP1 payload
// ("Exif\0\0" and a TIFF structure).
func exifIFD0Tags(t testing.TB, app1 []byte) map[uint16][]byte {
	t.Helper()
	if !bytes.HasPrefix(app1, []byte("Exif\x00\x00")) {
		t.Fatalf("APP1 is not EXIF: %q", app1[:min(len(app1), 8)])
	}
	tiff := app1[6:]
	var bo binary.ByteOrder = binary.LittleEndian
	if string(tiff[:2]) == "MM" {
		bo = binary.BigEndian
	}
	at := int(bo.Uint32(tiff[4:]))
	n := int(bo.Uint16(tiff[at:]))
	tags := map[uint16][]byte{}
	for i := range n {
		e := tiff[at+2+12*i : at+2+12*i+12]
		tags[bo.Uint16(e)] = e[8:12]
	}
	return tags
}

// twoColours is a w×h picture, the left half red and the right half blue.
func twoColours(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 30, 30, 255}
			if x >= w/2 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// photo is a mediagen.Photo as a JPEG at quality q. Pictures of more
// than a megapixel are encoded by the vips command from a PPM (Go's
// encoder takes ten times as long under the race detector); smaller ones
// by Go's image/jpeg.
func photo(t testing.TB, w, h, grain, q int) ([]byte, image.Image) {
	t.Helper()
	img := mediagen.Photo(w, h, uint64(w*h+grain), grain)
	if w*h <= 1_000_000 {
		return encodeJPEG(t, img, q), img
	}
	b, err := mediagen.CameraJPEG(img, q, mediagen.EXIF{})
	if err != nil {
		t.Fatal(err)
	}
	return b, img
}
