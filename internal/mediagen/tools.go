package mediagen

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrTool reports that an encoding tool (heif-enc, the vips command) is
// missing or failed. `make deps` installs them: Debian's libheif-examples
// and libvips-tools.
var ErrTool = errors.New("mediagen: encoding tool failed")

// HEIC encodes img as HEIC at quality q (1 to 100) with heif-enc, from
// Debian's libheif-examples, using x265's ultrafast preset: seconds instead
// of minutes for a 24-megapixel photo, the same format as a phone's.
func HEIC(img image.Image, q int) ([]byte, error) {
	return withTool(func(dir string) (string, error) {
		in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.heic")
		if err := writeFile(in, func(w *bufio.Writer) error {
			return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
		}); err != nil {
			return "", err
		}
		return out, run("heif-enc", "-q", strconv.Itoa(q), "-p", "preset=ultrafast", "-o", out, in)
	})
}

// WebP encodes img as a lossy WebP at quality q with the vips command
// (Debian's libvips-tools).
func WebP(img image.Image, q int) ([]byte, error) {
	return viaPPM(img, "out.webp[Q="+strconv.Itoa(q)+"]")
}

// CameraJPEG encodes img as a baseline JPEG at quality q, as a camera
// does, with the vips command (ten times faster than image/jpeg under the
// race detector, which matters for 24 megapixels), then adds e with
// [AddEXIF] unless e is zero. Photo(w, h, seed, grain) at quality 95
// gives about 1 to 7 bits a pixel as grain grows from 0 to 60.
func CameraJPEG(img image.Image, q int, e EXIF) ([]byte, error) {
	b, err := viaPPM(img, "out.jpg[Q="+strconv.Itoa(q)+",strip]")
	if err != nil || e == (EXIF{}) {
		return b, err
	}
	return AddEXIF(b, e)
}

// viaPPM writes img as a binary PPM and converts it with `vips copy` to
// target, a file name in the same directory with vips' save options.
func viaPPM(img image.Image, target string) ([]byte, error) {
	return withTool(func(dir string) (string, error) {
		in := filepath.Join(dir, "in.ppm")
		if err := writeFile(in, func(w *bufio.Writer) error { return writePPM(w, img) }); err != nil {
			return "", err
		}
		out := filepath.Join(dir, target)
		if err := run("vips", "copy", in, out); err != nil {
			return "", err
		}
		name, _, _ := strings.Cut(target, "[")
		return filepath.Join(dir, name), nil
	})
}

// writePPM writes img as a binary (P6) PPM, composited over black.
func writePPM(w *bufio.Writer, img image.Image) error {
	r := img.Bounds()
	fmt.Fprintf(w, "P6\n%d %d\n255\n", r.Dx(), r.Dy())
	if rgba, ok := img.(*image.RGBA); ok {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := rgba.Pix[rgba.PixOffset(r.Min.X, y):rgba.PixOffset(r.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				w.Write(row[i : i+3])
			}
		}
		return nil
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			w.Write([]byte{c.R, c.G, c.B})
		}
	}
	return nil
}

// withTool runs produce in a temporary directory, returns the bytes of the
// file it names, and removes the directory.
func withTool(produce func(dir string) (string, error)) ([]byte, error) {
	dir, err := os.MkdirTemp("", "mediagen-")
	if err != nil {
		return nil, fmt.Errorf("mediagen: %w", err)
	}
	defer os.RemoveAll(dir)
	out, err := produce(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("mediagen: %w", err)
	}
	return b, nil
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("mediagen: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = errors.Join(write(w), w.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("mediagen: writing %s: %w", path, err)
	}
	return nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s %v: %v: %s (install it with `make deps`)", ErrTool, name, args, err, out)
	}
	return nil
}
