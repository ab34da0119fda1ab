package importer

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/validate"
)

// MaxNameRunes is the longest image_name Alipay accepts, in characters
// (the validator's limit).
const MaxNameRunes = validate.MaxNameLen

// maxExtRunes bounds the extension kept when a name is shortened; a longer
// "extension" is treated as part of the stem.
const maxExtRunes = 16

// NameRule chooses the image_name of each imported file.
type NameRule string

// Name rules.
const (
	// NameBase uses the file's base name, e.g. "front.jpg". The default.
	NameBase NameRule = "base"
	// NameRelPath uses the slash-separated path relative to the argument,
	// e.g. "shop-12/front.jpg" (the base name for a file argument).
	NameRelPath NameRule = "relpath"
	// NameStem uses the base name without its extension, e.g. "front".
	NameStem NameRule = "stem"
)

// ParseNameRule parses "base", "relpath" or "stem"; empty means [NameBase].
func ParseNameRule(s string) (NameRule, error) {
	switch NameRule(s) {
	case "", NameBase:
		return NameBase, nil
	case NameRelPath, NameStem:
		return NameRule(s), nil
	}
	return "", fmt.Errorf("%w: name rule %q (want base, relpath or stem)", ErrConfig, s)
}

// Name returns the image_name for a file whose path relative to its
// argument is rel (slash-separated), shortened with [ShortenName].
func (r NameRule) Name(rel string) string {
	base := path.Base(rel)
	var n string
	switch r {
	case NameRelPath:
		n = rel
	case NameStem:
		n = strings.TrimSuffix(base, path.Ext(base))
		if n == "" {
			n = base
		}
	default:
		n = base
	}
	return ShortenName(n, MaxNameRunes)
}

// ShortenName cuts a name longer than max runes: the part before the
// extension, so that the result has exactly max runes and keeps the
// extension. A name that is not valid UTF-8 is returned as it is: the
// name rule (validate.CheckName) refuses it, as every entry point does,
// rather than the importer replacing bytes silently.
func ShortenName(name string, max int) string {
	n := utf8.RuneCountInString(name)
	if n <= max || !utf8.ValidString(name) {
		return name
	}
	ext := path.Ext(name)
	if e := utf8.RuneCountInString(ext); e > maxExtRunes || e >= max || ext == name {
		ext = ""
	}
	stem := []rune(strings.TrimSuffix(name, ext))
	keep := max - utf8.RuneCountInString(ext)
	return string(stem[:keep]) + ext
}
