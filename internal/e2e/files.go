package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Sample is one generated file and what should become of it.
type Sample struct {
	// Path is the absolute path of the file.
	Path string
	// Type is the format the content is (jpg, png, gif, bmp, mp4, mov,
	// text), whatever the file's extension.
	Type string
	// Size and SHA256 describe the content.
	Size   int64
	SHA256 string
	// Valid files must end completed, with a result naming an upload the
	// gateway recorded with this SHA256.
	Valid bool
	// Reason is the validator's reason for an invalid file.
	Reason validate.Reason
	// Direct invalid files are queued straight to Redis, bypassing the
	// importer's local check, as a producer that does not check would:
	// the worker must archive them with Reason in the error. The other
	// invalid files must be rejected by the importer before queueing.
	Direct bool
	// DeclaredType, when set, is the image_type a direct task declares.
	DeclaredType string
}

// SetConfig describes a mixed set of files.
type SetConfig struct {
	// Files is the total number of files. At least 20.
	Files int
	// Seed makes the set reproducible; the same seed gives the same bytes.
	Seed uint64
	// MP4 is a valid MP4 to derive videos from (testdata/media/clip.mp4).
	// Required.
	MP4 []byte
	// MOV is a QuickTime movie (testdata/media/bad/quicktime.mov).
	// Required.
	MOV []byte
}

// Sub-directories of a generated set: the importer walks ImportDir; the
// files in DirectDir are queued one by one without the local check.
const (
	ImportDir = "import"
	DirectDir = "direct"
)

