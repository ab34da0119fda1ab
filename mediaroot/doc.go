// Package mediaroot opens media files only from configured directories, the
// media roots, and only when they are regular files.
//
// Upload jobs name files by path, and those paths come from applications
// and bulk imports the worker does not control. A careless or hostile path
// could point at /etc/shadow, climb out with "..", reach outside through a
// symbolic link, or name a FIFO that would block the worker forever on
// open. [Roots.Open] refuses all of these.
//
// # Rules
//
//   - The path must be absolute and must not contain a ".." element
//     ([ErrNotAbsolute], [ErrTraversal]), even one that would stay inside.
//   - Spelled as given, it must lie under one of the roots
//     ([ErrOutsideRoots]). A root that is itself a symbolic link may be
//     named either way: /srv/media or the directory it points to.
//   - Symbolic links inside a root are followed when they are relative and
//     lead to a place inside the same root. Absolute links, and relative
//     links that climb out of the root, are refused ([ErrSymlinkEscape]),
//     even when they would land in another root. This is what the kernel's
//     RESOLVE_BENEATH does.
//   - The file must be a regular file ([ErrNotRegular]): directories
//     (including a root itself), FIFOs, sockets and devices are refused
//     without being opened for reading.
//   - A missing file gives an error matching fs.ErrNotExist.
//
// # How
//
// Open walks the path with os.Root, from the root's directory one component
// at a time with O_NOFOLLOW, following symbolic links itself and refusing
// those that would leave the root, so a symbolic link swapped in between a
// check and the open cannot lead out. The file is first checked with a Stat
// through the root (which does not open it for reading); only a regular file
// is then opened for reading, with O_NONBLOCK, and compared by device and
// inode with what was checked ([ErrChanged] if it was replaced). O_NONBLOCK
// is cleared on the returned file.
//
// # Reasons
//
// [ReasonOf] names a refusal with a stable [Reason] ("outside_roots",
// "not_regular", "not_found", ...) for metric labels, manifests and API
// answers; it returns "" for system errors that may go away when tried
// again.
//
// # Buckets
//
// A media root may also be a bucket prefix of an S3-compatible store,
// s3://bucket/prefix/ (the prefix is a directory: s3://media/shop allows
// media/shop/x.jpg, not media/shop2/x.jpg). Jobs then name objects as
// s3://bucket/key, opened with [Roots.OpenObject] through the [Store] given
// by [Roots.WithStore] (an *objstore.Store). The same rules hold, by the
// key's spelling: under a bucket root ([ErrOutsideRoots]), no "." or ".."
// element ([ErrTraversal]), an object rather than a bucket or a prefix
// ([ErrNotRegular]); a missing object is [ReasonNotFound], a refused read
// [ReasonPermission]. The object is read once, from its start: its
// content is checked against what was recorded at enqueue by the caller.
//
// # Configuration
//
// [ParseList] splits a MEDIA_ROOTS value: directories separated by commas
// or colons, for example MEDIA_ROOTS=/srv/media:/data/photos; a list that
// holds a URL is separated by commas only, for example
// MEDIA_ROOTS=/srv/media,s3://media/shop/. [New] checks that each directory
// exists and is a directory; it does not reach the store.
//
// A [Roots] holds no open descriptors and is safe for concurrent use.
package mediaroot
