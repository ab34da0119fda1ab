// Package conffile reads the small configuration files this module takes
// by path: private keys, certificates, password and token files.
//
// [Read] accepts only a regular file of at most a given size. A device such
// as /dev/zero, a directory or a FIFO is refused with [ErrNotRegular]
// instead of being read without end or blocking: the file is opened with
// O_NONBLOCK, so opening a FIFO that has no writer returns at once, and it
// is checked with fstat before a byte is read. A file larger than the limit
// is refused with [ErrTooLarge]. Errors name the file, never its content.
package conffile
