package tasks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestExplainMediaRootRefusals: each refusal of a real media root reads,
// for a person, what was found with the path and what to do, once,
// without the package's prefix; every reason has its fix.
func TestExplainMediaRootRefusals(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x.jpg"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "x.jpg"), filepath.Join(root, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	roots, err := mediaroot.New(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]mediaroot.Reason{
		filepath.Join(outside, "x.jpg"):     mediaroot.ReasonOutsideRoots,
		filepath.Join(root, "link.jpg"):     mediaroot.ReasonSymlinkEscape,
		filepath.Join(root, "dir.jpg"):      mediaroot.ReasonNotRegular,
		filepath.Join(root, "gone.jpg"):     mediaroot.ReasonNotFound,
		root + "/../" + filepath.Base(root): mediaroot.ReasonTraversal,
		"shop/x.jpg":                        mediaroot.ReasonNotAbsolute,
	}
	for path, want := range cases {
		_, _, err := roots.Open(path)
		if got := mediaroot.ReasonOf(err); got != want {
			t.Fatalf("Open(%s): reason %q (%v), want %q", path, got, err, want)
		}
		text := tasks.Explain(err)
		if strings.Contains(text, "mediaroot:") || !strings.Contains(text, path) || !strings.HasSuffix(text, "; "+want.Fix()) {
			t.Errorf("%s: %q; want the path, no package prefix, and the fix %q", want, text, want.Fix())
		}
	}
	for _, r := range mediaroot.Reasons() {
		if r.Fix() == "" {
			t.Errorf("reason %s has no fix", r)
		}
	}
}
