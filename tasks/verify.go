package tasks

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrChanged reports a file whose size or content is no longer what was
// recorded when its task was queued. It is permanent: the job described a
// file that no longer exists in that form.
var ErrChanged = errors.New("tasks: file changed since enqueue")

// verifyingReader passes through exactly size bytes of r while hashing them.
// Instead of io.EOF it returns an error wrapping ErrChanged when r ends early
// or the bytes do not hash to want. On a hash mismatch the final chunk is
// withheld, so a consumer that stops after size bytes (io.CopyN) still sees a
// short read and the error, and an HTTP body built from it never completes.
type verifyingReader struct {
	r    io.Reader
	want []byte
	size int64
	n    int64
	h    hash.Hash
	err  error // sticky: io.EOF once verified, or the failure
}

func newVerifyingReader(r io.Reader, size int64, want []byte) *verifyingReader {
	return &verifyingReader{r: r, want: want, size: size, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if rem := v.size - v.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n == v.size {
		if !bytes.Equal(v.h.Sum(nil), v.want) {
			v.err = fmt.Errorf("%w: sha256 differs", ErrChanged)
			return 0, v.err
		}
		v.err = io.EOF
		return n, nil
	}
	switch {
	case err == io.EOF:
		v.err = fmt.Errorf("%w: file ended after %d of %d bytes", ErrChanged, v.n, v.size)
		return n, v.err
	case err != nil:
		v.err = err
		return n, err
	}
	return n, nil
}
