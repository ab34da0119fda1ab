package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/storemedia/alipay-media-worker/validate"
)

func templates(t testing.TB) (mp4, mov []byte) {
	t.Helper()
	mp4, err := os.ReadFile(filepath.Join("..", "..", "testdata", "media", "clip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	mov, err = os.ReadFile(filepath.Join("..", "..", "testdata", "media", "bad", "quicktime.mov"))
	if err != nil {
		t.Fatal(err)
	}
	return mp4, mov
}

func TestGenerateSetMatchesTheValidator(t *testing.T) {
	t.Parallel()
	mp4, mov := templates(t)
	dir := t.TempDir()
	set, err := GenerateSet(dir, SetConfig{Files: 130, Seed: 7, MP4: mp4, MOV: mov})
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 130 {
		t.Fatalf("got %d samples, want 130", len(set))
	}
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	types := map[string]int{}
	reasons := map[validate.Reason]int{}
	direct := 0
	for _, s := range set {
		data, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != s.Size {
			t.Errorf("%s: size %d, sample says %d", s.Path, len(data), s.Size)
		}
		info, err := v.Check(bytes.NewReader(data), int64(len(data)), s.DeclaredType, filepath.Base(s.Path))
		if s.Valid {
			if err != nil {
				t.Errorf("%s: valid sample rejected: %v", s.Path, err)
			} else if info.Type != s.Type {
				t.Errorf("%s: detected %s, sample says %s", s.Path, info.Type, s.Type)
			}
			if seen[s.SHA256] {
				t.Errorf("%s: content not unique", s.Path)
			}
			seen[s.SHA256] = true
			types[s.Type]++
			continue
		}
		if got := validate.ReasonOf(err); got != s.Reason {
			t.Errorf("%s: reason %q (%v), sample says %q", s.Path, got, err, s.Reason)
		}
		reasons[s.Reason]++
		if s.Direct {
			direct++
			if seen[s.SHA256] {
				t.Errorf("%s: direct sample content not unique", s.Path)
			}
			seen[s.SHA256] = true
		}
	}
	for _, typ := range []string{"jpg", "png", "gif", "bmp", "mp4"} {
		if types[typ] == 0 {
			t.Errorf("no valid %s sample", typ)
		}
	}
	for _, r := range []validate.Reason{validate.ReasonCorrupt, validate.ReasonUnsupportedType, validate.ReasonEmpty, validate.ReasonTooLarge, validate.ReasonTypeMismatch} {
		if reasons[r] == 0 {
			t.Errorf("no invalid sample with reason %s", r)
		}
	}
	if direct == 0 {
		t.Error("no direct samples")
	}
}
