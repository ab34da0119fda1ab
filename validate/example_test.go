package validate_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/storemedia/alipay-media-worker/validate"
)

func Example() {
	v, err := validate.New(validate.Config{}) // jpg, png, gif, bmp, mp4; 5 MiB
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"photo.jpg", "clip.mp4", "bad/quicktime.mov", "bad/truncated.png"} {
		f, err := os.Open("../testdata/media/" + name)
		if err != nil {
			panic(err)
		}
		st, err := f.Stat()
		if err != nil {
			panic(err)
		}
		// An empty declared type asks Check to report the real one.
		info, err := v.Check(f, st.Size(), "", "shop front")
		f.Close()
		switch {
		case errors.Is(err, validate.ErrUnsupportedType), errors.Is(err, validate.ErrCorrupt):
			fmt.Printf("%s: rejected (%s)\n", name, validate.ReasonOf(err))
		case err != nil:
			fmt.Printf("%s: %v\n", name, err)
		default:
			fmt.Printf("%s: image_type=%s content-type=%s %dx%d\n", name, info.Type, info.MIME, info.Width, info.Height)
		}
	}
	// Output:
	// photo.jpg: image_type=jpg content-type=image/jpeg 64x48
	// clip.mp4: image_type=mp4 content-type=video/mp4 0x0
	// bad/quicktime.mov: rejected (unsupported_type)
	// bad/truncated.png: rejected (corrupt)
}

func ExampleValidator_CheckType() {
	v, _ := validate.New(validate.Config{})
	for _, t := range []string{"JPEG", "png", "mov", "image/jpeg"} {
		c, err := v.CheckType(t)
		if err != nil {
			fmt.Printf("%q -> rejected (%s)\n", t, validate.ReasonOf(err))
			continue
		}
		fmt.Printf("%q -> %q\n", t, c)
	}
	// Output:
	// "JPEG" -> "jpg"
	// "png" -> "png"
	// "mov" -> rejected (unsupported_type)
	// "image/jpeg" -> rejected (bad_image_type)
}

func ExampleValidator_CheckSize() {
	v, _ := validate.New(validate.Config{})
	fmt.Println(v.CheckSize(5 << 20))
	fmt.Println(v.CheckSize(5<<20 + 1))
	// Output:
	// <nil>
	// validate: image_content: too_large: the file has 5242881 bytes, over the limit of 5242880 bytes (5 MiB); compress or resize the photo, or shorten the video, to fit the limit
}

func ExampleContentType() {
	fmt.Println(validate.ContentType("jpeg"), validate.ContentType("mp4"), validate.ContentType("heic"))
	// Output: image/jpeg video/mp4 application/octet-stream
}

func ExampleReasonOf() {
	v, _ := validate.New(validate.Config{})
	err := v.CheckName("line\nbreak")
	fmt.Println(validate.ReasonOf(err))
	fmt.Println(err)
	// Output:
	// bad_name
	// validate: image_name: bad_name: image_name holds the control character U+000A at byte 4; remove control characters (tabs, line breaks, escape codes) from the name
}

// Sniff names a file's type from its first bytes only; a QuickTime movie
// is told apart from an MP4 by its ftyp brand.
func ExampleSniff() {
	fmt.Println(validate.Sniff([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")))
	fmt.Println(validate.Sniff([]byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")))
	fmt.Println(validate.Sniff([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ")))
	fmt.Printf("%q\n", validate.Sniff([]byte("Opening hours: 9 to 5")))
	// Output:
	// png
	// mp4
	// mov
	// ""
}

// Begin checks a file while its bytes are read for something else, here a
// SHA-256: the Stream sits next to the hash in an io.MultiWriter. A PNG's
// chunk lengths show a cut early; a JPEG cut inside its image data is only
// known once every byte has arrived, at Finish.
func ExampleValidator_Begin() {
	v, _ := validate.New(validate.Config{})
	for _, name := range []string{"photo.png", "bad/truncated.png", "bad/truncated.jpg"} {
		data, err := os.ReadFile("../testdata/media/" + name)
		if err != nil {
			panic(err)
		}
		s, err := v.Begin(int64(len(data)), "", "shop front")
		if err != nil {
			panic(err) // name, image_type or size: refused before reading
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(h, s), bytes.NewReader(data)); err != nil {
			fmt.Printf("%s: rejected while reading (%s)\n", name, validate.ReasonOf(err))
			continue
		}
		info, err := s.Finish()
		if err != nil {
			fmt.Printf("%s: rejected at Finish (%s)\n", name, validate.ReasonOf(err))
			continue
		}
		fmt.Printf("%s: %s %dx%d sha256 %x...\n", name, info.MIME, info.Width, info.Height, h.Sum(nil)[:4])
	}
	// Output:
	// photo.png: image/png 64x48 sha256 53460989...
	// bad/truncated.png: rejected while reading (corrupt)
	// bad/truncated.jpg: rejected at Finish (corrupt)
}

func ExampleCheckName() {
	for _, name := range []string{"店铺 front.jpg", "invoice\u202Egpj.exe", "\u200B\u200B", "caf\xe9.jpg"} {
		fmt.Println(validate.ReasonOf(validate.CheckName(name)) == validate.ReasonBadName)
	}
	// Output:
	// false
	// true
	// true
	// true
}

func ExampleReasons() {
	fmt.Println(validate.Reasons()[0], len(validate.Reasons()))
	// Output: empty 7
}

// ExampleError_Detail: once the reason is said beside it, Detail says what
// was found and what to do, without repeating it.
func ExampleError_Detail() {
	v, err := validate.New(validate.Config{})
	if err != nil {
		panic(err)
	}
	_, err = v.Begin(0, "", "empty.jpg")
	var ve *validate.Error
	if errors.As(err, &ve) {
		fmt.Printf("rejected empty.jpg (%s): %s\n", ve.Reason, ve.Detail())
	}
	// Output: rejected empty.jpg (empty): the file has 0 bytes; the file was probably not fully written or copied; provide the complete file
}

// A caller branches on a rejection with errors.Is and the sentinel of its
// reason, and finds the request field at fault in the [*validate.Error].
func ExampleError_Is() {
	v, _ := validate.New(validate.Config{})
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	for _, err := range []error{
		v.CheckSize(0),
		v.CheckSize(v.MaxSize() + 1),
		v.CheckName(""),
		func() error { _, err := v.CheckType("image/jpeg"); return err }(),
		func() error { _, err := v.Check(bytes.NewReader(png), int64(len(png)), "jpg", "logo"); return err }(),
	} {
		var e *validate.Error
		errors.As(err, &e)
		switch {
		case errors.Is(err, validate.ErrEmpty), errors.Is(err, validate.ErrTooLarge):
			fmt.Println("size:", e.Field == validate.FieldContent, e.Reason)
		case errors.Is(err, validate.ErrBadName):
			fmt.Println("name:", e.Field == validate.FieldName, e.Reason)
		case errors.Is(err, validate.ErrBadImageType), errors.Is(err, validate.ErrTypeMismatch):
			fmt.Println("type:", e.Field, e.Reason)
		}
		fmt.Println("  sentinel of its reason:", errors.Is(err, e.Reason.Sentinel()))
	}
	// Output:
	// size: true empty
	//   sentinel of its reason: true
	// size: true too_large
	//   sentinel of its reason: true
	// name: true bad_name
	//   sentinel of its reason: true
	// type: image_type bad_image_type
	//   sentinel of its reason: true
	// type: image_type type_mismatch
	//   sentinel of its reason: true
}
