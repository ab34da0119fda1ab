package bench

import (
	"bytes"
	"crypto/sha256"
	"image/jpeg"
	"testing"

	"github.com/storemedia/alipay-media-worker/validate"
)

func TestMakeJPEGIsValidAndExact(t *testing.T) {
	t.Parallel()
	v, err := validate.New(validate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]bool{}
	for i, size := range []int64{minJPEG, 4099, 65537 + 700, 100_000, 1_000_000, 5_000_000} {
		data, err := MakeJPEG(size, uint64(i))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if int64(len(data)) != size {
			t.Fatalf("asked %d bytes, got %d", size, len(data))
		}
		info, err := v.Check(bytes.NewReader(data), size, "jpg", "bench.jpg")
		if err != nil {
			t.Fatalf("%d bytes: validator refuses it: %v", size, err)
		}
		if info.Width != 16 || info.Height != 16 {
			t.Errorf("%d bytes: %dx%d, want 16x16", size, info.Width, info.Height)
		}
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%d bytes: does not decode: %v", size, err)
		}
		sum := sha256.Sum256(data)
		if seen[sum] {
			t.Errorf("%d bytes: not unique", size)
		}
		seen[sum] = true
	}
	if _, err := MakeJPEG(100, 1); err == nil {
		t.Error("a 100-byte JPEG was made")
	}
}
