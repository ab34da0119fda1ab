package mediaroot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tree is a media root with every kind of entry the tests need, next to an
// outside directory holding a secret and a second root.
type tree struct {
	base, root, root2, outside string
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newTree(t *testing.T) tree {
	t.Helper()
	base := t.TempDir()
	tr := tree{
		base:    base,
		root:    filepath.Join(base, "root"),
		root2:   filepath.Join(base, "root2"),
		outside: filepath.Join(base, "outside"),
	}
	for _, d := range []string{tr.root, tr.root2, tr.outside, filepath.Join(tr.root, "photos"), filepath.Join(tr.root, "dir")} {
		mustDo(t, os.MkdirAll(d, 0o755))
	}
	write := func(path, s string) { mustDo(t, os.WriteFile(path, []byte(s), 0o644)) }
	write(filepath.Join(tr.root, "top.jpg"), "top")
	write(filepath.Join(tr.root, "photos", "a.jpg"), "inside-a")
	write(filepath.Join(tr.root2, "b.jpg"), "root2-b")
	write(filepath.Join(tr.outside, "secret.jpg"), "SECRET")
	links := map[string]string{
		"alias.jpg":     "photos/a.jpg",                            // relative, inside
		"photolink":     "photos",                                  // directory link, inside
		"dotted.jpg":    "photos/../top.jpg",                       // relative with "..", stays inside
		"rel-out.jpg":   "../outside/secret.jpg",                   // relative, climbs out
		"abs-out.jpg":   filepath.Join(tr.outside, "secret.jpg"),   // absolute, outside
		"abs-in.jpg":    filepath.Join(tr.root, "photos", "a.jpg"), // absolute, inside: refused too
		"rel-out-dir":   "../outside",                              // directory link, out
		"abs-out-dir":   tr.outside,                                // absolute directory link, out
		"to-root2.jpg":  "../root2/b.jpg",                          // into another root: still out
		"etc-passwd":    "/etc/passwd",                             // the classic
		"fifo-link":     "fifo",                                    // link to a FIFO
		"dangling.jpg":  "nothing-here.jpg",                        // target missing
		"loop1":         "loop2",                                   // a loop
		"loop2":         "loop1",                                   //
		"proc-self-fd0": "/proc/self/fd/0",                         // magic link
		"dir-link":      "dir",                                     // link to a directory
		"deep-out.jpg":  "photos/../../outside/secret.jpg",         // climbs out through a subdirectory
		"chain.jpg":     "alias.jpg",                               // link to a link, inside
		"chain-out.jpg": "rel-out.jpg",                             // link to an escaping link
	}
	for name, target := range links {
		mustDo(t, os.Symlink(target, filepath.Join(tr.root, name)))
	}
	mustDo(t, syscall.Mkfifo(filepath.Join(tr.root, "fifo"), 0o644))
	return tr
}

func newRoots(t *testing.T, dirs ...string) *Roots {
	t.Helper()
	r, err := New(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// withTimeout fails the test if f does not return soon: Open on a FIFO
// must not block.
func withTimeout(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

// nonblocking reports whether f's descriptor has O_NONBLOCK set (without
// calling f.Fd, which would clear it).
func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	mustDo(t, err)
	var flags int
	var ferr error
	mustDo(t, rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }))
	mustDo(t, ferr)
	return flags&unix.O_NONBLOCK != 0
}

type openCase struct {
	path    string
	want    error  // nil: success
	content string // on success
}

func openCases(tr tree) []openCase {
	r := func(p string) string { return tr.root + "/" + p }
	return []openCase{
		{path: r("top.jpg"), content: "top"},
		{path: r("photos/a.jpg"), content: "inside-a"},
		{path: r("photos//./a.jpg"), content: "inside-a"},
		{path: r("alias.jpg"), content: "inside-a"},
		{path: r("photolink/a.jpg"), content: "inside-a"},
		{path: r("dotted.jpg"), content: "top"},
		{path: r("chain.jpg"), content: "inside-a"},
		{path: filepath.Join(tr.root2, "b.jpg"), content: "root2-b"},

		{path: "", want: ErrNotAbsolute},
		{path: "photos/a.jpg", want: ErrNotAbsolute},
		{path: "./top.jpg", want: ErrNotAbsolute},
		{path: r("photos/../top.jpg"), want: ErrTraversal},
		{path: r("../outside/secret.jpg"), want: ErrTraversal},
		{path: r("photos/.."), want: ErrTraversal},
		{path: filepath.Join(tr.outside, "secret.jpg"), want: ErrOutsideRoots},
		{path: "/etc/passwd", want: ErrOutsideRoots},
		{path: tr.root + "x/top.jpg", want: ErrOutsideRoots}, // shares the prefix only
		{path: tr.base, want: ErrOutsideRoots},

		{path: r("rel-out.jpg"), want: ErrSymlinkEscape},
		{path: r("abs-out.jpg"), want: ErrSymlinkEscape},
		{path: r("abs-in.jpg"), want: ErrSymlinkEscape},
		{path: r("rel-out-dir/secret.jpg"), want: ErrSymlinkEscape},
		{path: r("abs-out-dir/secret.jpg"), want: ErrSymlinkEscape},
		{path: r("to-root2.jpg"), want: ErrSymlinkEscape},
		{path: r("etc-passwd"), want: ErrSymlinkEscape},
		{path: r("deep-out.jpg"), want: ErrSymlinkEscape},
		{path: r("chain-out.jpg"), want: ErrSymlinkEscape},
		{path: r("proc-self-fd0"), want: ErrSymlinkEscape},

		{path: tr.root, want: ErrNotRegular},
		{path: tr.root + "/", want: ErrNotRegular},
		{path: r("dir"), want: ErrNotRegular},
		{path: r("dir-link"), want: ErrNotRegular},
		{path: r("fifo"), want: ErrNotRegular},
		{path: r("fifo-link"), want: ErrNotRegular},

		{path: r("missing.jpg"), want: fs.ErrNotExist},
		{path: r("photos/missing/a.jpg"), want: fs.ErrNotExist},
		{path: r("dangling.jpg"), want: fs.ErrNotExist},
		{path: r("loop1"), want: syscall.ELOOP},
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root, tr.root2)
	for _, tc := range openCases(tr) {
		var (
			f   *os.File
			fi  os.FileInfo
			err error
		)
		withTimeout(t, "Open("+tc.path+")", func() { f, fi, err = roots.Open(tc.path) })
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Errorf("Open(%q) = %v, want %v", tc.path, err, tc.want)
			}
			if f != nil || fi != nil {
				t.Errorf("Open(%q) returned a file with error %v", tc.path, err)
				f.Close()
			}
			if err != nil && !strings.HasPrefix(err.Error(), "mediaroot: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.path, err)
			continue
		}
		if nonblocking(t, f) {
			t.Errorf("Open(%q) returned a file still in O_NONBLOCK mode", tc.path)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil || string(b) != tc.content {
			t.Errorf("Open(%q) read %q, %v; want %q", tc.path, b, err, tc.content)
		}
		if !fi.Mode().IsRegular() || fi.Size() != int64(len(tc.content)) {
			t.Errorf("Open(%q) FileInfo mode %v size %d", tc.path, fi.Mode(), fi.Size())
		}
	}
}

// A FIFO with no writer blocks a plain open for reading forever; Open must
// refuse it at once, and must not have opened it (a writer opening with
// O_NONBLOCK would then succeed).
func TestFIFONotOpenedForRead(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root)
	fifo := filepath.Join(tr.root, "fifo")
	var err error
	withTimeout(t, "Open(fifo)", func() { _, _, err = roots.Open(fifo) })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("Open(fifo) = %v", err)
	}
	// No reader holds the FIFO open: a non-blocking writer gets ENXIO.
	w, werr := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if werr == nil {
		w.Close()
		t.Fatal("the FIFO has a reader left open by Open")
	}
	if !errors.Is(werr, syscall.ENXIO) {
		t.Fatalf("opening the FIFO for writing: %v", werr)
	}
}

