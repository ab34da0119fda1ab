package convert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// scratch is a private directory holding converted files under a byte
// budget. A write waits until its bytes fit in the budget; release deletes
// a file and gives its bytes back.
type scratch struct {
	dir    string
	budget int64

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed (and replaced) whenever bytes are given back
}

func newScratch(parent string, budget int64) (*scratch, error) {
	dir, err := os.MkdirTemp(parent, "alipay-media-convert-")
	if err != nil {
		return nil, fmt.Errorf("convert: creating the scratch directory: %w", err)
	}
	return &scratch{dir: dir, budget: budget, freed: make(chan struct{})}, nil
}

// reserve takes n bytes of the budget, waiting for them as long as ctx
// allows.
func (s *scratch) reserve(ctx context.Context, n int64) error {
	if n > s.budget {
		return fmt.Errorf("convert: a %d-byte file cannot fit the %d-byte scratch budget", n, s.budget)
	}
	for {
		s.mu.Lock()
		if s.used+n <= s.budget {
			s.used += n
			s.mu.Unlock()
			return nil
		}
		freed := s.freed
		s.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("convert: waiting for %d bytes of scratch space (%d of %d in use): %w", n, s.usedBytes(), s.budget, ctx.Err())
		}
	}
}

func (s *scratch) give(n int64) {
	s.mu.Lock()
	s.used -= n
	close(s.freed)
	s.freed = make(chan struct{})
	s.mu.Unlock()
}

func (s *scratch) usedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// write stores data in a new file of its own and returns the file's path.
func (s *scratch) write(ctx context.Context, data []byte) (string, error) {
	n := int64(len(data))
	if err := s.reserve(ctx, n); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.dir, "*.jpg") // mode 0600, never an existing file
	if err != nil {
		s.give(n)
		return "", fmt.Errorf("convert: creating a scratch file: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		s.give(n)
		return "", errors.Join(fmt.Errorf("convert: writing scratch file %s: %w", f.Name(), err), os.Remove(f.Name()))
	}
	return f.Name(), nil
}

// release deletes a file write made and gives its n bytes back. The bytes
// come back even if the file is already gone.
func (s *scratch) release(path string, n int64) error {
	defer s.give(n)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("convert: removing scratch file: %w", err)
	}
	return nil
}

// close removes the directory and everything in it.
func (s *scratch) close() error {
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("convert: removing the scratch directory: %w", err)
	}
	return nil
}
