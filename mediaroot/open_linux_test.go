package mediaroot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openedNames watches dir with inotify while f runs and returns the names
// of the entries opened in dir (IN_OPEN). A Stat does not count as an
// open, so a file that is only checked never shows up.
func openedNames(t *testing.T, dir string, f func()) map[string]bool {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	mustDo(t, err)
	defer unix.Close(fd)
	_, err = unix.InotifyAddWatch(fd, dir, unix.IN_OPEN)
	mustDo(t, err)
	f()
	names := map[string]bool{}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return names
		}
		mustDo(t, err)
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			names[string(name)] = true
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// TestNonRegularNeverOpened checks the promise that FIFOs and directories
// are refused without being opened for reading, while regular files are
// opened (so the watch does see opens).
func TestNonRegularNeverOpened(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root)
	mustDo(t, os.Mkdir(filepath.Join(tr.root, "sub"), 0o755))
	opened := openedNames(t, tr.root, func() {
		for _, name := range []string{"fifo", "fifo-link", "sub", "top.jpg"} {
			var err error
			withTimeout(t, "Open("+name+")", func() {
				var f *os.File
				f, _, err = roots.Open(filepath.Join(tr.root, name))
				if err == nil {
					f.Close()
				}
			})
			if (err == nil) != (name == "top.jpg") {
				t.Errorf("Open(%s): %v", name, err)
			}
		}
	})
	if !opened["top.jpg"] {
		t.Errorf("the watch saw no open of top.jpg (saw %v): it proves nothing", opened)
	}
	for _, name := range []string{"fifo", "sub"} {
		if opened[name] {
			t.Errorf("%s was opened", name)
		}
	}
}
