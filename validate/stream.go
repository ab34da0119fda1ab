package validate

import (
	"errors"
	"fmt"
	"sync"
)

// Stream checks one file while its bytes pass through it, in order: write
// the whole content to it (it is an io.Writer, so it can sit next to a hash
// in an io.MultiWriter), then call [Stream.Finish]. It reads nothing
// itself and holds a fixed amount of memory whatever the file's size, so
// it suits content that is being sent or hashed anyway: checking costs no
// extra read.
//
// The real type is decided once the first [HeadSize] bytes (or all of a
// shorter file) have been written; the structure is followed from there
// on. Write returns a rejection ([*Error]) as soon as the content is known
// to be bad; a file cut short is only known at Finish, once every byte has
// arrived. After a rejection, every call returns it again.
//
// A Stream is for one file and one goroutine.
type Stream struct {
	v     *Validator
	want  string // the declared type, canonical; "" to accept the content's
	size  int64
	n     int64 // bytes written
	head  [HeadSize]byte
	nhead int // bytes collected in head while the type is not known
	info  Info
	w     walker // nil until the type is known
	err   error  // sticky
	done  bool
}

// Begin starts checking a file of size bytes whose content will be written
// to the returned Stream. It checks the name, the declared image_type and
// the size at once, in that order, as [Validator.Check] does: a file that
// fails them is refused before any of its bytes is read. An empty
// declaredType accepts whatever allowed type the content is.
func (v *Validator) Begin(size int64, declaredType, name string) (*Stream, error) {
	want, err := v.fields(size, declaredType, name)
	if err != nil {
		return nil, err
	}
	return &Stream{v: v, want: want, size: size, info: Info{Size: size}}, nil
}

// fields checks what can be checked without the content: the name, the
// declared type (returned canonical) and the size.
func (v *Validator) fields(size int64, declaredType, name string) (string, error) {
	if err := v.CheckName(name); err != nil {
		return "", err
	}
	want := ""
	if declaredType != "" {
		c, err := v.CheckType(declaredType)
		if err != nil {
			return "", err
		}
		want = c
	}
	return want, v.CheckSize(size)
}

// Write checks the next bytes of the content. It accepts them all and
// returns len(p), nil, unless the content is known to be bad: then it
// returns 0 and the rejection. Writing more than the stated size is an
// error, not a rejection.
func (s *Stream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.done {
		return 0, errors.New("validate: Stream.Write after Finish")
	}
	if int64(len(p)) > s.size-s.n {
		s.err = fmt.Errorf("validate: %d bytes written to a Stream for %d bytes", s.n+int64(len(p)), s.size)
		return 0, s.err
	}
	n := len(p)
	if s.w == nil {
		need := int(min(s.size, HeadSize))
		head := p
		if s.nhead > 0 || len(p) < need {
			k := copy(s.head[s.nhead:need], p)
			s.nhead += k
			s.n += int64(k)
			p = p[k:]
			if s.nhead < need {
				return n, nil
			}
			head = s.head[:need]
		}
		if err := s.start(head[:need]); err != nil {
			s.err = err
			return 0, err
		}
		if s.nhead > 0 {
			// The head was collected across writes: walk it first.
			if err := s.w.write(head[:need]); err != nil {
				s.err = err
				return 0, err
			}
		}
	}
	if len(p) > 0 {
		s.n += int64(len(p))
		if err := s.w.write(p); err != nil {
			s.err = err
			return 0, err
		}
	}
	return n, nil
}

// start decides the type from the head and starts its walker.
func (s *Stream) start(head []byte) error {
	v := s.v
	got, kind := sniff(head)
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
		return &Error{Reason: ReasonUnsupportedType, Field: FieldContent,
			Found: fmt.Sprintf("the content is %s; allowed: %s", describe(head, got, kind), v.allowedText()),
			Fix:   fix}
	}
	if s.want != "" && s.want != got {
		return &Error{Reason: ReasonTypeMismatch, Field: FieldImageType,
			Found: fmt.Sprintf("image_type says %q but the content is %s", s.want, got),
			Fix:   fmt.Sprintf("set image_type to %q, or upload the intended %s file", got, s.want)}
	}
	s.info.Type, s.info.MIME = t.name, t.mime
	switch t.name {
	case "jpg":
		s.w = newJPEGWalker()
	case "png":
		s.w = newPNGWalker(s.size)
	case "gif":
		s.w = newGIFWalker()
	case "bmp":
		w, h, err := checkBMP(head, s.size)
		if err != nil {
			return err
		}
		s.w = &bmpWalker{width: w, height: h}
	case "mp4":
		s.w = newMP4Walker(s.size)
	}
	return nil
}

// skip passes over the next n bytes without seeing them, as
// [Validator.Check] does with bytes the walker has no use for. The type
// must be known.
func (s *Stream) skip(n int64) error {
	s.n += n
	if err := s.w.skip(n); err != nil {
		s.err = err
	}
	return s.err
}

// Info returns what is known so far: Size from the start; Type and MIME
// once the head has been written and accepted (send them as image_type
// and as the file part's content type); Width and Height once Finish has
// accepted the file.
func (s *Stream) Info() Info { return s.info }

// Finish ends the check once the whole content has been written, and
// returns the file's [Info], or the rejection: a file whose structure is
// not complete is cut short. Content shorter than the size given to
// [Validator.Begin] is rejected as corrupt too.
func (s *Stream) Finish() (Info, error) {
	if s.err != nil {
		return Info{}, s.err
	}
	s.done = true
	if s.n < s.size {
		s.err = corrupt(fmt.Sprintf("the content is shorter than its stated size of %d bytes (%d arrived)", s.size, s.n), nil)
		return Info{}, s.err
	}
	w, h, err := s.w.end()
	if err != nil {
		s.err = err
		return Info{}, err
	}
	s.info.Width, s.info.Height = w, h
	return s.info, nil
}

// readBufs are the buffers Check reads through.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}