func TestDevices(t *testing.T) {
	t.Parallel()
	roots := newRoots(t, "/dev")
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/urandom"} {
		var err error
		withTimeout(t, "Open("+p+")", func() { _, _, err = roots.Open(p) })
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "character device") {
			t.Errorf("Open(%s) = %v", p, err)
		}
	}
	// Outside the roots, a device is refused by its path alone.
	other := newRoots(t, t.TempDir())
	if _, _, err := other.Open("/dev/null"); !errors.Is(err, ErrOutsideRoots) {
		t.Errorf("Open(/dev/null) outside roots = %v", err)
	}
}

// A root reached through a symbolic link can be named both ways.
func TestSymlinkedRoot(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	link := filepath.Join(tr.base, "media")
	mustDo(t, os.Symlink("root", link))
	roots := newRoots(t, link)
	for _, p := range []string{filepath.Join(link, "top.jpg"), filepath.Join(tr.root, "top.jpg")} {
		f, _, err := roots.Open(p)
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		f.Close()
	}
	if _, _, err := roots.Open(filepath.Join(link, "rel-out.jpg")); !errors.Is(err, ErrSymlinkEscape) {
		t.Errorf("escape through a symlinked root: %v", err)
	}
}

// TestSwapBetweenCheckAndOpen replaces the file, or a directory on its
// path, right after Open has checked it and before it opens it for reading:
// the worst moment for a check-then-open implementation. Open must refuse.
func TestSwapBetweenCheckAndOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string // relative to the root
		swap func(t *testing.T, tr tree)
		want error
	}{
		{
			name: "file becomes a link out",
			path: "victim.jpg",
			swap: func(t *testing.T, tr tree) {
				mustDo(t, os.Remove(filepath.Join(tr.root, "victim.jpg")))
				mustDo(t, os.Symlink(filepath.Join(tr.outside, "secret.jpg"), filepath.Join(tr.root, "victim.jpg")))
			},
			want: ErrSymlinkEscape,
		},
		{
			name: "directory becomes a link out",
			path: "vdir/secret.jpg",
			swap: func(t *testing.T, tr tree) {
				mustDo(t, os.Rename(filepath.Join(tr.root, "vdir"), filepath.Join(tr.root, "vdir.old")))
				mustDo(t, os.Symlink(tr.outside, filepath.Join(tr.root, "vdir")))
			},
			want: ErrSymlinkEscape,
		},
		{
			name: "file replaced by another file",
			path: "victim.jpg",
			swap: func(t *testing.T, tr tree) {
				mustDo(t, os.Rename(filepath.Join(tr.root, "top.jpg"), filepath.Join(tr.root, "victim.jpg")))
			},
			want: ErrChanged,
		},
		{
			name: "file replaced by a FIFO",
			path: "victim.jpg",
			swap: func(t *testing.T, tr tree) {
				mustDo(t, os.Remove(filepath.Join(tr.root, "victim.jpg")))
				mustDo(t, syscall.Mkfifo(filepath.Join(tr.root, "victim.jpg"), 0o644))
			},
			want: ErrChanged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			mustDo(t, os.WriteFile(filepath.Join(tr.root, "victim.jpg"), []byte("inside"), 0o644))
			mustDo(t, os.Mkdir(filepath.Join(tr.root, "vdir"), 0o755))
			mustDo(t, os.WriteFile(filepath.Join(tr.root, "vdir", "secret.jpg"), []byte("inside"), 0o644))
			roots := newRoots(t, tr.root)
			calls := 0
			roots.between = func() { calls++; tc.swap(t, tr) }
			var (
				f   *os.File
				err error
			)
			withTimeout(t, "Open", func() { f, _, err = roots.Open(filepath.Join(tr.root, tc.path)) })
			if calls != 1 {
				t.Fatalf("the swap ran %d times", calls)
			}
			if err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				t.Fatalf("Open succeeded after the swap and read %q", b)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSwapRace swaps, while files are being opened, (a) a directory on the
// path with a symbolic link to the outside and (b) the file itself with a
// symbolic link to the outside secret. Whatever interleaving occurs, Open
// must never return the secret.
func TestSwapRace(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root)
	j := func(p ...string) string { return filepath.Join(append([]string{tr.root}, p...)...) }
	mustDo(t, os.Mkdir(j("swap"), 0o755))
	mustDo(t, os.WriteFile(j("swap", "secret.jpg"), []byte("inside"), 0o644))
	mustDo(t, os.Symlink(tr.outside, j("hold-link")))
	mustDo(t, os.WriteFile(j("swapf.jpg"), []byte("inside"), 0o644))
	mustDo(t, os.Symlink(filepath.Join(tr.outside, "secret.jpg"), j("holdf-link")))

	var stop atomic.Bool
	var wg sync.WaitGroup
	flip := func(slot, holdReal, holdLink string) {
		defer wg.Done()
		for !stop.Load() {
			os.Rename(j(slot), j(holdReal))
			os.Rename(j(holdLink), j(slot))
			os.Rename(j(slot), j(holdLink))
			os.Rename(j(holdReal), j(slot))
		}
	}
	wg.Add(2)
	go flip("swap", "hold-dir", "hold-link")
	go flip("swapf.jpg", "holdf-real", "holdf-link")

	var opened, refused int
	for i := range 600 {
		p := j("swap", "secret.jpg")
		if i%2 == 1 {
			p = j("swapf.jpg")
		}
		f, _, err := roots.Open(p)
		if err != nil {
			refused++
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		opened++
		if string(b) != "inside" {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("Open(%q) escaped the root and read %q", p, b)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("opened %d, refused %d", opened, refused)
}

func TestContains(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root, tr.root2)
	for p, want := range map[string]bool{
		tr.root:                              true,
		tr.root + "/top.jpg":                 true,
		tr.root + "/no/such/file":            true, // spelling only
		tr.root + "/abs-out.jpg":             true, // spelling only
		tr.root2 + "/b.jpg":                  true,
		tr.root + "/../outside/secret.jpg":   false,
		tr.root + "/photos/../top.jpg":       false,
		tr.root + "x":                        false,
		tr.outside + "/secret.jpg":           false,
		"top.jpg":                            false,
		"":                                   false,
		"/":                                  false,
		strings.TrimPrefix(tr.root, "/"):     false,
		tr.root + "//photos/./a.jpg":         true,
		filepath.Dir(tr.root) + "/./root/a.": true,
	} {
		if got := roots.Contains(p); got != want {
			t.Errorf("Contains(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tr := newTree(t)

	missing := filepath.Join(tr.base, "no-such-dir")
	_, err := New(tr.root, missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("New with a missing dir: %v", err)
	}
	file := filepath.Join(tr.root, "top.jpg")
	if _, err := New(file); err == nil || !strings.Contains(err.Error(), "not a directory") || !strings.Contains(err.Error(), file) {
		t.Errorf("New with a file: %v", err)
	}
	if _, err := New(); !errors.Is(err, errNoRoots) {
		t.Errorf("New(): %v", err)
	}
	if _, err := New(tr.root, " "); err == nil {
		t.Error("New with a blank dir: no error")
	}

	// Relative dirs are made absolute; duplicates are dropped.
	cwd, err := os.Getwd()
	mustDo(t, err)
	rel, err := filepath.Rel(cwd, tr.root)
	mustDo(t, err)
	r, err := New(rel, tr.root, tr.root+"/", tr.root2)
	mustDo(t, err)
	if got, want := r.Dirs(), []string{tr.root, tr.root2}; !slices.Equal(got, want) {
		t.Errorf("Dirs = %v, want %v", got, want)
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":                          nil,
		"/srv/media":                {"/srv/media"},
		"/srv/a:/srv/b":             {"/srv/a", "/srv/b"},
		"/srv/a,/srv/b":             {"/srv/a", "/srv/b"},
		" /srv/a , /srv/b ::,":      {"/srv/a", "/srv/b"},
		"/srv/a:/srv/b,/srv/c":      {"/srv/a", "/srv/b", "/srv/c"},
		"/srv/with space:/srv/x\t":  {"/srv/with space", "/srv/x"},
		"/srv/a,s3://media/shop/":   {"/srv/a", "s3://media/shop/"},
		"s3://media/a:b/, s3://x-y": {"s3://media/a:b/", "s3://x-y"},
	} {
		if got := ParseList(in); !slices.Equal(got, want) {
			t.Errorf("ParseList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			p := filepath.Join(tr.root, "top.jpg")
			if i%2 == 1 {
				p = filepath.Join(tr.root, "alias.jpg")
			}
			f, _, err := roots.Open(p)
			if err != nil {
				errs <- err
				return
			}
			f.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReasonOf checks that every refusal of Open has its reason, and that
// other system errors have none (they may be worth retrying).
func TestReasonOf(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	roots := newRoots(t, tr.root, tr.root2)
	mustDo(t, os.WriteFile(filepath.Join(tr.root, "locked.jpg"), []byte("x"), 0o000))
	want := map[error]Reason{
		ErrNotAbsolute:   ReasonNotAbsolute,
		ErrTraversal:     ReasonTraversal,
		ErrOutsideRoots:  ReasonOutsideRoots,
		ErrSymlinkEscape: ReasonSymlinkEscape,
		ErrNotRegular:    ReasonNotRegular,
		fs.ErrNotExist:   ReasonNotFound,
		syscall.ELOOP:    "",
	}
	cases := openCases(tr)
	if os.Geteuid() != 0 { // root reads the file anyway
		cases = append(cases, openCase{path: filepath.Join(tr.root, "locked.jpg"), want: fs.ErrPermission})
		want[fs.ErrPermission] = ReasonPermission
	}
	for _, tc := range cases {
		f, _, err := roots.Open(tc.path)
		if f != nil {
			f.Close()
		}
		if tc.want == nil {
			if got := ReasonOf(err); got != "" {
				t.Errorf("ReasonOf(Open(%q)) = %q for a file that opened", tc.path, got)
			}
			continue
		}
		if got := ReasonOf(err); got != want[tc.want] {
			t.Errorf("ReasonOf(%v) = %q, want %q", err, got, want[tc.want])
		}
	}
	changed := &refusal{sentinel: ErrChanged, detail: "was replaced"}
	if got := ReasonOf(explain("open", "/x", changed)); got != ReasonChanged {
		t.Errorf("ReasonOf(changed) = %q", got)
	}
	if got := ReasonOf(nil); got != "" {
		t.Errorf("ReasonOf(nil) = %q", got)
	}
}
