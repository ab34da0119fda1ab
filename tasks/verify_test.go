package tasks

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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
