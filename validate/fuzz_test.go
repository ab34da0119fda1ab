package validate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzCheck feeds arbitrary content, declared types and names to Check. It
// must never panic, and its answers must keep the package's promises:
// accepted content is an allowed type within the size limit, under a valid
// name, equal to a non-empty declared type; every rejection is an *Error
// with a known reason and a message (a bytes.Reader never fails to read).
// A Stream fed the same content in pieces of step bytes gives the same
// answer: what Check leaves unread never changes a verdict.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(mediaDir, "*.*"))
	bad, _ := filepath.Glob(filepath.Join(mediaDir, "bad", "*"))
	for _, p := range append(files, bad...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4096 {
			continue
		}
		f.Add(data, filepath.Ext(p)[min(1, len(filepath.Ext(p))):], filepath.Base(p), uint16(len(data)%300))
	}
	f.Add([]byte{}, "", "", uint16(1))
	f.Add(bmpFile(1, 1, 24, 0, 4), "bmp", "x", uint16(7))
	jpg, png, mp4 := readSample(f, "photo.jpg"), readSample(f, "photo.png"), readSample(f, "clip.mp4")
	f.Add(cat(jpg, mp4), "jpg", "motion photo", uint16(64))
	f.Add(cat(png, []byte("trailer")), "", "p", uint16(3))
	// Small limit: exercises too_large on fuzzed inputs too.
	small := newValidator(f, Config{MaxSize: 2048})
	all := newValidator(f, Config{})
	known := reasonTable.Reasons()
	f.Fuzz(func(t *testing.T, data []byte, declared, name string, step uint16) {
		for _, v := range []*Validator{all, small} {
			size := int64(len(data))
			info, err := v.Check(bytes.NewReader(data), size, declared, name)
			sinfo, serr := streamIn(v, data, declared, name, max(int(step), 1))
			if sinfo != info || ReasonOf(serr) != ReasonOf(err) {
				t.Fatalf("Check: %+v, %v; Stream in pieces of %d: %+v, %v", info, err, step, sinfo, serr)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("non-rejection error from an in-memory reader: %v", err)
				}
				if !slices.Contains(known, e.Reason) || e.Error() == "" || e.Field == "" {
					t.Fatalf("bad rejection %#v", e)
				}
				if info != (Info{}) {
					t.Fatalf("rejected with non-zero Info %+v", info)
				}
				continue
			}
			if !slices.Contains(v.allowedTypes(), info.Type) {
				t.Fatalf("accepted type %q not in %v", info.Type, v.allowedTypes())
			}
			if size <= 0 || size > v.MaxSize() || info.Size != size {
				t.Fatalf("accepted size %d (Info.Size %d) with limit %d", size, info.Size, v.MaxSize())
			}
			if declared != "" && CanonicalType(declared) != info.Type {
				t.Fatalf("declared %q accepted as %q", declared, info.Type)
			}
			if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen || v.CheckName(name) != nil {
				t.Fatalf("accepted bad name %q", name)
			}
			if info.MIME != ContentType(info.Type) {
				t.Fatalf("MIME %q for %q", info.MIME, info.Type)
			}
			if info.Type != "mp4" && (info.Width < 0 || info.Height < 0) {
				t.Fatalf("negative dimensions %+v", info)
			}
		}
	})
}

// streamIn checks data as Check does, through a Stream written in pieces of
// step bytes.
func streamIn(v *Validator, data []byte, declared, name string, step int) (Info, error) {
	s, err := v.Begin(int64(len(data)), declared, name)
	if err != nil {
		return Info{}, err
	}
	for p := data; len(p) > 0; {
		k := min(step, len(p))
		if _, err := s.Write(p[:k]); err != nil {
			return Info{}, err
		}
		p = p[k:]
	}
	return s.Finish()
}
