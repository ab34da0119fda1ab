package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"sync"
)

// copyBufSize is the size of the buffer each upload borrows to move file
// bytes into the request. It is also the size of each write into the pipe,
// which the HTTP transport reads in one piece.
const copyBufSize = 32 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// maxEmptyReads is how many (0, nil) reads in a row are tolerated before a
// reader is declared stuck, as bufio does.
const maxEmptyReads = 100

// bodyPlan is one multipart body: text fields in order, then the file part.
// Planning renders everything but the file's bytes, so the length sent in
// Content-Length is exactly what [bodyPlan.produce] will write.
type bodyPlan struct {
	boundary string
	head     []byte // the text parts and the file part's header
	trailer  []byte // the closing boundary after the file's bytes
	size     int64  // bytes of the file part's content
	length   int64  // bytes of the whole body
}

// field is one text part; contentType, when set, is sent as the part's
// Content-Type (the v3 "data" part is application/json).
type field struct{ name, value, contentType string }

// planBody lays out the body and computes its length. An empty boundary
// means a random one.
func planBody(boundary string, fields []field, fileName, contentType string, size int64) (*bodyPlan, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if boundary != "" {
		if err := mw.SetBoundary(boundary); err != nil {
			return nil, fmt.Errorf("%w: multipart boundary: %v", ErrInvalidRequest, err)
		}
	}
	for _, f := range fields {
		if f.contentType == "" {
			if err := mw.WriteField(f.name, f.value); err != nil {
				return nil, err
			}
			continue
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Disposition": {`form-data; name="` + f.name + `"`},
			"Content-Type":        {f.contentType},
		})
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, f.value); err != nil {
			return nil, err
		}
	}
	if _, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {multipart.FileContentDisposition("image_content", fileName)},
		"Content-Type":        {contentType},
	}); err != nil {
		return nil, err
	}
	headLen := buf.Len()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	return &bodyPlan{
		boundary: mw.Boundary(),
		head:     body[:headLen],
		trailer:  body[headLen:],
		size:     size,
		length:   int64(len(body)) + size,
	}, nil
}

// contentType is the request's Content-Type header value.
func (p *bodyPlan) contentType() string {
	return "multipart/form-data; boundary=" + p.boundary
}

// produce writes the body into pw while the transport reads it from the
// other end of the pipe, reading exactly p.size bytes from content. It
// always closes pw: cleanly after the closing boundary, or with the error
// that stopped it, so the transport aborts the request instead of
// completing it. It returns a *contentError when content was at fault, and
// nil otherwise (a failed write means the transport gave up on the body;
// the transport reports why).
func (p *bodyPlan) produce(pw *io.PipeWriter, content io.Reader) *contentError {
	if _, err := pw.Write(p.head); err != nil {
		pw.CloseWithError(err)
		return nil
	}
	cerr, werr := copyExact(pw, content, p.size)
	switch {
	case cerr != nil:
		pw.CloseWithError(cerr)
		return cerr
	case werr != nil:
		pw.CloseWithError(werr)
		return nil
	}
	if _, err := pw.Write(p.trailer); err != nil {
		pw.CloseWithError(err)
		return nil
	}
	pw.Close()
	return nil
}

// copyExact copies exactly size bytes from src to dst and checks that src
// then ends. It reports src's failures (including a size mismatch) as
// cerr and dst's as werr. It stops at the first failure of either.
func copyExact(dst io.Writer, src io.Reader, size int64) (cerr *contentError, werr error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	remaining := size
	empty := 0
	for remaining > 0 {
		chunk := buf
		if int64(len(chunk)) > remaining {
			chunk = chunk[:remaining]
		}
		n, err := src.Read(chunk)
		if n < 0 || n > len(chunk) {
			return &contentError{err: errors.New("reader returned an impossible count"), what: "reading"}, nil
		}
		if n > 0 {
			empty = 0
			remaining -= int64(n)
			if _, err := dst.Write(chunk[:n]); err != nil {
				return nil, err
			}
		}
		switch {
		case err == io.EOF:
			if remaining > 0 {
				return sizeMismatch(fmt.Sprintf("ended after %d bytes, Size is %d", size-remaining, size)), nil
			}
			return nil, nil
		case err != nil:
			return &contentError{err: err, what: "reading"}, nil
		case n == 0:
			if empty++; empty >= maxEmptyReads {
				return &contentError{err: io.ErrNoProgress, what: "reading"}, nil
			}
		}
	}
	// Size bytes have gone out but the closing boundary has not: one more
	// read tells whether the content is longer than announced.
	for empty = 0; ; {
		n, err := src.Read(buf[:1])
		switch {
		case n > 0:
			return sizeMismatch(fmt.Sprintf("holds more than Size (%d) bytes", size)), nil
		case err == io.EOF:
			return nil, nil
		case err != nil:
			return &contentError{err: err, what: "reading"}, nil
		}
		if empty++; empty >= maxEmptyReads {
			return &contentError{err: io.ErrNoProgress, what: "reading"}, nil
		}
	}
}

// contentError is a failure of Request.Content. It matches [ErrContent] and
// unwraps to the reader's error or to [ErrSizeMismatch].
type contentError struct {
	err  error
	what string
}

func sizeMismatch(detail string) *contentError {
	return &contentError{err: ErrSizeMismatch, what: detail}
}

func (e *contentError) Error() string {
	if e.err == ErrSizeMismatch {
		return "upload: content " + e.what
	}
	return "upload: content: " + e.what + ": " + e.err.Error()
}

func (e *contentError) Unwrap() error        { return e.err }
func (e *contentError) Is(target error) bool { return target == ErrContent }

// class: a reader that failed because its context ended is not the file's
// fault, so that is retryable; anything else will fail again.
func (e *contentError) class() Class {
	if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
		return Retryable
	}
	return Permanent
}
