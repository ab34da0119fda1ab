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

	f, err := os.Open(filepath.Join("..", "testdata", "media", "photo.png"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Convert(context.Background(), f, fi.Size())
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
	f, err := os.Open(filepath.Join("..", "testdata", "media", "photo.png"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	fi, _ := f.Stat()
	_, err = c.Convert(context.Background(), f, fi.Size())
	var e *convert.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	// Output: not_convertible
}
