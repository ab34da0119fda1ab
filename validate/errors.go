package validate

import (
	"errors"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/reasons"
)

// Reason is the stable, machine-readable cause of a rejection. Its string
// form is meant for metric labels, manifests and task results, so the values
// never change once released.
type Reason string

// The reasons a file or its fields are rejected.
const (
	// ReasonEmpty: the file has no bytes.
	ReasonEmpty Reason = "empty"
	// ReasonTooLarge: the file is over the configured size limit.
	ReasonTooLarge Reason = "too_large"
	// ReasonUnsupportedType: the content (or the declared image_type) is not
	// one of the allowed types.
	ReasonUnsupportedType Reason = "unsupported_type"
	// ReasonTypeMismatch: the declared image_type names another type than
	// the content really is.
	ReasonTypeMismatch Reason = "type_mismatch"
	// ReasonCorrupt: the content starts as an allowed type but its structure
	// is broken (truncated, inconsistent header, missing end marker).
	ReasonCorrupt Reason = "corrupt"
	// ReasonBadName: image_name is empty, too long, not UTF-8, holds
	// control or bidirectional formatting characters, or has no visible
	// character (see [CheckName]).
	ReasonBadName Reason = "bad_name"
	// ReasonBadImageType: image_type is empty, too long or not a plain
	// alphanumeric word.
	ReasonBadImageType Reason = "bad_image_type"
)

// Sentinels, one per [Reason]. Every [*Error] matches the sentinel of its
// reason with errors.Is.
var (
	ErrEmpty           = errors.New("validate: empty file")
	ErrTooLarge        = errors.New("validate: file too large")
	ErrUnsupportedType = errors.New("validate: unsupported type")
	ErrTypeMismatch    = errors.New("validate: declared type does not match the content")
	ErrCorrupt         = errors.New("validate: corrupt file")
	ErrBadName         = errors.New("validate: bad image_name")
	ErrBadImageType    = errors.New("validate: bad image_type")
)

var reasonTable = reasons.Table[Reason]{
	{Reason: ReasonEmpty, Err: ErrEmpty},
	{Reason: ReasonTooLarge, Err: ErrTooLarge},
	{Reason: ReasonUnsupportedType, Err: ErrUnsupportedType},
	{Reason: ReasonTypeMismatch, Err: ErrTypeMismatch},
	{Reason: ReasonCorrupt, Err: ErrCorrupt},
	{Reason: ReasonBadName, Err: ErrBadName},
	{Reason: ReasonBadImageType, Err: ErrBadImageType},
}

// Reasons returns every reason, in a fixed order (tasks.KnownReasons, the
// bounded set of metric label values, is built from it).
func Reasons() []Reason { return reasonTable.Reasons() }

// Sentinel returns the sentinel error of the reason (ErrEmpty for
// ReasonEmpty, ...), or nil for an unknown reason.
func (r Reason) Sentinel() error {
	return reasonTable.Sentinel(r)
}

// Field names used in [Error.Field]: the request fields of
// alipay.offline.material.image.upload.
const (
	FieldContent   = "image_content"
	FieldName      = "image_name"
	FieldImageType = "image_type"
)

// Error is a rejection. Its message says what was found, what is allowed and
// what a person can do about it; Reason is the machine-readable part.
//
// Failures to read the content (an I/O error from the io.ReaderAt) are not
// rejections and are returned as ordinary wrapped errors, not as *Error: the
// file may be perfectly fine and the read worth retrying.
type Error struct {
	// Reason is the stable cause, e.g. "too_large".
	Reason Reason
	// Field is the request field at fault: FieldContent, FieldName or
	// FieldImageType.
	Field string
	// Found describes what was found, e.g. `content is "mov" (QuickTime)`.
	Found string
	// Fix says what a person can do, e.g. "re-export the video as MP4".
	Fix string
	// Err is the underlying cause, if any (e.g. a decoder's error).
	Err error
}

// Error returns "validate: <field>: <reason>: <found> (<cause>); <fix>".
func (e *Error) Error() string {
	return reasons.Message("validate: "+e.Field+": ", string(e.Reason), e.Found, e.Err, e.Fix)
}

// Detail is the message for a person once the reason is said beside it
// (a manifest's "reason" field, "rejected x.jpg (corrupt): ..."): what was
// found (or the field at fault), the cause and the fix, without the
// package, field and reason that [Error.Error] starts with.
func (e *Error) Detail() string {
	if e.Found == "" {
		return reasons.Message("", e.Field, "", e.Err, e.Fix)
	}
	return strings.TrimPrefix(reasons.Message("", "", e.Found, e.Err, e.Fix), ": ")
}

// Unwrap returns the underlying cause, which may be nil.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's reason.
func (e *Error) Is(target error) bool {
	s := e.Reason.Sentinel()
	return s != nil && target == s
}

// ReasonOf returns the reason of the first [*Error] in err's chain, or ""
// when err is nil or not a rejection (e.g. an I/O error).
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
