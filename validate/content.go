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

// sniff names the content's type from its head as [Sniff] does, with
// filetype's answer (Unknown for ISO-BMFF files, decided here). Files with
// an ISO-BMFF ftyp box are decided from their brand rather than by
// filetype.Match, whose answer for a 20-byte ftyp box ("mp4" or "mov")
// depends on map iteration order at start-up.
func sniff(head []byte) (string, types.Type) {
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		if string(head[8:12]) == "qt  " {
			return "mov", types.Unknown
		}
		if filetype.IsType(head, matchers.TypeMp4) {
			return "mp4", types.Unknown
		}
	}
	kind, err := filetype.Match(head)
	if err != nil || kind == types.Unknown {
		return "", types.Unknown
	}
	return CanonicalType(kind.Extension), kind
}

// describe says what the content is, for messages: name and kind are
// sniff's answer for head.
func describe(head []byte, name string, kind types.Type) string {
	switch {
	case name == "mov" && kind == types.Unknown:
		return "a QuickTime movie (brand \"qt  \"), which is not MP4"
	case name == "mov":
		return "a QuickTime movie, which is not MP4"
	case name == "":
		return "not a recognised image or video format (it starts with " + start(head) + ")"
	case kind == types.Unknown:
		return name
	}
	return fmt.Sprintf("%s (%s)", name, kind.MIME.Value)
}

// start quotes the first bytes of the content: readable for the usual
// impostors (text, HTML error pages), escaped for binary.
func start(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return strconv.Quote(string(b))
}

// check reads the content for Check: the head, then what the walker
// wants to see, leaving unread what it has no use for.
func (v *Validator) check(r io.ReaderAt, size int64, want string) (Info, error) {
	s := &Stream{v: v, want: want, size: size, info: Info{Size: size}}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for off := int64(0); off < size; {
		n := min(int64(len(buf)), size-off)
		if off == 0 {
			n = min(n, HeadSize)
		} else {
			skip, see := s.w.plan()
			if skip = min(skip, size-off); skip > 0 {
				if err := s.skip(skip); err != nil {
					return Info{}, err
				}
				off += skip
				continue
			}
			if see > 0 {
				n = min(n, int64(see))
			}
		}
		if err := readFull(r, buf[:n], off); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Info{}, corrupt(fmt.Sprintf("the content is shorter than its stated size of %d bytes", size), err)
			}
			return Info{}, fmt.Errorf("validate: reading bytes %d to %d: %w", off, off+n, err)
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return Info{}, err
		}
		off += n
	}
	return s.Finish()
}

// corrupt builds a ReasonCorrupt error.
func corrupt(found string, cause error) *Error {
	return &Error{Reason: ReasonCorrupt, Field: FieldContent, Found: found, Err: cause,
		Fix: "the file is damaged or was cut short (an interrupted download or copy?); open it to check, then export or copy it again"}
}
