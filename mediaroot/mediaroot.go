package mediaroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/internal/reasons"
)

// Sentinel errors. Open wraps them with the path concerned.
var (
	// ErrNotAbsolute: the path is empty or relative.
	ErrNotAbsolute = errors.New("mediaroot: path is not absolute")
	// ErrTraversal: the path has a ".." element.
	ErrTraversal = errors.New("mediaroot: path contains a \"..\" element")
	// ErrOutsideRoots: the path is not under any media root.
	ErrOutsideRoots = errors.New("mediaroot: path is outside the media roots")
	// ErrSymlinkEscape: resolving the path inside its root met a symbolic
	// link that leads out of the root (or an absolute one).
	ErrSymlinkEscape = errors.New("mediaroot: symbolic link leads outside the media root")
	// ErrNotRegular: the path names a directory, FIFO, device, socket or
	// anything else that is not a regular file.
	ErrNotRegular = errors.New("mediaroot: not a regular file")
	// ErrChanged: the file was replaced while it was being opened.
	ErrChanged = errors.New("mediaroot: file changed while being opened")
)

// errNoRoots: New was given no directory.
var errNoRoots = errors.New("mediaroot: no media roots configured")

// Reason is the stable, machine-readable cause of a refusal by [Roots.Open].
// Its string form is meant for metric labels, manifests, API answers and
// task errors, so the values never change once released.
type Reason string

// The reasons a path is refused. A refusal does not go away by trying
// again.
const (
	// ReasonNotAbsolute: [ErrNotAbsolute].
	ReasonNotAbsolute Reason = "not_absolute"
	// ReasonTraversal: [ErrTraversal].
	ReasonTraversal Reason = "traversal"
	// ReasonOutsideRoots: [ErrOutsideRoots].
	ReasonOutsideRoots Reason = "outside_roots"
	// ReasonSymlinkEscape: [ErrSymlinkEscape].
	ReasonSymlinkEscape Reason = "symlink_escape"
	// ReasonNotRegular: [ErrNotRegular].
	ReasonNotRegular Reason = "not_regular"
	// ReasonChanged: [ErrChanged].
	ReasonChanged Reason = "changed"
	// ReasonNotFound: the file (or a directory on its path) does not
	// exist; the error matches fs.ErrNotExist.
	ReasonNotFound Reason = "not_found"
	// ReasonPermission: the file may not be read; the error matches
	// fs.ErrPermission.
	ReasonPermission Reason = "permission"
)

var reasonTable = reasons.Table[Reason]{
	{Reason: ReasonNotAbsolute, Err: ErrNotAbsolute},
	{Reason: ReasonTraversal, Err: ErrTraversal},
	{Reason: ReasonOutsideRoots, Err: ErrOutsideRoots},
	{Reason: ReasonSymlinkEscape, Err: ErrSymlinkEscape},
	{Reason: ReasonNotRegular, Err: ErrNotRegular},
	{Reason: ReasonChanged, Err: ErrChanged},
	{Reason: ReasonNotFound, Err: fs.ErrNotExist},
	{Reason: ReasonPermission, Err: fs.ErrPermission},
}

// Fix says what a person can do about a refusal for reason r, for the
// messages that name the file and the refusal ("" for no reason).
func (r Reason) Fix() string {
	switch r {
	case ReasonNotAbsolute:
		return "give the file's absolute path"
	case ReasonTraversal:
		return `give the path without ".." elements`
	case ReasonOutsideRoots:
		return "move the file into a media root, or add its directory (or its s3://bucket/prefix/) to MEDIA_ROOTS (the workers' and the importer's)"
	case ReasonSymlinkEscape:
		return "copy the file into the media root, or make the link relative and keep its target inside the root"
	case ReasonNotRegular:
		return "name a regular file"
	case ReasonChanged:
		return "let whatever writes the file finish, then queue it again"
	case ReasonNotFound:
		return "check the path: was the file moved or deleted after it was queued?"
	case ReasonPermission:
		return "let the user the worker runs as read the file and search its directories"
	}
	return ""
}

