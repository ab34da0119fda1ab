package convert_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/convert"
)

// A worker asks the converter about every file of a job that allows
// conversion: an acceptable file comes back as ErrNotNeeded and is sent as
// it is; a converted one is sent from the scratch space, then removed.
func ExampleConverter_Convert() {
	c, err := convert.New(convert.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	f, size, err := openSample("photo.png")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	res, err := c.Convert(context.Background(), f, size)
	switch {
	case errors.Is(err, convert.ErrNotNeeded):
		fmt.Println("send the original")
	case err != nil:
		fmt.Println("refused:", err)
	default:
		defer res.Remove()
		fmt.Println("send", res.Path(), "quality", res.Quality)
	}
	// Output: send the original
}

// A PNG over the limit is never turned into a JPEG: the refusal says why.
func ExampleError() {
	c, err := convert.New(convert.Config{MaxBytes: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	f, size, err := openSample("photo.png")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	_, err = c.Convert(context.Background(), f, size)
	var e *convert.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	// Output: not_convertible
}

// A JPEG over the limit needs re-encoding, which takes libvips: a build
// without the vips tag refuses it with ErrUnavailable, and Available says
// so beforehand, e.g. to log at start-up that conversion is off.
func ExampleAvailable() {
	c, err := convert.New(convert.Config{MaxBytes: 1000})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	f, size, err := openSample("photo.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	res, err := c.Convert(context.Background(), f, size)
	if err == nil {
		res.Remove()
	}
	fmt.Println(errors.Is(err, convert.ErrUnavailable) == !convert.Available())
	// Output: true
}

// openSample opens one of the module's sample files, with its size.
func openSample(name string) (*os.File, int64, error) {
	f, err := os.Open(filepath.Join("..", "testdata", "media", name))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
