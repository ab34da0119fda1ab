//go:build !linux

package mediaroot

import "os"

// openat2 is Linux-only; elsewhere the portable implementation is used.
func haveOpenat2() bool { return false }

func openat2Beneath(dir, rel string, forRead bool, between func()) (*os.File, os.FileInfo, error) {
	panic("mediaroot: openat2 is not available on this system")
}
