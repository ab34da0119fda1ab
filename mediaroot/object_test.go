package mediaroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// mapStore is a Store over a map, for the rules of bucket roots (the real
// store is tested in package objstore, against versitygw).
type mapStore map[string]string

func (m mapStore) GetObject(_ context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error) {
	body, ok := m[bucket+"/"+key]
	if !ok {
		return nil, ObjectInfo{}, fmt.Errorf("no %s/%s: %w", bucket, key, fs.ErrNotExist)
	}
	return io.NopCloser(strings.NewReader(body)), ObjectInfo{Size: int64(len(body))}, nil
}

func TestOpenObject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, err := New(dir, "s3://media/shop", "s3://whole-bucket")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.All(), []string{dir, "s3://media/shop/", "s3://whole-bucket/"}; !slices.Equal(got, want) {
		t.Errorf("All = %q, want %q", got, want)
	}
	store := mapStore{"media/shop/a.jpg": "photo", "whole-bucket/x/y.png": "png", "media/shop2/b.jpg": "other"}
	if _, err := r.OpenObject(context.Background(), "s3://media/shop/a.jpg"); !errors.Is(err, ErrNoStore) {
		t.Errorf("OpenObject without a store = %v, want ErrNoStore", err)
	}
	r = r.WithStore(store)
	for _, u := range []string{"s3://media/shop/a.jpg", "s3://whole-bucket/x/y.png"} {
		obj, err := r.OpenObject(context.Background(), u)
		if err != nil {
			t.Fatalf("OpenObject(%q): %v", u, err)
		}
		b, _ := io.ReadAll(obj)
		obj.Close()
		if string(b) != store[strings.TrimPrefix(u, "s3://")] || obj.Info.Size != int64(len(b)) {
			t.Errorf("OpenObject(%q) read %q (size %d)", u, b, obj.Info.Size)
		}
		if !r.Contains(u) {
			t.Errorf("Contains(%q) = false", u)
		}
	}
	for u, want := range map[string]Reason{
		"s3://media/shop2/b.jpg":         ReasonOutsideRoots, // a prefix is a directory
		"s3://other/shop/a.jpg":          ReasonOutsideRoots,
		"s3://media/shop/../shop2/b.jpg": ReasonTraversal,
		"s3://media/shop/./a.jpg":        ReasonTraversal,
		"s3://media/shop/":               ReasonNotRegular,
		"s3://media/shop/missing.jpg":    ReasonNotFound,
		"s3://Bad_Bucket/a.jpg":          ReasonOutsideRoots,
	} {
		obj, err := r.OpenObject(context.Background(), u)
		if err == nil {
			obj.Close()
			t.Errorf("OpenObject(%q) opened it", u)
			continue
		}
		if got := ReasonOf(err); got != want {
			t.Errorf("OpenObject(%q) = %v (reason %q), want reason %q", u, err, got, want)
		}
		if want == ReasonOutsideRoots && r.Contains(u) {
			t.Errorf("Contains(%q) = true", u)
		}
	}
	// A local path is not an object, and an object is not a local file.
	if _, _, err := r.Open("s3://media/shop/a.jpg"); ReasonOf(err) != ReasonNotRegular {
		t.Errorf("Open(s3 URL) = %v, want not_regular", err)
	}
	local, _ := New(dir)
	_, err = local.WithStore(store).OpenObject(context.Background(), "s3://media/shop/a.jpg")
	if ReasonOf(err) != ReasonOutsideRoots || !strings.Contains(err.Error(), "no bucket") {
		t.Errorf("OpenObject with directory roots only = %v, want outside_roots naming no bucket", err)
	}
	if ReasonOutsideRoots.Fix() == "" || !strings.Contains(ReasonOutsideRoots.Fix(), "s3://") {
		t.Errorf("outside_roots' fix %q does not mention buckets", ReasonOutsideRoots.Fix())
	}
}

func TestNewBucketRoots(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"s3://", "s3://ab", "s3://UPPER/x", "s3://media/../x", "s3://media/a/./b"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted it", bad)
		}
	}
	r, err := New("s3://media/p/")
	if err != nil {
		t.Fatal(err)
	}
	if r.Dirs() == nil || len(r.Dirs()) != 0 || !r.HasBuckets() {
		t.Errorf("buckets only: Dirs %q, HasBuckets %v", r.Dirs(), r.HasBuckets())
	}
	if _, _, err := r.Open("/etc/passwd"); ReasonOf(err) != ReasonOutsideRoots || !strings.Contains(err.Error(), "no directory") {
		t.Errorf("Open of a local path with bucket roots only = %v", err)
	}
}