// GenerateSet writes a mixed set of small files under dir (a media root):
// about four in five are valid files of every format (jpg, jpeg-named jpg,
// png, gif, bmp, mp4), each with unique content so each gets its own task;
// the rest are invalid: truncated files of every format, text named .jpg,
// an empty file, a QuickTime movie, a file over 5 MiB (these are in
// [ImportDir], for the importer to reject), and truncated or mislabelled
// files in [DirectDir] for direct queueing.
func GenerateSet(dir string, cfg SetConfig) ([]Sample, error) {
	if cfg.Files < 20 {
		return nil, fmt.Errorf("chaos: a set needs at least 20 files, not %d", cfg.Files)
	}
	if len(cfg.MP4) == 0 || len(cfg.MOV) == 0 {
		return nil, errors.New("chaos: SetConfig needs the MP4 and MOV templates")
	}
	g := &generator{dir: dir, cfg: cfg}
	for _, d := range []string{ImportDir, DirectDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	invalid := cfg.Files / 5
	if invalid < 12 {
		invalid = 12
	}
	valid := cfg.Files - invalid
	formats := []string{"jpg", "png", "gif", "bmp", "mp4", "jpeg"}
	for i := 0; i < valid; i++ {
		f := formats[i%len(formats)]
		data, typ, err := g.valid(f, i)
		if err != nil {
			return nil, err
		}
		if err := g.add(ImportDir, fmt.Sprintf("valid-%04d.%s", i, f), typ, data, true, "", false, ""); err != nil {
			return nil, err
		}
	}
	// Invalid files, in a fixed rotation so every kind appears.
	kinds := []func(i int) error{
		func(i int) error { return g.truncated(ImportDir, "jpg", i, false) },
		func(i int) error { return g.truncated(DirectDir, "png", i, true) },
		func(i int) error { return g.truncated(ImportDir, "gif", i, false) },
		func(i int) error { return g.truncated(DirectDir, "bmp", i, true) },
		func(i int) error { return g.truncated(ImportDir, "mp4", i, false) },
		func(i int) error {
			text := fmt.Sprintf("not a photo, just text number %d\n", i)
			return g.add(ImportDir, fmt.Sprintf("bad-%04d-text.jpg", i), "text", []byte(text), false, validate.ReasonUnsupportedType, false, "")
		},
		func(i int) error { return g.truncated(DirectDir, "jpg", i, true) },
		func(i int) error {
			mov := freeBoxed(cfg.MOV, g.cfg.Seed, i)
			return g.add(ImportDir, fmt.Sprintf("bad-%04d-quicktime.mov", i), "mov", mov, false, validate.ReasonUnsupportedType, false, "")
		},
		func(i int) error { return g.truncated(DirectDir, "mp4", i, true) },
		func(i int) error {
			// A PNG queued as image_type jpg.
			data, _, err := g.valid("png", 100000+i)
			if err != nil {
				return err
			}
			return g.add(DirectDir, fmt.Sprintf("bad-%04d-png-as.jpg", i), "png", data, false, validate.ReasonTypeMismatch, true, "jpg")
		},
		func(i int) error {
			return g.add(ImportDir, fmt.Sprintf("bad-%04d-empty.jpg", i), "jpg", nil, false, validate.ReasonEmpty, false, "")
		},
		func(i int) error { return g.truncated(ImportDir, "bmp", i, false) },
	}
	for i := 0; i < invalid; i++ {
		kind := i % len(kinds)
		if kind == 10 && i >= len(kinds) {
			// One empty file is enough (every empty file has the same
			// content); later turns write one over the size limit.
			if err := g.tooLarge(i); err != nil {
				return nil, err
			}
			continue
		}
		if err := kinds[kind](i); err != nil {
			return nil, err
		}
	}
	return g.samples, nil
}

type generator struct {
	dir     string
	cfg     SetConfig
	samples []Sample
}

func (g *generator) add(sub, name, typ string, data []byte, valid bool, reason validate.Reason, direct bool, declared string) error {
	path := filepath.Join(g.dir, sub, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	sum := sha256.Sum256(data)
	g.samples = append(g.samples, Sample{
		Path: path, Type: typ, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		Valid: valid, Reason: reason, Direct: direct, DeclaredType: declared,
	})
	return nil
}

func (g *generator) tooLarge(i int) error {
	path := filepath.Join(g.dir, ImportDir, fmt.Sprintf("bad-%04d-huge.jpg", i))
	head, _, err := g.valid("jpg", 200000+i)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	const size = validate.DefaultMaxSize + 1
	h := sha256.New()
	// A JPEG head followed by zeros: the size alone disqualifies it.
	h.Write(head)
	zeros := make([]byte, size-int64(len(head)))
	h.Write(zeros)
	if _, err := f.Write(head); err == nil {
		_, err = f.Write(zeros)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	g.samples = append(g.samples, Sample{
		Path: path, Type: "jpg", Size: size, SHA256: hex.EncodeToString(h.Sum(nil)),
		Reason: validate.ReasonTooLarge,
	})
	return nil
}

func (g *generator) truncated(sub, format string, i int, direct bool) error {
	data, typ, err := g.valid(format, 300000+i)
	if err != nil {
		return err
	}
	if format == "mp4" {
		data = data[:len(data)-4] // the last (free) box overruns the file
	} else {
		data = data[:len(data)/2]
	}
	name := fmt.Sprintf("bad-%04d-truncated.%s", i, format)
	return g.add(sub, name, typ, data, false, validate.ReasonCorrupt, direct, "")
}

// valid returns a small valid file of the format, unique for (seed, i):
// a mediagen sample, or for mp4 the MP4 template with a free box naming
// the file.
func (g *generator) valid(format string, i int) ([]byte, string, error) {
	switch format {
	case "jpg", "jpeg", "png", "gif", "bmp":
		rng := rand.New(rand.NewPCG(g.cfg.Seed, uint64(i)+1))
		return mediagen.Sample(format, rng.Uint64()), validate.CanonicalType(format), nil
	case "mp4":
		return freeBoxed(g.cfg.MP4, g.cfg.Seed, i), format, nil
	default:
		return nil, "", fmt.Errorf("chaos: no generator for %q", format)
	}
}

// freeBoxed appends to a copy of an MP4 (or QuickTime) movie a top-level
// "free" box whose body names the file, which players skip: it keeps the
// file valid and makes its content unique.
func freeBoxed(movie []byte, seed uint64, i int) []byte {
	box := mediagen.Box("free", fmt.Appendf(nil, "%d chaos %d", i, seed))
	return append(append([]byte(nil), movie...), box...)
}
