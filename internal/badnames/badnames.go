package badnames

import "fmt"

// Case is one name to refuse and why.
type Case struct {
	// Why names the rule the name breaks, for test names.
	Why string
	// Name is the image_name.
	Name string
}

// Cases are the names every entry point refuses. Names are short and free
// of '/' and NUL, so that each can also be a file's base name.
var Cases = []Case{
	{"invalid_utf8", "caf\xe9.jpg"},
	{"invalid_utf8_lone_byte", "\xff"},
	{"surrogate_bytes", "a\xed\xa0\x80b.jpg"},
	{"bidi_override_rlo", "invoice\u202Egpj.exe"},
	{"bidi_override_lro", "a\u202Db.jpg"},
	{"bidi_embedding", "a\u202Bb.jpg"},
	{"bidi_isolate", "a\u2067b.jpg"},
	{"zero_width_only", "\u200B\u200C\u200D"},
	{"zero_width_and_space", "\u200B \u2060\uFEFF"},
	{"hangul_filler_only", "\u3164"},
	{"white_space_only", "   "},
	{"control_tab", "a\tb.jpg"},
	{"control_escape", "a\x1b[31mb.jpg"},
}

// JSONString returns name as a JSON string literal the way a program in
// another language may write it: control characters, quotes and
// backslashes escaped, every other byte (invalid UTF-8 included) as it is.
// encoding/json would replace the invalid bytes instead.
func JSONString(name string) string {
	b := []byte{'"'}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
