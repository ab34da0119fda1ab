package mediaroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// ObjectScheme starts a media root or a job path that names objects in an
// S3-compatible store rather than local files: s3://bucket/prefix/ as a
// root, s3://bucket/prefix/key.jpg as a job's path.
const ObjectScheme = "s3://"

// ErrNoStore: an object was to be opened but the Roots were given no
// [Store] (see [Roots.WithStore]). It is a configuration error, not a
// refusal of the object.
var ErrNoStore = errors.New("mediaroot: no object store configured for s3:// media roots")

// ObjectInfo describes an object as the store reports it.
type ObjectInfo struct {
	// Key is the object's key in its bucket (set by listings).
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ETag and LastModified are the store's; they change when the object
	// is replaced, but the SHA-256 recorded at enqueue is what decides.
	ETag         string
	LastModified time.Time
}

// Store reads objects from an S3-compatible store; *objstore.Store
// implements it. A missing bucket or key must give an error matching
// fs.ErrNotExist, a refused read one matching fs.ErrPermission.
type Store interface {
	GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
}

// Object is an object opened from a bucket media root: its body, read
// once from the start, and what the store said of it. Close it.
type Object struct {
	io.ReadCloser
	// URL is the object's s3:// URL.
	URL  string
	Info ObjectInfo
}

// bucketRoot is one configured bucket media root.
type bucketRoot struct {
	bucket string
	prefix string // "" for the whole bucket, else ends in "/"
}

func (b bucketRoot) String() string { return ObjectScheme + b.bucket + "/" + b.prefix }

// IsObjectURL reports whether path names an object (s3://...) rather than
// a local file.
func IsObjectURL(path string) bool { return strings.HasPrefix(path, ObjectScheme) }

// ParseObjectURL splits an s3://bucket/key URL. The key may be empty (the
// bucket itself) or end in "/" (a prefix). The bucket must be a plausible
// S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-').
func ParseObjectURL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, ObjectScheme)
	if !ok {
		return "", "", fmt.Errorf("mediaroot: %q is not an %sbucket/key URL", u, ObjectScheme)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if !validBucket(bucket) {
		return "", "", fmt.Errorf("mediaroot: %q: bucket name %q is not 3 to 63 lowercase letters, digits, dots and hyphens", u, bucket)
	}
	if strings.ContainsRune(key, 0) {
		return "", "", fmt.Errorf("mediaroot: %q: key contains a NUL byte", u)
	}
	return bucket, key, nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// newBucketRoot parses an s3://bucket/prefix media root. The prefix is a
// "directory": s3://b/media and s3://b/media/ both allow keys below
// media/, not media2/.
func newBucketRoot(u string) (bucketRoot, error) {
	bucket, prefix, err := ParseObjectURL(u)
	if err != nil {
		return bucketRoot{}, err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if err := checkKey(prefix); err != nil {
		return bucketRoot{}, fmt.Errorf("mediaroot: media root %q: %w", u, err)
	}
	return bucketRoot{bucket: bucket, prefix: prefix}, nil
}

// checkKey refuses "." and ".." elements: a key is compared with roots by
// its spelling, and a store or a later copy to disk could read them as
// directory steps.
func checkKey(key string) error {
	for _, el := range strings.Split(key, "/") {
		if el == ".." || el == "." {
			return ErrTraversal
		}
	}
	return nil
}

// Buckets returns the bucket media roots as s3://bucket/prefix/ URLs, in
// configured order.
func (r *Roots) Buckets() []string {
	out := make([]string, len(r.buckets))
	for i, b := range r.buckets {
		out[i] = b.String()
	}
	return out
}

// All returns every media root: the directories, then the buckets.
func (r *Roots) All() []string { return append(r.Dirs(), r.Buckets()...) }

// WithStore returns a copy of r that opens objects from s.
func (r *Roots) WithStore(s Store) *Roots {
	c := *r
	c.store = s
	return &c
}

// HasBuckets reports whether any media root is a bucket.
func (r *Roots) HasBuckets() bool { return len(r.buckets) > 0 }

// locateObject checks an s3:// URL's spelling against the bucket roots and
// returns its bucket and key.
func (r *Roots) locateObject(u string) (string, string, error) {
	bucket, key, err := ParseObjectURL(u)
	if err != nil {
		return "", "", &refusalError{sentinel: ErrOutsideRoots, msg: err.Error()}
	}
	if err := checkKey(key); err != nil {
		return "", "", fmt.Errorf("%w: %q", ErrTraversal, u)
	}
	for _, b := range r.buckets {
		if b.bucket == bucket && strings.HasPrefix(key, b.prefix) {
			return bucket, key, nil
		}
	}
	where := strings.Join(r.Buckets(), ", ")
	if where == "" {
		where = "no bucket (MEDIA_ROOTS names directories only)"
	}
	return "", "", fmt.Errorf("%w: %q is not under %s", ErrOutsideRoots, u, where)
}

// refusalError carries a sentinel with a message of its own.
type refusalError struct {
	sentinel error
	msg      string
}

func (e *refusalError) Error() string {
	return e.sentinel.Error() + ": " + strings.TrimPrefix(e.msg, "mediaroot: ")
}
func (e *refusalError) Unwrap() error { return e.sentinel }

// OpenObject opens the object u (s3://bucket/key) for reading after
// checking that its key has no "." or ".." element, lies under a bucket
// media root, and names an object rather than a prefix. Errors wrap
// ErrOutsideRoots, ErrTraversal or ErrNotRegular, or the store's, which
// matches fs.ErrNotExist for a missing object or bucket and
// fs.ErrPermission for a refused one; [ReasonOf] names the refusal. It
// returns ErrNoStore when r has no [Store].
func (r *Roots) OpenObject(ctx context.Context, u string) (*Object, error) {
	bucket, key, err := r.locateObject(u)
	if err != nil {
		return nil, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("%w: %q is a bucket or a prefix, not an object", ErrNotRegular, u)
	}
	if r.store == nil {
		return nil, ErrNoStore
	}
	body, info, err := r.store.GetObject(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("mediaroot: get %q: %w", u, err)
	}
	info.Key = key
	return &Object{ReadCloser: body, URL: u, Info: info}, nil
}

// ObjectName is the last element of an object URL's key, the default
// image_name of its upload.
func ObjectName(u string) string {
	_, key, _ := ParseObjectURL(u)
	return path.Base(key)
}
