package conffile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSize is the limit callers use for key, certificate, password and token
// files: far above any real one (a certificate chain is a few KiB).
const MaxSize = 1 << 20

var (
	// ErrNotRegular means the path names something other than a regular
	// file (a device, FIFO, socket or directory).
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means the file holds more than the allowed bytes.
	ErrTooLarge = errors.New("file too large")
)

// Read returns the content of the regular file at path, refusing anything
// else and any file larger than max bytes.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s, %w", path, kind(fi.Mode()), ErrNotRegular)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", path, ErrTooLarge, fi.Size(), max)
	}
	// The file may grow between fstat and read: read one byte past max.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, max)
	}
	return data, nil
}

// kind describes a file that is not regular.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "is a directory"
	case m&os.ModeNamedPipe != 0:
		return "is a FIFO"
	case m&os.ModeSocket != 0:
		return "is a socket"
	case m&os.ModeDevice != 0:
		return "is a device"
	}
	return "has mode " + m.String()
}
