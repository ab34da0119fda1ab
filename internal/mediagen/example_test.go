package mediagen_test

import (
	"bytes"
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

func ExampleEncodeBMP() {
	var b bytes.Buffer
	if err := mediagen.EncodeBMP(&b, mediagen.Noise(5, 3, 1)); err != nil {
		fmt.Println(err)
		return
	}
	// 54 bytes of headers, then 3 rows of 15 pixel bytes, each padded to 16.
	fmt.Println(b.Len(), string(b.Bytes()[:2]))
	// Output: 102 BM
}

func ExampleNoise() {
	img := mediagen.Noise(320, 240, 42)
	fmt.Println(img.Bounds(), img.Opaque())
	// Output: (0,0)-(320,240) true
}
