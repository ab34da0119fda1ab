package convert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func newTestScratch(t *testing.T, budget int64) *scratch {
	t.Helper()
	s, err := newScratch(t.TempDir(), budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.close() })
	return s
}

func TestScratchWriteAndRelease(t *testing.T) {
	t.Parallel()
	s := newTestScratch(t, 10)
	path, err := s.write(context.Background(), []byte("0123456"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != s.dir {
		t.Errorf("file %s is outside the scratch directory %s", path, s.dir)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("scratch file: %v, %v; want mode 0600", fi, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, []byte("0123456")) {
		t.Errorf("file holds %q", got)
	}
	if s.usedBytes() != 7 {
		t.Errorf("%d bytes in use; want 7", s.usedBytes())
	}
	if err := s.release(path, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after release: %v; want the file gone", err)
	}
	if s.usedBytes() != 0 {
		t.Errorf("%d bytes in use after release; want 0", s.usedBytes())
	}
	// Releasing a file someone else already deleted still gives the bytes back.
	path, err = s.write(context.Background(), []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := s.release(path, 3); err != nil || s.usedBytes() != 0 {
		t.Errorf("release of a vanished file: %v, %d bytes in use; want nil, 0", err, s.usedBytes())
	}
}

func TestScratchWaitsForItsBudget(t *testing.T) {
	t.Parallel()
	s := newTestScratch(t, 10)
	first, err := s.write(context.Background(), make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	// With 8 of 10 bytes taken, a 5-byte write waits: a cancelled context
	// ends the wait, and nothing is written.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.write(ctx, make([]byte, 5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("write over the budget with a cancelled context: %v; want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) != 1 {
		t.Errorf("%d files in the scratch directory; want only the first", len(entries))
	}
	// A waiting write goes ahead once the first file is released.
	done := make(chan error, 1)
	go func() {
		p, err := s.write(context.Background(), make([]byte, 5))
		if err == nil {
			err = s.release(p, 5)
		}
		done <- err
	}()
	if err := s.release(first, 8); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the waiting write: %v", err)
	}
	if s.usedBytes() != 0 {
		t.Errorf("%d bytes in use at the end; want 0", s.usedBytes())
	}
}

func TestScratchRefusesAFileOverTheWholeBudget(t *testing.T) {
	t.Parallel()
	s := newTestScratch(t, 10)
	if _, err := s.write(context.Background(), make([]byte, 11)); err == nil {
		t.Fatal("an 11-byte write into a 10-byte budget succeeded; it must fail at once instead of waiting forever")
	}
	if s.usedBytes() != 0 {
		t.Errorf("%d bytes in use; want 0", s.usedBytes())
	}
}

func TestScratchCloseRemovesEverything(t *testing.T) {
	t.Parallel()
	s := newTestScratch(t, 10)
	if _, err := s.write(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scratch directory after close: %v; want it gone", err)
	}
}
