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
		f.Add(data, filepath.Ext(p)[min(1, len(filepath.Ext(p))):], filepath.Base(p))
	}
	f.Add([]byte{}, "", "")
	f.Add(bmpFile(1, 1, 24, 0, 4), "bmp", "x")
	// Small limit: exercises too_large on fuzzed inputs too.
	small := newValidator(f, Config{MaxSize: 2048})
	all := newValidator(f, Config{})
	known := Reasons()
	f.Fuzz(func(t *testing.T, data []byte, declared, name string) {
		for _, v := range []*Validator{all, small} {
			size := int64(len(data))
			info, err := v.Check(bytes.NewReader(data), size, declared, name)
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
			if !slices.Contains(v.Allowed(), info.Type) {
				t.Fatalf("accepted type %q not in %v", info.Type, v.Allowed())
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
