package httpapi

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errTooLarge: the file part is longer than the limit.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string { return fmt.Sprintf("file over %d bytes", e.limit) }

// readError marks an error reading the request (as opposed to writing the
// spool file).
type readError struct{ err error }

func (e *readError) Error() string { return "read request: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type errReader struct{ r io.Reader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &readError{err}
	}
	return n, err
}

// spooled is a file part written to the spool directory. It lives under a
// hidden temporary name until commit links it to its content-addressed
// name, <sha256><ext>.
type spooled struct {
	dir     string
	tmp     string // temporary file, "" once removed
	ext     string
	sum     string // lowercase hex SHA-256, computed while writing
	size    int64
	path    string // final path after commit
	created bool   // commit created path (it did not exist before)
	kept    bool   // a task refers to path: do not remove it
}

// spoolPart copies part into a new temporary file in the spool directory,
// hashing it on the way; memory use is one copy buffer whatever the size.
// A part longer than limit gives errTooLarge and leaves nothing behind.
func (s *Server) spoolPart(part interface {
	io.Reader
	FileName() string
}, limit int64) (*spooled, error) {
	// A bucket spool receives the file in this host's temporary
	// directory first (s.spool is then "").
	f, err := os.CreateTemp(s.spool, ".upload-*.part")
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	sp := &spooled{dir: s.spool, tmp: f.Name(), ext: safeExt(part.FileName())}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), errReader{io.LimitReader(part, limit+1)}, make([]byte, 32<<10))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write spool file: %w", cerr)
	}
	if err == nil && n > limit {
		err = errTooLarge{limit}
	}
	if err == nil {
		err = os.Chmod(sp.tmp, 0o640)
	}
	if err != nil {
		sp.discard()
		return nil, err
	}
	sp.size = n
	sp.sum = fmt.Sprintf("%x", h.Sum(nil))
	return sp, nil
}

// commit gives the file its content-addressed name. If a file of that
// name exists already (the same content was sent before), it is reused and
// the temporary file dropped.
func (sp *spooled) commit() error {
	final := filepath.Join(sp.dir, sp.sum+sp.ext)
	err := os.Link(sp.tmp, final)
	switch {
	case err == nil:
		sp.created = true
	case errors.Is(err, fs.ErrExist):
		// Sent again: it counts as used now, for the sweep's grace period.
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return fmt.Errorf("touch spool file: %w", err)
		}
	default:
		return fmt.Errorf("link spool file: %w", err)
	}
	_ = os.Remove(sp.tmp)
	sp.tmp = ""
	sp.path = final
	return nil
}

// keep marks the file as referred to by a task.
func (sp *spooled) keep() { sp.kept = true }

// discard removes what this request created and no task refers to.
func (sp *spooled) discard() {
	if sp.tmp != "" {
		_ = os.Remove(sp.tmp)
		sp.tmp = ""
	}
	if sp.created && !sp.kept {
		_ = os.Remove(sp.path)
		sp.created = false
	}
}

// safeExt returns the lowercase extension of name if it is a short
// alphanumeric word, e.g. ".jpg"; otherwise "".
func safeExt(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) < 2 || len(ext) > 9 {
		return ""
	}
	for _, c := range ext[1:] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return ext
}
