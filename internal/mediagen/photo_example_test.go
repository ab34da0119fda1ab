package mediagen_test

import (
	"bytes"
	"fmt"
	"image/jpeg"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

func ExamplePhoto() {
	img := mediagen.Photo(640, 480, 1, 8)
	fmt.Println(img.Bounds(), img.Opaque())
	// Output: (0,0)-(640,480) true
}

// A JPEG stored sideways, as phones save portrait photos: orientation 6
// tells viewers to turn it 90° clockwise.
func ExampleAddEXIF() {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, mediagen.Photo(64, 48, 1, 4), nil); err != nil {
		fmt.Println(err)
		return
	}
	out, err := mediagen.AddEXIF(b.Bytes(), mediagen.EXIF{Orientation: 6, Make: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X %q\n", out[:4], out[6:10])
	// Output: FF D8 FF E1 "Exif"
}
