package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/internal/e2e"
)

// A mixed set of 40 files: valid ones of every format, invalid ones for
// the importer to reject, and invalid ones to queue directly.
func ExampleGenerateSet() {
	dir, err := os.MkdirTemp("", "chaos-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	mp4, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "media", "clip.mp4"))
	mov, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "media", "bad", "quicktime.mov"))
	set, err := e2e.GenerateSet(dir, e2e.SetConfig{Files: 40, Seed: 1, MP4: mp4, MOV: mov})
	if err != nil {
		panic(err)
	}
	var valid, rejected, direct int
	for _, s := range set {
		switch {
		case s.Valid:
			valid++
		case s.Direct:
			direct++
		default:
			rejected++
		}
	}
	fmt.Println(valid, "valid,", rejected, "for the importer to reject,", direct, "to queue directly")
	// Output: 28 valid, 7 for the importer to reject, 5 to queue directly
}
