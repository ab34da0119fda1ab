package mediaroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// haveOpenat2 reports whether the kernel offers openat2(2) (Linux 5.6+)
// and no seccomp filter hides it. Probed once.
var haveOpenat2 = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false // ENOSYS, or EPERM from a seccomp filter
	}
	unix.Close(fd)
	return true
})

// resolveBeneath: stay under the root's directory descriptor (".." above
// it, absolute paths and absolute or escaping symbolic links fail with
// EXDEV) and never follow /proc magic links.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openat2 retries the EAGAIN the kernel returns when a concurrent rename
// may have disturbed a RESOLVE_BENEATH walk.
func openat2(dirfd int, path string, flags uint64) (int, error) {
	how := &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolveBeneath}
	for range 8 {
		fd, err := unix.Openat2(dirfd, path, how)
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

func openat2Err(op, path string, err error) error {
	if errors.Is(err, unix.EXDEV) {
		return &refusal{sentinel: ErrSymlinkEscape, detail: "goes through an absolute symbolic link or one that climbs out of its root (links must be relative and stay inside)"}
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// openat2Beneath resolves rel under dir with openat2. It first opens an
// O_PATH descriptor, which does not open the file for reading, and checks
// with fstat that it is a regular file. Only then, when forRead is set, is
// the file opened for reading: with O_NONBLOCK so that a FIFO swapped in
// meanwhile cannot block, and compared (device and inode) with what was
// checked. O_NONBLOCK is cleared on the returned file (clearing it on a
// FIFO that is then refused blocks nothing: it is only stat'ed and closed).
// The FileInfo returned is that of the open file.
func openat2Beneath(dir, rel string, forRead bool, between func()) (*os.File, os.FileInfo, error) {
	rootfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(rootfd)

	pfd, err := openat2(rootfd, rel, unix.O_PATH)
	if err != nil {
		return nil, nil, openat2Err("openat2", rel, err)
	}
	var want unix.Stat_t
	err = unix.Fstat(pfd, &want)
	unix.Close(pfd)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "fstat", Path: rel, Err: err}
	}
	if want.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, notRegular(modeOf(want.Mode))
	}
	if !forRead {
		return nil, nil, nil
	}
	if between != nil {
		between()
	}

	fd, err := openat2(rootfd, rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, nil, openat2Err("openat2", rel, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "fcntl", Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, rel))
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	got, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() || uint64(got.Dev) != uint64(want.Dev) || uint64(got.Ino) != uint64(want.Ino) {
		f.Close()
		return nil, nil, &refusal{sentinel: ErrChanged, detail: "was replaced between the check and the open"}
	}
	return f, fi, nil
}

// modeOf converts the file type bits of st_mode.
func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFREG:
		return 0
	}
	return fs.ModeIrregular
}
