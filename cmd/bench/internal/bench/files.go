package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// writeFiles writes n unique JPEGs of size bytes ([mediagen.JPEGOfSize])
// into dir and returns their paths.
func writeFiles(dir string, size int64, n int, seed uint64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	paths := make([]string, n)
	for i := range n {
		data, err := mediagen.JPEGOfSize(size, seed<<20|uint64(i))
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%05d.jpg", i))
		if err := os.WriteFile(paths[i], data, 0o644); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return paths, nil
}
