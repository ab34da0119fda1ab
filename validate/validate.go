package validate

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Config configures a [Validator]. The zero value is ready to use.
type Config struct {
	// Allowed lists the accepted types, case-insensitive; "jpeg" and "jpg"
	// are the same type. Each entry must be one of supportedTypes (or
	// "jpeg"). Default (nil or empty): [DefaultAllowed].
	Allowed []string
	// MaxSize is the largest accepted file, in bytes. Default (0):
	// [DefaultMaxSize]. Negative values are an error.
	MaxSize int64
}

// Validator checks files and their image_type and image_name fields before
// an upload. It holds no mutable state and is safe for concurrent use.
type Validator struct {
	allowed []string // canonical, in the order of supported
	maxSize int64
}

// New returns a Validator for cfg, or an error naming the bad setting.
func New(cfg Config) (*Validator, error) {
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("validate: Config.MaxSize is %d; use 0 for the default (%d bytes) or a positive byte count", cfg.MaxSize, DefaultMaxSize)
	}
	v := &Validator{maxSize: cfg.MaxSize}
	if v.maxSize == 0 {
		v.maxSize = DefaultMaxSize
	}
	list := cfg.Allowed
	if len(list) == 0 {
		list = DefaultAllowed
	}
	want := make(map[string]bool, len(list))
	for _, s := range list {
		c := CanonicalType(strings.TrimSpace(s))
		if _, ok := lookup(c); !ok {
			return nil, fmt.Errorf("validate: Config.Allowed: %q is not a type this package can check; use some of %s (jpeg is the same as jpg)", s, strings.Join(supportedTypes(), ", "))
		}
		want[c] = true
	}
	for _, t := range supported {
		if want[t.name] {
			v.allowed = append(v.allowed, t.name)
		}
	}
	return v, nil
}

// allowedTypes returns the accepted types, canonical ("jpg", never "jpeg").
func (v *Validator) allowedTypes() []string { return append([]string(nil), v.allowed...) }

// MaxSize returns the size limit in bytes.
func (v *Validator) MaxSize() int64 { return v.maxSize }

func (v *Validator) isAllowed(canonical string) bool {
	for _, a := range v.allowed {
		if a == canonical {
			return true
		}
	}
	return false
}

// allowedText lists the allowed types for messages, e.g. "jpg (or jpeg), png".
func (v *Validator) allowedText() string {
	parts := make([]string, len(v.allowed))
	for i, a := range v.allowed {
		parts[i] = a
		if a == "jpg" {
			parts[i] = "jpg (or jpeg)"
		}
	}
	return strings.Join(parts, ", ")
}

// Info describes a file that passed [Validator.Check].
type Info struct {
	// Type is the canonical type of the content: "jpg", "png", "gif",
	// "bmp" or "mp4". Send it as image_type.
	Type string
	// MIME is the content type for the multipart file part, e.g. image/jpeg.
	MIME string
	// Width and Height are the image's dimensions in pixels; 0 for videos.
	Width, Height int
	// Size is the file size in bytes.
	Size int64
}

// Check validates one upload: the name, the declared image_type, the size,
// the real type of the content (sniffed from its first bytes) and its
// structure, followed from the first byte to the format's end marker (see
// the package documentation). It reads r once, in order, and leaves unread
// what the structure says is not needed: an MP4's sample data, a BMP's
// pixels, whatever follows an image's end marker. size is the exact length
// of r's content, usually from a Stat of the open file. To check content
// that is being read anyway (sent, hashed), use [Validator.Begin].
//
// An empty declaredType skips the comparison with the content: the detected
// type is returned in Info.Type and is what should be sent as image_type.
// Any other declaredType must be a valid, allowed type equal to the
// content's ("jpeg" and "jpg" are equal).
//
// Rejections are [*Error] values; an I/O error from r is returned wrapped,
// not as *Error. The first problem found is reported, in this order: name,
// image_type, size, content type, type match, structure.
func (v *Validator) Check(r io.ReaderAt, size int64, declaredType, name string) (Info, error) {
	want, err := v.fields(size, declaredType, name)
	if err != nil {
		return Info{}, err
	}
	return v.check(r, size, want)
}

