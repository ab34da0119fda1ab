package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/storemedia/alipay-media-worker/mediaroot"
)

// readBatch is how many directory entries the walker reads at a time. The
// walker never holds more than one batch per open directory level, so its
// memory does not grow with the size of a directory.
const readBatch = 256

// entry is one candidate file found by the walker.
type entry struct {
	// Path is the file's path as given on the command line joined with the
	// path inside the argument (not made absolute).
	Path string
	// Rel is the slash-separated path relative to the argument; for a file
	// argument, its base name.
	Rel string
	// Size is the size reported by lstat when the walk was asked for
	// sizes (the pre-count), else 0.
	Size int64
	// Err is set when the entry could not be read (an unreadable directory
	// or a missing argument); such entries are reported as rejected.
	Err error
}

// Filter decides which files and directories the walker visits.
type Filter struct {
	// Include keeps only files whose base name or relative path matches
	// one of the patterns: path.Match syntax plus ** (any number of
	// directories, e.g. "shop-*/**/*.jpg") and {a,b} alternatives (e.g.
	// "*.{jpg,jpeg,png}"). Empty keeps every file.
	Include []string
	// Exclude drops files and prunes directories whose base name or
	// relative path matches one of the patterns.
	Exclude []string
	// Hidden visits files and directories whose names begin with a dot;
	// by default they are skipped.
	Hidden bool
}

// Validate reports a malformed pattern.
func (f Filter) Validate() error {
	for _, p := range append(append([]string(nil), f.Include...), f.Exclude...) {
		if !doublestar.ValidatePattern(p) {
			return fmt.Errorf("%w: pattern %q: %w", ErrConfig, p, doublestar.ErrBadPattern)
		}
	}
	return nil
}

func matchAny(patterns []string, base, rel string) bool {
	for _, p := range patterns {
		if ok, _ := doublestar.Match(p, base); ok {
			return true
		}
		if ok, _ := doublestar.Match(p, rel); ok {
			return true
		}
	}
	return false
}

// keepDir reports whether a directory below an argument is descended into.
func (f Filter) keepDir(base, rel string) bool {
	if !f.Hidden && strings.HasPrefix(base, ".") {
		return false
	}
	return !matchAny(f.Exclude, base, rel)
}

// keepFile reports whether a file is a candidate. Files named directly on
// the command line are subject to include and exclude too, but never
// dropped for being hidden.
func (f Filter) keepFile(base, rel string, explicit bool) bool {
	if !explicit && !f.Hidden && strings.HasPrefix(base, ".") {
		return false
	}
	if matchAny(f.Exclude, base, rel) {
		return false
	}
	return len(f.Include) == 0 || matchAny(f.Include, base, rel)
}

// walk streams the candidate files below each argument to emit, in
// directory order, stopping when ctx is done or emit returns an error.
// Directories are read in batches; symbolic links below an argument are
// reported as files (never followed), so the media root check decides
// about them.
// With sizes, regular files are lstat'ed for their size (the directory
// entries alone give only names and types).
//
// An s3://bucket/prefix/ argument (or s3://bucket) is listed through
// objects instead, in key order, each key's elements filtered as a path's;
// an s3://bucket/key argument without a trailing "/" is one object.
func walk(ctx context.Context, args []string, f Filter, sizes bool, objects Lister, emit func(entry) error) error {
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		if mediaroot.IsObjectURL(arg) {
			if err := walkObjects(ctx, arg, f, objects, emit); err != nil {
				return err
			}
			continue
		}
		// Arguments are followed when they are symbolic links (like find
		// -H); links found below them are not.
		fi, err := os.Stat(arg)
		if err != nil {
			if err := emit(entry{Path: arg, Rel: filepath.Base(arg), Err: err}); err != nil {
				return err
			}
			continue
		}
		if !fi.IsDir() {
			base := filepath.Base(arg)
			if !f.keepFile(base, base, true) {
				continue
			}
			if err := emit(entry{Path: arg, Rel: base, Size: fi.Size()}); err != nil {
				return err
			}
			continue
		}
		if err := walkDir(ctx, arg, "", f, sizes, emit); err != nil {
			return err
		}
	}
	return nil
}

func walkDir(ctx context.Context, dir, rel string, f Filter, sizes bool, emit func(entry) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return emit(entry{Path: dir, Rel: rel, Err: fmt.Errorf("read directory: %w", err)})
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, rerr := d.ReadDir(readBatch)
		for _, de := range ents {
			name := de.Name()
			p := filepath.Join(dir, name)
			r := name
			if rel != "" {
				r = rel + "/" + name
			}
			if de.IsDir() {
				if !f.keepDir(name, r) {
					continue
				}
				if err := walkDir(ctx, p, r, f, sizes, emit); err != nil {
					return err
				}
				continue
			}
			if !f.keepFile(name, r, false) {
				continue
			}
			var size int64
			if sizes && de.Type().IsRegular() {
				if fi, err := de.Info(); err == nil {
					size = fi.Size()
				}
			}
			if err := emit(entry{Path: p, Rel: r, Size: size}); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) || (rerr == nil && len(ents) == 0) {
			return nil
		}
		if rerr != nil {
			return emit(entry{Path: dir, Rel: rel, Err: fmt.Errorf("read directory: %w", rerr)})
		}
	}
}

// Lister lists the objects under a prefix of a bucket, in key order;
// *objstore.Store implements it.
type Lister interface {
	List(ctx context.Context, bucket, prefix string, fn func(mediaroot.ObjectInfo) error) error
}

// errNoLister: an s3:// argument, and no Lister to list it.
var errNoLister = errors.New("no object store configured to list s3:// paths (set S3_ENDPOINT, or the AWS SDK's settings)")

// walkObjects emits the objects of an s3:// argument.
func walkObjects(ctx context.Context, arg string, f Filter, objects Lister, emit func(entry) error) error {
	bucket, key, err := mediaroot.ParseObjectURL(arg)
	if err != nil {
		return emit(entry{Path: arg, Rel: arg, Err: err})
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		base := path.Base(key)
		if !f.keepFile(base, base, true) {
			return nil
		}
		return emit(entry{Path: arg, Rel: base})
	}
	if objects == nil {
		return emit(entry{Path: arg, Rel: "", Err: errNoLister})
	}
	err = objects.List(ctx, bucket, key, func(o mediaroot.ObjectInfo) error {
		rel := strings.TrimPrefix(o.Key, key)
		elems := strings.Split(rel, "/")
		for i, el := range elems[:len(elems)-1] {
			if !f.keepDir(el, strings.Join(elems[:i+1], "/")) {
				return nil
			}
		}
		if !f.keepFile(elems[len(elems)-1], rel, false) {
			return nil
		}
		return emit(entry{Path: mediaroot.ObjectScheme + bucket + "/" + o.Key, Rel: rel, Size: o.Size})
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil: // emit's error, or the listing cut short
		return ctx.Err()
	}
	return emit(entry{Path: arg, Rel: "", Err: fmt.Errorf("list objects: %w", err)})
}