// Reasons returns every reason, in a fixed order.
func Reasons() []Reason { return reasonTable.Reasons() }

// ReasonOf returns the reason err refuses a file for, or "" when err is
// nil or another system error (too many open files, an I/O error), which
// may go away when tried again.
func ReasonOf(err error) Reason {
	return reasonTable.Of(err)
}

// root is one configured media directory.
type root struct {
	dir  string // as configured, made absolute and cleaned
	real string // dir with its own symbolic links resolved
}

// Roots is a set of media directories that files may be read from. It is
// immutable and safe for concurrent use; it holds no open descriptors, so
// there is nothing to close.
type Roots struct {
	roots   []root
	buckets []bucketRoot
	store   Store // opens objects; nil: none (see WithStore)
	// between, when set, runs after the checks and before the open for
	// reading: tests use it to replace the file at the worst moment.
	between func()
}

// New returns the Roots for dirs. Each must exist and be a directory
// (a symbolic link to one is fine); relative ones are made absolute against
// the working directory; duplicates are dropped. An s3://bucket/prefix/
// entry is a bucket media root instead: objects under the prefix may be
// opened with [Roots.OpenObject] once a [Store] is given ([Roots.WithStore]);
// New does not reach the store. The error names the first bad root.
func New(dirs ...string) (*Roots, error) {
	r := &Roots{}
	seen := map[string]bool{}
	for _, d := range dirs {
		if strings.TrimSpace(d) == "" {
			return nil, fmt.Errorf("mediaroot: empty media root in %q", dirs)
		}
		if IsObjectURL(d) {
			b, err := newBucketRoot(d)
			if err != nil {
				return nil, err
			}
			if !seen[b.String()] {
				seen[b.String()] = true
				r.buckets = append(r.buckets, b)
			}
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("mediaroot: media root %q: %w", d, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("mediaroot: media root %q does not exist: %w", d, err)
			}
			return nil, fmt.Errorf("mediaroot: media root %q: %w", d, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("mediaroot: media root %q is %s, not a directory", d, conffile.Kind(st.Mode()))
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("mediaroot: media root %q: %w", d, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		r.roots = append(r.roots, root{dir: abs, real: real})
	}
	if len(r.roots) == 0 && len(r.buckets) == 0 {
		return nil, errNoRoots
	}
	return r, nil
}

// CheckAccess reports the first root this process cannot list, or in
// which it cannot open files: each root is opened as an [os.Root], "."
// is opened inside it (which needs search permission) and read. New does
// not check it, since a root may become readable later; a worker calls it
// at start-up, so that a root it cannot read is a configuration error
// rather than every job failing with "permission". The error matches
// fs.ErrPermission when permission is what is missing.
func (r *Roots) CheckAccess() error {
	for _, rt := range r.roots {
		if err := canList(rt.dir); err != nil {
			return fmt.Errorf("mediaroot: media root %q cannot be listed, or files in it opened, by this process (uid %d): %w; give it read and search permission (e.g. chmod a+rx on it and its parents, or run as its owner)",
				rt.dir, os.Geteuid(), err)
		}
	}
	return nil
}

// canList opens dir as a root, opens "." inside it and reads one entry.
func canList(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Dirs returns the directory media roots as absolute, cleaned paths, in configured
// order.
func (r *Roots) Dirs() []string {
	out := make([]string, len(r.roots))
	for i, x := range r.roots {
		out[i] = x.dir
	}
	return out
}

// ParseList splits the value of a MEDIA_ROOTS-style setting into
// directories and bucket URLs. Entries are separated by commas or colons
// (so both "/srv/a:/srv/b" and "/srv/a,/srv/b" work, and a path cannot
// contain either character); a list that holds a URL ("://") is separated
// by commas only ("/srv/a,s3://media/photos/"). White space around an
// entry is trimmed and empty entries are dropped.
func ParseList(s string) []string {
	sep := func(r rune) bool { return r == ',' || r == ':' }
	if strings.Contains(s, "://") {
		sep = func(r rune) bool { return r == ',' }
	}
	var out []string
	for _, f := range strings.FieldsFunc(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Contains reports whether path is, by its spelling alone, an absolute path
// without ".." elements under one of the roots (or a root itself). It does
// not touch the file system: a path it accepts may still be refused by Open
// (missing, not a regular file, or a symbolic link leading out).
func (r *Roots) Contains(path string) bool {
	if IsObjectURL(path) {
		_, _, err := r.locateObject(path)
		return err == nil
	}
	_, _, err := r.locate(path)
	return err == nil
}

// locate checks path's spelling and returns the root it is under and the
// path relative to that root ("." for the root itself).
func (r *Roots) locate(path string) (root, string, error) {
	if IsObjectURL(path) {
		return root{}, "", fmt.Errorf("%w: %q names an object: open it with OpenObject", ErrNotRegular, path)
	}
	if path == "" || !filepath.IsAbs(path) {
		return root{}, "", fmt.Errorf("%w: %q", ErrNotAbsolute, path)
	}
	for _, el := range strings.Split(filepath.ToSlash(path), "/") {
		if el == ".." {
			return root{}, "", fmt.Errorf("%w: %q", ErrTraversal, path)
		}
	}
	clean := filepath.Clean(path)
	best, bestRel := -1, ""
	bestLen := -1
	for i, x := range r.roots {
		for _, dir := range []string{x.dir, x.real} {
			rel, ok := under(dir, clean)
			if ok && len(dir) > bestLen {
				best, bestRel, bestLen = i, rel, len(dir)
			}
		}
	}
	if best < 0 {
		where := strings.Join(r.Dirs(), ", ")
		if where == "" {
			where = "no directory (MEDIA_ROOTS names buckets only)"
		}
		return root{}, "", fmt.Errorf("%w: %q is not under %s", ErrOutsideRoots, path, where)
	}
	return r.roots[best], bestRel, nil
}

// under returns path relative to dir when path is dir or below it.
func under(dir, path string) (string, bool) {
	if path == dir {
		return ".", true
	}
	prefix := dir
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok {
		return rest, true
	}
	return "", false
}

// Open opens path for reading after checking that it is absolute, has no
// ".." element, lies under a root, resolves without leaving that root, and
// is a regular file. Anything else is refused before the file is opened for
// reading, so a FIFO cannot block the caller and a device is not touched.
// It returns the open file and its FileInfo (from the open descriptor).
//
// Errors wrap ErrNotAbsolute, ErrTraversal, ErrOutsideRoots,
// ErrSymlinkEscape, ErrNotRegular or ErrChanged, or the system's error,
// which matches fs.ErrNotExist for a missing file and fs.ErrPermission for
// an unreadable one; [ReasonOf] names the refusal.
func (r *Roots) Open(path string) (*os.File, os.FileInfo, error) {
	rt, rel, err := r.locate(path)
	if err != nil {
		return nil, nil, err
	}
	f, fi, err := openBeneath(rt.dir, rel, r.between)
	if err != nil {
		return nil, nil, explain("open", path, err)
	}
	return f, fi, nil
}

// refusal is a rule violation found below Open: the sentinel, what was
// found, and the system's error when there is one. explain turns it into
// the error Open returns, with the path.
type refusal struct {
	sentinel error
	detail   string // e.g. "is a directory"
	cause    error  // may be nil
}

func (r *refusal) Error() string { return r.sentinel.Error() + ": " + r.detail }

func notRegular(m fs.FileMode) error {
	return &refusal{sentinel: ErrNotRegular, detail: "is " + conffile.Kind(m)}
}

// explain wraps an error from the implementations with the operation and
// the path as the caller gave it: "mediaroot: not a regular file: "/srv/
// media/x" is a directory" for refusals, "mediaroot: open "/srv/media/x":
// <system error>" otherwise.
func explain(op, path string, err error) error {
	var r *refusal
	if !errors.As(err, &r) {
		return fmt.Errorf("mediaroot: %s %q: %w", op, path, err)
	}
	if r.cause != nil {
		return fmt.Errorf("%w: %q %s: %w", r.sentinel, path, r.detail, r.cause)
	}
	return fmt.Errorf("%w: %q %s", r.sentinel, path, r.detail)
}
