package mediaroot

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpen opens a file two directories below a root, as a worker
// does for each job and an import for each file.
func BenchmarkOpen(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "shop-12", "2024")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "front.jpg")
	if err := os.WriteFile(p, make([]byte, 1000), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := New(root)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, _, err := r.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
