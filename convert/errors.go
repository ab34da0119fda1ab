package convert

import (
	"errors"

	"github.com/storemedia/alipay-media-worker/internal/reasons"
)

// ErrUnavailable reports that this build cannot convert: it was built
// without the vips build tag, so libvips is not linked in. Nothing about the
// file is wrong; a worker built with the tag can convert it.
var ErrUnavailable = errors.New("convert: conversion unavailable: built without libvips (go build -tags vips)")

// ErrNotNeeded is what [Converter.Convert] returns for a file that is
// acceptable as it is: send the original, byte for byte.
var ErrNotNeeded = errors.New("convert: not needed: the file is acceptable as it is")

// Reason is the stable, machine-readable cause of a refusal, for metric
// labels, manifests and task results.
type Reason string

// The reasons a file is refused for conversion. A refusal is permanent:
// converting the same file again gives the same answer.
const (
	// ReasonNotConvertible: the type is never converted (PNG, GIF and BMP
	// would lose alpha or animation, MP4 is never re-encoded) or is not one
	// the converter reads.
	ReasonNotConvertible Reason = "not_convertible"
	// ReasonInputTooLarge: the file is over Config.MaxInputBytes.
	ReasonInputTooLarge Reason = "input_too_large"
	// ReasonTooManyPixels: the header declares more pixels than
	// Config.MaxInputPixels (a decompression bomb, or a photo too big to
	// decode within the memory budget). Nothing was decoded.
	ReasonTooManyPixels Reason = "too_many_pixels"
	// ReasonCorrupt: libvips could not read the header or decode the
	// pixels.
	ReasonCorrupt Reason = "corrupt"
)

// Sentinels, one per [Reason]; every [*Error] matches its reason's with
// errors.Is.
var (
	ErrNotConvertible = errors.New("convert: not convertible")
	ErrInputTooLarge  = errors.New("convert: input too large")
	ErrTooManyPixels  = errors.New("convert: too many pixels")
	ErrCorrupt        = errors.New("convert: cannot decode")
)

var reasonTable = reasons.Table[Reason]{
	{Reason: ReasonNotConvertible, Err: ErrNotConvertible},
	{Reason: ReasonInputTooLarge, Err: ErrInputTooLarge},
	{Reason: ReasonTooManyPixels, Err: ErrTooManyPixels},
	{Reason: ReasonCorrupt, Err: ErrCorrupt},
}

// Error is a refusal: the file cannot be converted. Its message says what
// was found and what a person can do.
type Error struct {
	Reason Reason
	// Found describes what was found, e.g. "a PNG of 7340032 bytes".
	Found string
	// Fix says what a person can do about it.
	Fix string
	// Err is the underlying cause, if any (libvips' message).
	Err error
}

// Error returns "convert: <reason>: <found> (<cause>); <fix>".
func (e *Error) Error() string {
	return reasons.Message("convert: ", string(e.Reason), e.Found, e.Err, e.Fix)
}

// Unwrap returns the underlying cause, which may be nil.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's reason.
func (e *Error) Is(target error) bool {
	s := reasonTable.Sentinel(e.Reason)
	return s != nil && target == s
}
