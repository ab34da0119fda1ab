package demo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/storemedia/alipay-media-worker/validate"
)

// TestWriteMediaMatchesSamples checks every generated file with the real
// validator: good files pass with the right type, broken ones fail with the
// reason the demo expects.
func TestWriteMediaMatchesSamples(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := WriteMedia(root); err != nil {
		t.Fatal(err)
	}
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	wantType := map[string]string{
		"store/storefront.jpg": "jpg", "store/menu-board.png": "png", "store/logo.gif": "gif",
		"store/counter.bmp": "bmp", "store/walkthrough.mp4": "mp4", "merchant/shop-sign.jpg": "jpg",
	}
	for _, s := range Samples() {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(s.Path)))
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		info, err := v.Check(f, st.Size(), "", filepath.Base(s.Path))
		f.Close()
		if s.State == "rejected" {
			if got := validate.ReasonOf(err); string(got) != s.Reason {
				t.Errorf("%s: reason %q (err %v), want %q", s.Path, got, err, s.Reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: rejected: %v", s.Path, err)
			continue
		}
		if info.Type != wantType[s.Path] {
			t.Errorf("%s: type %q, want %q", s.Path, info.Type, wantType[s.Path])
		}
	}
}

func TestWriteMediaIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	if err := WriteMedia(a); err != nil {
		t.Fatal(err)
	}
	if err := WriteMedia(b); err != nil {
		t.Fatal(err)
	}
	for _, s := range Samples() {
		x, _ := os.ReadFile(filepath.Join(a, s.Path))
		y, _ := os.ReadFile(filepath.Join(b, s.Path))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", s.Path)
		}
	}
}
