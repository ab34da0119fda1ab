package validate

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/h2non/filetype"
	"github.com/h2non/filetype/matchers"
	"github.com/h2non/filetype/types"
)

// HeadSize is how many leading bytes [Sniff] needs to decide a type;
// filetype itself needs at most 262.
const HeadSize = 512

// ioTrap wraps the caller's ReaderAt and remembers the first read error
// other than io.EOF, so that a decoder's complaint caused by a failing disk
// is reported as an I/O error and not as a corrupt file.
type ioTrap struct {
	r   io.ReaderAt
	err error
}

func (t *ioTrap) ReadAt(p []byte, off int64) (int, error) {
	n, err := t.r.ReadAt(p, off)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// readFull reads exactly len(p) bytes at off. Reading past the stated size
// gives io.ErrUnexpectedEOF (the content is shorter than the caller said).
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Sniff names the type of a file from its first bytes (at least
// [HeadSize] of them when the file is that long): a canonical name such as
// "jpg" or "mp4", filetype's extension for a type this package does not
// accept (e.g. "mov", "webp"), or "" when the content is not recognised. It
// reads nothing else, so it suits a stream (the gateway emulator uses it).
func Sniff(head []byte) string {
	name, _ := sniff(head)
	return name
}

// sniff names the content's type from its head as [Sniff] does, with a
// description for messages. Files with an ISO-BMFF ftyp box are decided here from their
// brand rather than by filetype.Match, whose answer for a 20-byte ftyp box
// ("mp4" or "mov") depends on map iteration order at start-up.
func sniff(head []byte) (name, desc string) {
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		if string(head[8:12]) == "qt  " {
			return "mov", "a QuickTime movie (brand \"qt  \"), which is not MP4"
		}
		if filetype.IsType(head, matchers.TypeMp4) {
			return "mp4", "mp4"
		}
	}
	kind, err := filetype.Match(head)
	if err != nil || kind == types.Unknown {
		return "", "not a recognised image or video format (it starts with " + start(head) + ")"
	}
	c := CanonicalType(kind.Extension)
	if kind == matchers.TypeMov {
		return c, "a QuickTime movie, which is not MP4"
	}
	return c, fmt.Sprintf("%s (%s)", c, kind.MIME.Value)
}

// start quotes the first bytes of the content: readable for the usual
// impostors (text, HTML error pages), escaped for binary.
func start(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return strconv.Quote(string(b))
}

func (v *Validator) check(r io.ReaderAt, size int64, want string) (Info, error) {
	if err := v.CheckSize(size); err != nil {
		return Info{}, err
	}
	trap := &ioTrap{r: r}
	head := make([]byte, min(size, HeadSize))
	if err := readFull(trap, head, 0); err != nil {
		if trap.err != nil {
			return Info{}, fmt.Errorf("validate: reading the first %d bytes: %w", len(head), err)
		}
		return Info{}, corrupt(fmt.Sprintf("the content is shorter than its stated size of %d bytes", size), err)
	}
	got, desc := sniff(head)
	t, known := lookup(got)
	if !known || !v.isAllowed(got) {
		var fix string
		switch got {
		case "":
			fix = "check that the file really is a photo or video (not, say, a text or HTML page saved under a media name)"
		case "mov":
			fix = "re-export or convert the video to MP4 (H.264), e.g. `ffmpeg -i in.mov -c copy out.mp4`"
		default:
			fix = "convert the file to an allowed format"
		}
		return Info{}, &Error{Reason: ReasonUnsupportedType, Field: FieldContent,
			Found: fmt.Sprintf("the content is %s; allowed: %s", desc, v.allowedText()),
			Fix:   fix}
	}
	if want != "" && want != got {
		return Info{}, &Error{Reason: ReasonTypeMismatch, Field: FieldImageType,
			Found: fmt.Sprintf("image_type says %q but the content is %s", want, got),
			Fix:   fmt.Sprintf("set image_type to %q, or upload the intended %s file", got, want)}
	}
	info := Info{Type: t.name, MIME: t.mime, Size: size}
	var err error
	switch t.name {
	case "jpg":
		info.Width, info.Height, err = checkJPEG(trap, head, size)
	case "png":
		info.Width, info.Height, err = checkPNG(trap, head, size)
	case "gif":
		info.Width, info.Height, err = checkGIF(trap, head, size)
	case "bmp":
		info.Width, info.Height, err = checkBMP(head, size)
	case "mp4":
		err = checkMP4(trap, size)
	}
	if trap.err != nil {
		return Info{}, fmt.Errorf("validate: reading the %s content: %w", t.name, trap.err)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			// Only readFull's end-of-content errors get here: the trap
			// caught every other read error above.
			err = corrupt(fmt.Sprintf("the content is shorter than its stated size of %d bytes", size), err)
		}
		return Info{}, err
	}
	return info, nil
}

// corrupt builds a ReasonCorrupt error.
func corrupt(found string, cause error) *Error {
	return &Error{Reason: ReasonCorrupt, Field: FieldContent, Found: found, Err: cause,
		Fix: "the file is damaged or was cut short (an interrupted download or copy?); open it to check, then export or copy it again"}
}
