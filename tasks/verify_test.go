package tasks

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestVerifyingReaderPassesMatchingContent(t *testing.T) {
	t.Parallel()
	content := strings.Repeat("media bytes ", 1000)
	r := newVerifyingReader(iotest.OneByteReader(strings.NewReader(content)), int64(len(content)), sum(content), nil)
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(got) != content {
		t.Fatal("content altered")
	}
	if err := iotest.TestReader(newVerifyingReader(strings.NewReader(content), int64(len(content)), sum(content), nil), []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyingReaderStopsAtSize(t *testing.T) {
	t.Parallel()
	// The file grew after enqueue: only the recorded bytes are read.
	r := newVerifyingReader(strings.NewReader("helloEXTRA"), 5, sum("hello"), nil)
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v; want hello, nil", got, err)
	}
}

func TestVerifyingReaderDetectsChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		size          int64
		text          string
	}{
		{"modified", "jello", 5, "sha256 differs"},
		{"shorter", "hell", 5, "after 4 of 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newVerifyingReader(strings.NewReader(tt.content), tt.size, sum("hello"), nil)
			var dst bytes.Buffer
			// io.CopyN stops after size bytes and ignores an error that
			// comes with the last of them: the reader must withhold it.
			n, err := io.CopyN(&dst, r, tt.size)
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("CopyN err = %v, want ErrChanged", err)
			}
			if n >= tt.size {
				t.Errorf("CopyN wrote %d bytes, want fewer than %d", n, tt.size)
			}
			if !strings.Contains(err.Error(), "changed since enqueue") || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %q", err)
			}
			// Sticky.
			if _, err2 := r.Read(make([]byte, 1)); !errors.Is(err2, ErrChanged) {
				t.Errorf("second Read err = %v", err2)
			}
		})
	}
}

func TestVerifyingReaderPassesReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	r := newVerifyingReader(iotest.ErrReader(boom), 5, sum("hello"), nil)
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

// With a structure check, a file whose structure is only known broken at
// its end (cut short) loses its last bytes too, like a hash mismatch; one
// that is fine passes whole.
func TestVerifyingReaderChecksStructure(t *testing.T) {
	t.Parallel()
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	good := mediagen.Sample("jpg", 1)
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"whole", good, nil},
		{"cut short", good[:len(good)-2], validate.ErrCorrupt},
	} {
		for _, primed := range []bool{false, true} {
			size := int64(len(c.data))
			check, err := v.Begin(size, "", "x")
			if err != nil {
				t.Fatal(err)
			}
			r := newVerifyingReader(iotest.HalfReader(bytes.NewReader(c.data)), size, sum(string(c.data)), check)
			if primed {
				err := r.prime(make([]byte, 100))
				if err != nil {
					t.Fatalf("%s: prime: %v", c.name, err)
				}
			}
			var dst bytes.Buffer
			n, err := io.CopyN(&dst, r, size)
			if c.want == nil {
				if err != nil || !bytes.Equal(dst.Bytes(), c.data) {
					t.Errorf("%s (primed %v): %d bytes, %v", c.name, primed, n, err)
				}
				continue
			}
			if !errors.Is(err, c.want) || n >= size {
				t.Errorf("%s (primed %v): copied %d of %d bytes, err %v; want fewer and %v", c.name, primed, n, size, err, c.want)
			}
		}
	}
	// A file that fits the first piece is verified by prime alone.
	bad := good[:len(good)-2]
	check, _ := v.Begin(int64(len(bad)), "", "x")
	r := newVerifyingReader(bytes.NewReader(bad), int64(len(bad)), sum(string(bad)), check)
	if err := r.prime(make([]byte, 64<<10)); !errors.Is(err, validate.ErrCorrupt) {
		t.Errorf("prime of a whole broken file: %v", err)
	}
}