// CheckSize rejects an empty file or one over the limit. It is what Check
// does first with the content, available on its own so a caller can refuse
// a file from its Stat alone, before opening it. A negative size is a
// caller's error and is reported as a plain error.
func (v *Validator) CheckSize(size int64) error {
	switch {
	case size < 0:
		return fmt.Errorf("validate: negative size %d", size)
	case size == 0:
		return &Error{Reason: ReasonEmpty, Field: FieldContent,
			Found: "the file has 0 bytes",
			Fix:   "the file was probably not fully written or copied; provide the complete file"}
	case size > v.maxSize:
		return &Error{Reason: ReasonTooLarge, Field: FieldContent,
			Found: fmt.Sprintf("the file has %d bytes, over the limit of %d bytes (%s)", size, v.maxSize, humanBytes(v.maxSize)),
			Fix:   "compress or resize the photo, or shorten the video, to fit the limit"}
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CheckName checks an image_name; it is [CheckName], the one name rule of
// every entry point.
func (v *Validator) CheckName(name string) error { return CheckName(name) }

// CheckName checks an image_name: not empty, valid UTF-8, at most
// [MaxNameLen] characters, no control characters (tabs and line breaks
// included), no bidirectional embedding, override or isolate characters
// (U+202A to U+202E, U+2066 to U+2069, which make a name display as
// another), and at least one visible character: a name made only of white
// space, zero-width and other invisible format characters is refused.
//
// It is the rule of every entry point (the Go API, the HTTP API's JSON and
// multipart requests, the importer, and the worker on payloads written by
// any program); callers that decode JSON must keep invalid UTF-8 for it to
// see rather than let the decoder replace it.
func CheckName(name string) error {
	bad := func(found, fix string) error {
		return &Error{Reason: ReasonBadName, Field: FieldName, Found: found, Fix: fix}
	}
	if name == "" {
		return bad("image_name is empty", "give the file a name, e.g. its base name without the directory")
	}
	if !utf8.ValidString(name) {
		return bad("image_name is not valid UTF-8", "convert the name to UTF-8 (it is probably in a legacy encoding such as GBK)")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return bad(fmt.Sprintf("image_name has %d characters, over the limit of %d", n, MaxNameLen),
			fmt.Sprintf("shorten the name to at most %d characters", MaxNameLen))
	}
	visible := false
	for i, r := range name {
		switch {
		case unicode.IsControl(r):
			return bad(fmt.Sprintf("image_name holds the control character %U at byte %d", r, i),
				"remove control characters (tabs, line breaks, escape codes) from the name")
		case isBidiControl(r):
			return bad(fmt.Sprintf("image_name holds the bidirectional formatting character %U at byte %d, which makes a name display differently from what it is", r, i),
				"remove the direction override, embedding or isolate characters from the name")
		case !invisible(r):
			visible = true
		}
	}
	if !visible {
		if strings.TrimSpace(name) == "" {
			return bad("image_name holds only white space", "give the file a name with visible characters")
		}
		return bad("image_name holds no visible character (only white space and zero-width or other invisible characters)",
			"give the file a name with visible characters")
	}
	return nil
}

// isBidiControl reports the explicit directional formatting characters:
// embeddings and overrides (U+202A to U+202E) and isolates (U+2066 to
// U+2069). The marks (U+200E, U+200F, U+061C) do not reorder text and are
// only invisible.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// invisible reports characters that show nothing: white space, format
// characters (zero-width space and joiners, marks, the byte order mark,
// soft hyphen), variation selectors and the other default-ignorable ones
// (Hangul fillers).
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// CheckType checks a declared image_type and returns its canonical form
// ("jpeg" and "JPG" give "jpg"). It must be 1 to [MaxImageTypeLen] ASCII
// letters or digits naming an allowed type.
func (v *Validator) CheckType(declared string) (string, error) {
	bad := func(found string) error {
		return &Error{Reason: ReasonBadImageType, Field: FieldImageType, Found: found,
			Fix: "set image_type to the file's format: one of " + v.allowedText()}
	}
	if declared == "" {
		return "", bad("image_type is empty")
	}
	if n := utf8.RuneCountInString(declared); n > MaxImageTypeLen {
		return "", bad(fmt.Sprintf("image_type %q has %d characters, over the limit of %d", declared, n, MaxImageTypeLen))
	}
	for _, r := range declared {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return "", bad(fmt.Sprintf("image_type %q holds %q; only ASCII letters and digits are allowed (no dot)", declared, r))
		}
	}
	c := CanonicalType(declared)
	if !v.isAllowed(c) {
		return "", &Error{Reason: ReasonUnsupportedType, Field: FieldImageType,
			Found: fmt.Sprintf("image_type %q is not an allowed type (allowed: %s)", declared, v.allowedText()),
			Fix:   "convert the file to an allowed format and declare that format"}
	}
	return c, nil
}
