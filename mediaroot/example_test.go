package mediaroot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/storemedia/alipay-media-worker/mediaroot"
)

func Example() {
	dir, err := os.MkdirTemp("", "media")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "shop.jpg"), []byte("not really a photo"), 0o644); err != nil {
		panic(err)
	}

	roots, err := mediaroot.New(dir)
	if err != nil {
		panic(err)
	}
	f, info, err := roots.Open(filepath.Join(dir, "shop.jpg"))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	fmt.Printf("read %d of %d bytes\n", len(b), info.Size())

	for _, p := range []string{
		"/etc/passwd",
		dir + "/../etc/passwd",
		"shop.jpg",
		dir,
		filepath.Join(dir, "missing.jpg"),
	} {
		_, _, err := roots.Open(p)
		switch {
		case errors.Is(err, mediaroot.ErrOutsideRoots):
			fmt.Println("outside the roots")
		case errors.Is(err, mediaroot.ErrTraversal):
			fmt.Println("has ..")
		case errors.Is(err, mediaroot.ErrNotAbsolute):
			fmt.Println("not absolute")
		case errors.Is(err, mediaroot.ErrNotRegular):
			fmt.Println("not a regular file")
		case errors.Is(err, os.ErrNotExist):
			fmt.Println("missing")
		}
	}
	// Output:
	// read 18 of 18 bytes
	// outside the roots
	// has ..
	// not absolute
	// not a regular file
	// missing
}

func ExampleParseList() {
	fmt.Printf("%q\n", mediaroot.ParseList("/srv/media:/data/photos, /mnt/usb"))
	// Output: ["/srv/media" "/data/photos" "/mnt/usb"]
}

func ExampleNew() {
	_, err := mediaroot.New("/nonexistent/media")
	fmt.Println(err)
	fmt.Println(errors.Is(err, os.ErrNotExist))
	// Output:
	// mediaroot: media root "/nonexistent/media" does not exist: stat /nonexistent/media: no such file or directory
	// true
}

func ExampleReasonOf() {
	roots, err := mediaroot.New(os.TempDir())
	if err != nil {
		panic(err)
	}
	for _, p := range []string{"/etc/passwd", os.TempDir(), filepath.Join(os.TempDir(), "no-such-file.jpg")} {
		_, _, err := roots.Open(p)
		fmt.Println(mediaroot.ReasonOf(err))
	}
	// Output:
	// outside_roots
	// not_regular
	// not_found
}

func ExampleReasons() {
	fmt.Println(mediaroot.Reasons())
	// Output: [not_absolute traversal outside_roots symlink_escape not_regular changed not_found permission]
}

// A worker checks at start-up that it can list and open files in every
// root; a root its user may not read is a configuration error.
func ExampleRoots_CheckAccess() {
	dir, _ := os.MkdirTemp("", "media-")
	defer os.RemoveAll(dir)
	roots, _ := mediaroot.New(dir)
	fmt.Println(roots.CheckAccess())
	// Output: <nil>
}

// A bucket prefix is a media root too; objects are read through a Store
// (an *objstore.Store in production).
func ExampleRoots_OpenObject() {
	roots, err := mediaroot.New(mediaroot.ParseList("/tmp,s3://media/shop/")...)
	if err != nil {
		panic(err)
	}
	fmt.Println(roots.All())
	roots = roots.WithStore(oneObject{})
	obj, err := roots.OpenObject(context.Background(), "s3://media/shop/front.jpg")
	if err != nil {
		panic(err)
	}
	defer obj.Close()
	fmt.Println(obj.Info.Size)
	for _, u := range []string{"s3://media/private/key.pem", "s3://media/shop/../private/key.pem", "s3://media/shop/"} {
		_, err := roots.OpenObject(context.Background(), u)
		fmt.Println(mediaroot.ReasonOf(err))
	}
	// Output:
	// [/tmp s3://media/shop/]
	// 5
	// outside_roots
	// traversal
	// not_regular
}

// oneObject is a Store holding one object of 5 bytes.
type oneObject struct{}

func (oneObject) GetObject(_ context.Context, bucket, key string) (io.ReadCloser, mediaroot.ObjectInfo, error) {
	if bucket != "media" || key != "shop/front.jpg" {
		return nil, mediaroot.ObjectInfo{}, fs.ErrNotExist
	}
	return io.NopCloser(strings.NewReader("photo")), mediaroot.ObjectInfo{Size: 5}, nil
}
