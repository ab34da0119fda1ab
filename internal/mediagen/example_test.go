package mediagen_test

import (
	"bytes"
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
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

// A small file of each format, the same for the same seed.
func ExampleSample() {
	for _, format := range []string{"jpg", "png", "gif", "bmp", "mp4"} {
		data := mediagen.Sample(format, 7)
		fmt.Println(format, bytes.Equal(data, mediagen.Sample(format, 7)), bytes.Equal(data, mediagen.Sample(format, 8)))
	}
	// Output:
	// jpg true false
	// png true false
	// gif true false
	// bmp true false
	// mp4 true false
}

// A 100 kB JPEG that the validator accepts, unique for its seed.
func ExampleJPEGOfSize() {
	data, err := mediagen.JPEGOfSize(100_000, 42)
	if err != nil {
		panic(err)
	}
	v, err := validate.New(validate.Config{})
	if err != nil {
		panic(err)
	}
	info, err := v.Check(bytes.NewReader(data), int64(len(data)), "jpg", "photo.jpg")
	fmt.Println(len(data), info.Type, info.Width, info.Height, err)
	// Output: 100000 jpg 16 16 <nil>
}

// A free box appended to an MP4 keeps it valid and makes it unique.
func ExampleBox() {
	video := append(mediagen.MP4(nil), mediagen.Box("free", []byte("copy 2"))...)
	fmt.Printf("%q\n", video[len(video)-14:])
	// Output: "\x00\x00\x00\x0efreecopy 2"
}
