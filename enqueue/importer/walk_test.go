package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tree creates files (paths relative to a new temp dir) and returns the dir.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func walked(t *testing.T, args []string, f Filter) []string {
	t.Helper()
	var got []string
	err := walk(context.Background(), args, f, true, nil, func(e entry) error {
		if e.Err != nil {
			got = append(got, "ERR "+e.Rel)
			return nil
		}
		got = append(got, e.Rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestWalkFilters(t *testing.T) {
	t.Parallel()
	dir := tree(t, "a.jpg", "b.png", "notes.txt", "sub/c.jpg", "sub/deep/d.jpg",
		"raw/e.jpg", ".hidden/f.jpg", ".DS_Store", "sub/.g.jpg")
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"everything visible", Filter{}, []string{"a.jpg", "b.png", "notes.txt", "raw/e.jpg", "sub/c.jpg", "sub/deep/d.jpg"}},
		{"hidden", Filter{Hidden: true}, []string{".DS_Store", ".hidden/f.jpg", "a.jpg", "b.png", "notes.txt", "raw/e.jpg", "sub/.g.jpg", "sub/c.jpg", "sub/deep/d.jpg"}},
		{"include base", Filter{Include: []string{"*.jpg"}}, []string{"a.jpg", "raw/e.jpg", "sub/c.jpg", "sub/deep/d.jpg"}},
		{"include relpath", Filter{Include: []string{"sub/*"}}, []string{"sub/c.jpg"}},
		{"exclude prunes dir", Filter{Exclude: []string{"raw", "deep"}}, []string{"a.jpg", "b.png", "notes.txt", "sub/c.jpg"}},
		{"include and exclude", Filter{Include: []string{"*.jpg", "*.png"}, Exclude: []string{"b.*", "sub/deep"}}, []string{"a.jpg", "raw/e.jpg", "sub/c.jpg"}},
		{"include **", Filter{Include: []string{"sub/**/*.jpg"}}, []string{"sub/c.jpg", "sub/deep/d.jpg"}},
		{"include {a,b}", Filter{Include: []string{"*.{png,txt}"}}, []string{"b.png", "notes.txt"}},
		{"exclude ** prunes below", Filter{Exclude: []string{"**/deep", "{raw,notes.txt}"}}, []string{"a.jpg", "b.png", "sub/c.jpg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := walked(t, []string{dir}, c.f); !slices.Equal(got, c.want) {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestWalkFileArgumentsAndMissing(t *testing.T) {
	t.Parallel()
	dir := tree(t, "one/.x.jpg", "two.jpg")
	got := walked(t, []string{filepath.Join(dir, "one", ".x.jpg"), filepath.Join(dir, "two.jpg"), filepath.Join(dir, "nope")}, Filter{})
	// A hidden file named on the command line is taken; a missing
	// argument is reported as an error entry.
	want := []string{".x.jpg", "ERR nope", "two.jpg"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWalkLargeDirectoryInBatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := 3*readBatch + 7
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.jpg", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := walked(t, []string{dir}, Filter{}); len(got) != n {
		t.Errorf("walked %d files, want %d", len(got), n)
	}
}

func TestWalkStopsOnEmitError(t *testing.T) {
	t.Parallel()
	dir := tree(t, "a", "b", "c", "d/e")
	stop := errors.New("stop")
	calls := 0
	err := walk(context.Background(), []string{dir}, Filter{}, false, nil, func(entry) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("walk = %v after %d calls, want stop after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := walk(ctx, []string{dir}, Filter{}, false, nil, func(entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("walk with cancelled ctx = %v", err)
	}
}

func TestFilterValidate(t *testing.T) {
	t.Parallel()
	if err := (Filter{Include: []string{"[a-"}}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("bad pattern: %v, want ErrConfig", err)
	}
	if err := (Filter{Exclude: []string{"{a,b"}}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("unclosed alternatives: %v, want ErrConfig", err)
	}
	if err := (Filter{Include: []string{"*.jpg", "**/*.{jpg,png}"}, Exclude: []string{"x/*"}}).Validate(); err != nil {
		t.Errorf("good patterns: %v", err)
	}
}
