//go:build !vips

package convert

import "context"

// available is false: this build has no libvips (see the package
// documentation for the vips build tag).
const available = false

// transcode is never reached without libvips: Convert returns
// ErrUnavailable first.
func transcode(context.Context, []byte, job) ([]byte, Record, error) {
	return nil, Record{}, ErrUnavailable
}

// sourceBuffer returns a slice of n bytes for an input file; never reached
// without libvips either.
func sourceBuffer(n int64) ([]byte, func(), error) { return make([]byte, n), func() {}, nil }
