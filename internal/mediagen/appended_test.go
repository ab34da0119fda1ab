package mediagen_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

func TestMotionPhoto(t *testing.T) {
	t.Parallel()
	photo := mediagen.Sample("jpg", 1)
	video := mediagen.Sample("mp4", 2)
	mp, err := mediagen.MotionPhoto(photo, video)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(mp, video) || len(mp) <= len(photo)+len(video) {
		t.Errorf("%d bytes: the video is not appended after a %d-byte photo", len(mp), len(photo))
	}
	if !bytes.Contains(mp, fmt.Appendf(nil, `GCamera:MicroVideoOffset="%d"`, len(video))) {
		t.Error("the XMP packet does not give the video's offset")
	}
	img, err := jpeg.Decode(bytes.NewReader(mp))
	if err != nil {
		t.Fatalf("the photo no longer decodes: %v", err)
	}
	if img.Bounds().Dx() != 16 || img.Bounds().Dy() != 12 {
		t.Errorf("decoded %v", img.Bounds())
	}
	v, _ := validate.New(validate.Config{})
	if info, err := v.Check(bytes.NewReader(mp), int64(len(mp)), "", "motion.jpg"); err != nil || info.Type != "jpg" {
		t.Errorf("validate: %+v, %v", info, err)
	}

	for name, c := range map[string][2][]byte{
		"photo not a JPEG": {mediagen.Sample("png", 1), video},
		"photo cut":        {photo[:len(photo)-1], video},
		"video not MP4":    {photo, photo},
	} {
		if _, err := mediagen.MotionPhoto(c[0], c[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPadTo(t *testing.T) {
	t.Parallel()
	data := mediagen.Sample("jpg", 3)
	out, err := mediagen.PadTo(data, 5242880)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5242880 || !bytes.Equal(out[:len(data)], data) || bytes.ContainsFunc(out[len(data):], func(r rune) bool { return r != 0 }) {
		t.Errorf("PadTo gives %d bytes, not the data then zeros", len(out))
	}
	if same, err := mediagen.PadTo(data, int64(len(data))); err != nil || !bytes.Equal(same, data) {
		t.Errorf("padding to its own size: %v", err)
	}
	if _, err := mediagen.PadTo(data, int64(len(data))-1); err == nil {
		t.Error("padding to a smaller size: no error")
	}
}

func ExampleMotionPhoto() {
	photo := mediagen.Sample("jpg", 1)
	video := mediagen.Sample("mp4", 1)
	mp, err := mediagen.MotionPhoto(photo, video)
	if err != nil {
		panic(err)
	}
	v, _ := validate.New(validate.Config{})
	info, err := v.Check(bytes.NewReader(mp), int64(len(mp)), "", "motion.jpg")
	fmt.Println(info.Type, info.Width, info.Height, err, bytes.HasSuffix(mp, video))
	// Output: jpg 16 12 <nil> true
}

func ExamplePadTo() {
	padded, err := mediagen.PadTo(mediagen.Sample("png", 1), 5242880)
	if err != nil {
		panic(err)
	}
	v, _ := validate.New(validate.Config{})
	info, err := v.Check(bytes.NewReader(padded), int64(len(padded)), "", "padded.png")
	fmt.Println(len(padded), info.Type, err)
	// Output: 5242880 png <nil>
}
