package validate

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/bmp"
)

// The corpus test takes public sample files nobody here wrote (the Go
// distribution's image test data, PngSuite, golang.org/x/image's test data)
// and uses the decoders as the oracle: a file is accepted exactly when the
// standard library's decoder (plus x/image/bmp) decodes it completely.
// Besides each file as it is, it checks the file cut short at several
// points (refused by both, by the walk as corrupt) and the file with bytes
// appended after its end (accepted by both).

// knownDifferences are corpus files the decoder refuses for what is inside
// their compressed data, whose structure is whole: the walk does not
// inflate or decode, so it accepts them. Each says why.
var knownDifferences = map[string]string{
	"png/testdata/invalid-zlib.png": "its IDAT chunks have the right lengths and CRCs, but the zlib stream inside them has a wrong Adler-32 checksum: only inflating the data shows it",
}

// corpusDirs are the directories of the corpus, each with the prefix its
// files are known by in knownDifferences.
func corpusDirs(t *testing.T) map[string]string {
	t.Helper()
	goTool := filepath.Join(goEnv(t, "GOROOT"), "bin", "go")
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output()
	xdir := strings.TrimSpace(string(out))
	if err != nil || xdir == "" {
		t.Fatalf("go list -m golang.org/x/image: %q, %v (the test imports it, so its module must be present)", out, err)
	}
	image := filepath.Join(goEnv(t, "GOROOT"), "src", "image")
	return map[string]string{
		filepath.Join(image, "testdata"):                    "image/testdata/",
		filepath.Join(image, "png", "testdata"):             "png/testdata/",
		filepath.Join(image, "png", "testdata", "pngsuite"): "png/testdata/pngsuite/",
		filepath.Join(xdir, "testdata"):                     "x/image/testdata/",
	}
}

var goEnvCache sync.Map

func goEnv(t *testing.T, name string) string {
	t.Helper()
	if v, ok := goEnvCache.Load(name); ok {
		return v.(string)
	}
	out, err := exec.Command("go", "env", name).Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		t.Fatalf("go env %s: %q, %v", name, out, err)
	}
	goEnvCache.Store(name, v)
	return v
}

// oracle decodes data completely with the decoder for its extension and
// returns the image's size (a GIF's logical screen), or the decoder's
// error. ok is false for an extension that is not an image format the
// test knows.
func oracle(ext string, data []byte) (w, h int, err error, ok bool) {
	var cfg image.Config
	switch ext {
	case ".jpeg", ".jpg":
		if _, err = jpeg.Decode(bytes.NewReader(data)); err == nil {
			cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		}
	case ".png":
		if _, err = png.Decode(bytes.NewReader(data)); err == nil {
			cfg, err = png.DecodeConfig(bytes.NewReader(data))
		}
	case ".gif":
		var g *gif.GIF
		if g, err = gif.DecodeAll(bytes.NewReader(data)); err == nil {
			cfg = g.Config
		}
	case ".bmp":
		if _, err = bmp.Decode(bytes.NewReader(data)); err == nil {
			cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
		}
	default:
		return 0, 0, nil, false
	}
	return cfg.Width, cfg.Height, err, true
}

// checkBoth checks data with Check and, in pieces of step bytes, with a
// Stream, and fails the test if the two disagree.
func checkBoth(t *testing.T, v *Validator, data []byte, step int) (Info, error) {
	t.Helper()
	info, err := v.Check(bytes.NewReader(data), int64(len(data)), "", "corpus")
	sinfo, serr := streamIn(v, data, "", "corpus", step)
	if ReasonOf(err) != ReasonOf(serr) || info != sinfo {
		t.Errorf("Check gives %+v, %v; a Stream in %d-byte pieces gives %+v, %v", info, err, step, sinfo, serr)
	}
	return info, err
}

func TestCorpusAgainstDecoders(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{MaxSize: 64 << 20})
	files, unsupported := 0, 0
	for dir, prefix := range corpusDirs(t) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("corpus: %v", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			name := prefix + e.Name()
			ext := strings.ToLower(filepath.Ext(e.Name()))
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			switch ext {
			case ".webp", ".tif", ".tiff":
				// Formats Alipay does not take: refused as such.
				unsupported++
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					_, err := checkBoth(t, v, data, 4096)
					wantReason(t, err, ReasonUnsupportedType)
				})
				continue
			}
			if _, _, _, ok := oracle(ext, data); !ok {
				continue // .sng sources, READMEs, .bz2 archives
			}
			files++
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				corpusFile(t, v, name, ext, data)
			})
		}
	}
	// A corpus that went missing or moved must not pass unnoticed.
	if files < 130 || unsupported < 30 {
		t.Errorf("the corpus has %d images and %d WebP/TIFF files; expected at least 130 and 30", files, unsupported)
	}
}

// corpusFile compares the walk with the decoder on one corpus file, on
// cuts of it and on it with bytes appended.
func corpusFile(t *testing.T, v *Validator, name, ext string, data []byte) {
	w, h, derr, _ := oracle(ext, data)
	info, err := checkBoth(t, v, data, 1000)
	if why, known := knownDifferences[name]; known {
		if derr == nil || err != nil {
			t.Fatalf("listed as a known difference (%s), but the decoder says %v and Check %v", why, derr, err)
		}
		t.Logf("known difference: the decoder refuses it (%v) and the walk accepts it: %s", derr, why)
		return
	}
	switch {
	case derr == nil && err != nil:
		t.Fatalf("the decoder decodes it but Check refuses it: %v", err)
	case derr != nil && err == nil:
		t.Fatalf("the decoder refuses it (%v) but Check accepts it", derr)
	case derr != nil:
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("refused with %v, not a rejection", err)
		}
		t.Logf("refused by both: decoder %v; Check %v", derr, err)
		return
	}
	if info.Width != w || info.Height != h {
		t.Errorf("Check gives %dx%d, the decoder %dx%d", info.Width, info.Height, w, h)
	}

	// Cut short anywhere before its end marker, the file is refused by
	// the decoder, and refused by the walk as corrupt.
	for _, cut := range []int{len(data) / 4, len(data) / 2, len(data) * 3 / 4, len(data) - 2, len(data) - 1} {
		part := data[:cut]
		_, _, derr, _ := oracle(ext, part)
		_, err := checkBoth(t, v, part, 777)
		if (derr == nil) != (err == nil) {
			t.Errorf("cut to %d of %d bytes: the decoder says %v, Check %v", cut, len(data), derr, err)
		} else if err != nil && ReasonOf(err) != ReasonCorrupt {
			t.Errorf("cut to %d of %d bytes: reason %q, want corrupt (%v)", cut, len(data), ReasonOf(err), err)
		}
	}

	// What follows the end marker does not matter, to the decoder or to
	// the walk.
	tail := append(append(bytes.Clone(data), make([]byte, 1000)...), "trailing bytes \xff\xd8\xff\x00"...)
	_, _, derr, _ = oracle(ext, tail)
	tinfo, err := checkBoth(t, v, tail, 4096)
	if derr != nil || err != nil {
		t.Errorf("with %d bytes appended: the decoder says %v, Check %v", len(tail)-len(data), derr, err)
	} else if tinfo.Width != w || tinfo.Height != h || tinfo.Type != info.Type {
		t.Errorf("with bytes appended: %+v, want %+v but %d bytes", tinfo, info, len(tail))
	}
}
