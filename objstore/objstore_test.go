package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
)

func TestPutGetListDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateBucket(ctx, "rw-test"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, "rw-test"); err != nil {
		t.Errorf("creating an existing bucket again: %v", err)
	}
	body := bytes.Repeat([]byte("photo bytes "), 10000)
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	src, _ := os.Open(f)
	defer src.Close()
	if err := s.Put(ctx, "rw-test", "shop/a.jpg", src, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	// A body that cannot seek (what a spool may stream) is taken too.
	if err := s.Put(ctx, "rw-test", "shop/sub/b.jpg", io.MultiReader(strings.NewReader("b")), 1); err != nil {
		t.Fatal(err)
	}
	rc, info, err := s.GetObject(ctx, "rw-test", "shop/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) || info.Size != int64(len(body)) || info.ETag == "" || info.LastModified.IsZero() {
		t.Errorf("GetObject: %d bytes, info %+v", len(got), info)
	}
	var keys []string
	if err := s.List(ctx, "rw-test", "shop/", func(o mediaroot.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"shop/a.jpg", "shop/sub/b.jpg"}; !slices.Equal(keys, want) {
		t.Errorf("List = %q, want %q", keys, want)
	}
	if err := s.CheckAccess(ctx, "rw-test", "shop/"); err != nil {
		t.Errorf("CheckAccess: %v", err)
	}
	if err := s.Delete(ctx, "rw-test", "shop/a.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "rw-test", "shop/a.jpg"); err != nil {
		t.Errorf("deleting a missing object: %v", err)
	}
	if _, _, err := s.GetObject(ctx, "rw-test", "shop/a.jpg"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("GetObject of a deleted object = %v, want fs.ErrNotExist", err)
	}
	if _, _, err := s.GetObject(ctx, "no-such-bucket", "a.jpg"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("GetObject in a missing bucket = %v, want fs.ErrNotExist", err)
	}
	if err := s.CheckAccess(ctx, "no-such-bucket", ""); err == nil {
		t.Error("CheckAccess of a missing bucket passed")
	}
}

func TestWrongCredentialsAreNotShown(t *testing.T) {
	t.Parallel()
	const secret = "not-the-secret-1234567890"
	s, err := objstore.New(context.Background(), objstore.Config{
		Endpoint: server.URL(), PathStyle: true, AccessKeyID: "nobody", SecretAccessKey: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.GetObject(context.Background(), "example-media", "a.jpg")
	if err == nil {
		t.Fatal("read with wrong credentials")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the secret: %v", err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused credentials read as a missing object (a job would be archived): %v", err)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []objstore.Config{
		{AccessKeyID: "only-the-id"},
		{Endpoint: "127.0.0.1:7070"},
	} {
		if _, err := objstore.New(context.Background(), cfg); !errors.Is(err, objstore.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestThroughMediaRoots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateBucket(ctx, "roots-test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "roots-test", "in/a.jpg", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "roots-test", "out/a.jpg", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	roots, err := mediaroot.New("s3://roots-test/in/")
	if err != nil {
		t.Fatal(err)
	}
	roots = roots.WithStore(s)
	obj, err := roots.OpenObject(ctx, "s3://roots-test/in/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj)
	obj.Close()
	if string(b) != "abc" {
		t.Errorf("read %q", b)
	}
	for u, want := range map[string]mediaroot.Reason{
		"s3://roots-test/out/a.jpg":   mediaroot.ReasonOutsideRoots,
		"s3://roots-test/in/gone.jpg": mediaroot.ReasonNotFound,
		"s3://example-media/in/a.jpg": mediaroot.ReasonOutsideRoots,
	} {
		if _, err := roots.OpenObject(ctx, u); mediaroot.ReasonOf(err) != want {
			t.Errorf("OpenObject(%q) = %v, want %s", u, err, want)
		}
	}
}
