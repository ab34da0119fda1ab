//go:build !vips

package convert_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
)

func TestConversionIsUnavailableWithoutVips(t *testing.T) {
	t.Parallel()
	if convert.Available() {
		t.Fatal("Available() = true in a build without the vips tag")
	}
	c := newTestConverter(t, convert.Config{MaxBytes: 100})
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 200)...)
	jpeg := append([]byte("\xff\xd8\xff\xdb"), make([]byte, 200)...) // over the 100-byte limit
	for name, data := range map[string][]byte{"heic": heic, "oversized jpeg": jpeg} {
		res, err := c.Convert(context.Background(), bytes.NewReader(data), int64(len(data)))
		if res != nil || !errors.Is(err, convert.ErrUnavailable) {
			t.Errorf("%s: %v, %v; want ErrUnavailable", name, res, err)
		}
	}
}
