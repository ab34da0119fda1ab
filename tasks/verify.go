package tasks

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/storemedia/alipay-media-worker/validate"
)

// ErrChanged reports a file whose size or content is no longer what was
// recorded when its task was queued. It is permanent: the job described a
// file that no longer exists in that form.
var ErrChanged = errors.New("tasks: file changed since enqueue")

// verifyingReader passes through exactly size bytes of r while hashing them
// and, when check is set, checking their structure. Instead of io.EOF it
// returns an error wrapping ErrChanged when r ends early or the bytes do
// not hash to want, and check's rejection when the structure is broken. On
// a failure found with the last bytes (a hash mismatch, a file cut short)
// the final chunk is withheld, so a consumer that stops after size bytes
// (io.CopyN) still sees a short read and the error, and an HTTP body built
// from it never completes.
//
// A structural rejection found before the end may come from a file that
// changed since enqueue: the rest of the file is then read through the
// hash (not passed on) to tell which, and a changed file is reported as
// changed.
type verifyingReader struct {
	r     io.Reader
	want  []byte
	size  int64
	n     int64 // bytes read from r, hashed and checked
	h     hash.Hash
	check *validate.Stream // nil: hash only
	ready []byte           // bytes read by prime, not yet passed on
	err   error            // sticky: io.EOF once verified, or the failure
}

func newVerifyingReader(r io.Reader, size int64, want []byte, check *validate.Stream) *verifyingReader {
	return &verifyingReader{r: r, want: want, size: size, h: sha256.New(), check: check}
}

// prime reads the first len(buf) bytes (all of a smaller file) into buf and
// hashes and checks them, before anything is passed on: the content type
// is known then, and a small file is verified whole, so that a bad one
// never starts a request. Read passes them on first. buf must stay
// untouched until the reader is done with.
func (v *verifyingReader) prime(buf []byte) error {
	buf = buf[:min(int64(len(buf)), v.size)]
	n, err := io.ReadFull(v.r, buf)
	if err := v.take(buf[:n], err); err != nil {
		return err
	}
	v.ready = buf
	return nil
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil && (v.err != io.EOF || len(v.ready) == 0) {
		return 0, v.err
	}
	if len(v.ready) > 0 {
		n := copy(p, v.ready)
		v.ready = v.ready[n:]
		return n, nil
	}
	if rem := v.size - v.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := v.r.Read(p)
	if err := v.take(p[:n], err); err != nil {
		return 0, err
	}
	return n, nil
}

// take hashes and checks the next bytes b, read with err. It returns the
// failure, withholding b, or nil.
func (v *verifyingReader) take(b []byte, err error) error {
	v.h.Write(b)
	v.n += int64(len(b))
	if v.check != nil && len(b) > 0 {
		if _, cerr := v.check.Write(b); cerr != nil {
			v.err = v.changedOr(cerr)
			return v.err
		}
	}
	switch {
	case v.n == v.size:
		v.err = v.finish()
		if v.err != io.EOF {
			return v.err
		}
		return nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		v.err = fmt.Errorf("%w: file ended after %d of %d bytes", ErrChanged, v.n, v.size)
		return v.err
	case err != nil:
		v.err = err
		return err
	}
	return nil
}

// finish verifies the hash, then the structure, once size bytes are in.
func (v *verifyingReader) finish() error {
	if !bytes.Equal(v.h.Sum(nil), v.want) {
		return fmt.Errorf("%w: sha256 differs", ErrChanged)
	}
	if v.check != nil {
		if _, err := v.check.Finish(); err != nil {
			return err
		}
	}
	return io.EOF
}

// changedOr reads the rest of the file through the hash after the check
// rejected it, and returns ErrChanged if the file is not the one queued,
// else the rejection.
func (v *verifyingReader) changedOr(rejection error) error {
	var buf [4096]byte
	for empty := 0; v.n < v.size; {
		n, err := v.r.Read(buf[:min(int64(len(buf)), v.size-v.n)])
		v.h.Write(buf[:n])
		v.n += int64(n)
		if n == 0 {
			empty++
		}
		switch {
		case v.n == v.size:
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return fmt.Errorf("%w: file ended after %d of %d bytes", ErrChanged, v.n, v.size)
		case err != nil, empty == 100:
			return rejection // unreadable: the rejection is what is known
		}
	}
	if !bytes.Equal(v.h.Sum(nil), v.want) {
		return fmt.Errorf("%w: sha256 differs", ErrChanged)
	}
	return rejection
}
