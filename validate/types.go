package validate

import (
	"strings"
)

// DefaultMaxSize is the default size limit: 5 MiB (5,242,880 bytes), the
// limit Alipay documents for image_content.
const DefaultMaxSize int64 = 5 << 20

// Field limits Alipay documents for the method.
const (
	// MaxNameLen is the longest image_name, in characters (runes).
	MaxNameLen = 128
	// MaxImageTypeLen is the longest image_type, in characters.
	MaxImageTypeLen = 8
)

// DefaultAllowed is the type list used when Config.Allowed is empty: the
// image formats Alipay's integration guides list plus mp4 for video. "jpeg"
// and "jpg" name the same type. Treat it as read-only.
var DefaultAllowed = []string{"jpg", "jpeg", "png", "gif", "bmp", "mp4"}

// typeInfo is what the package knows about one type it can check.
type typeInfo struct {
	name  string // canonical name
	mime  string // content type of the multipart file part
	video bool
}

// supported lists the types this package can verify structurally, in the
// order messages list them.
var supported = []typeInfo{
	{name: "jpg", mime: "image/jpeg"},
	{name: "png", mime: "image/png"},
	{name: "gif", mime: "image/gif"},
	{name: "bmp", mime: "image/bmp"},
	{name: "mp4", mime: "video/mp4", video: true},
}

func lookup(canonical string) (typeInfo, bool) {
	for _, t := range supported {
		if t.name == canonical {
			return t, true
		}
	}
	return typeInfo{}, false
}

// supportedTypes returns the canonical names of the types this package can
// check, the only ones Config.Allowed may name: jpg, png, gif, bmp, mp4.
func supportedTypes() []string {
	out := make([]string, len(supported))
	for i, t := range supported {
		out[i] = t.name
	}
	return out
}

// CanonicalType returns the canonical spelling of a type name: lower case,
// with "jpeg" folded into "jpg". It does not check that the type is valid
// or supported.
func CanonicalType(s string) string {
	s = strings.ToLower(s)
	if s == "jpeg" {
		return "jpg"
	}
	return s
}

// ContentType returns the content type to label a file part of the given
// image_type with (case-insensitive; "jpeg" and "jpg" alike): image/jpeg,
// image/png, image/gif, image/bmp or video/mp4, and
// application/octet-stream for anything else.
func ContentType(imageType string) string {
	if t, ok := lookup(CanonicalType(imageType)); ok {
		return t.mime
	}
	return "application/octet-stream"
}
