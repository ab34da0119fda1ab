package convert_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/validate"
)

// The README and the package documentation restate the defaults; this
// keeps them true.
func TestDocsStateTheDefaults(t *testing.T) {
	t.Parallel()
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme := read(filepath.Join("..", "README.md"))
	start := strings.Index(readme, "### Converting phone photos")
	if start < 0 {
		t.Fatal("README.md has no conversion section")
	}
	section := readme[start:]
	section = section[:strings.Index(section, "\n## ")]
	doc := read("doc.go")
	for _, c := range []struct{ where, text, want string }{
		{"README", section, fmt.Sprintf("from %d to %d", convert.DefaultMinQuality, convert.DefaultMaxQuality)},
		{"README", section, fmt.Sprintf("quality %d does not fit", convert.DefaultMinQuality)},
		{"README", section, fmt.Sprintf("over %d MB", validate.DefaultMaxSize>>20)},
		{"doc.go", doc, fmt.Sprintf("Config.MinQuality (%d)", convert.DefaultMinQuality)},
		{"doc.go", doc, fmt.Sprintf("Config.MaxQuality (%d)", convert.DefaultMaxQuality)},
		{"doc.go", doc, fmt.Sprintf("(%d by default)", convert.DefaultConcurrency)},
		{"doc.go", doc, fmt.Sprintf("Config.MaxMemory (%d MiB by default)", convert.DefaultMaxMemory>>20)},
		{"doc.go", doc, fmt.Sprintf("(Config.ScratchBytes, %d MiB)", convert.DefaultScratchBytes>>20)},
		{"doc.go", doc, "5,242,880 bytes, [validate.DefaultMaxSize]"},
	} {
		if !strings.Contains(strings.Join(strings.Fields(c.text), " "), c.want) {
			t.Errorf("%s does not say %q", c.where, c.want)
		}
	}
	if validate.DefaultMaxSize != 5_242_880 {
		t.Errorf("validate.DefaultMaxSize is %d; doc.go says 5,242,880", validate.DefaultMaxSize)
	}
}
