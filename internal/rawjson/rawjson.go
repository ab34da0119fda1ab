package rawjson

import (
	"errors"
	"strconv"
	"unicode/utf16"
)

// String is a string field decoded from JSON with its invalid UTF-8 kept:
// literal bytes are copied as they are, and a \u escape of a surrogate that
// is not part of a pair becomes that surrogate's three-byte encoding, which
// utf8.ValidString refuses. Valid text decodes exactly as encoding/json
// decodes it. JSON null leaves the value unchanged.
type String string

var errNotString = errors.New("rawjson: value is not a JSON string")

// UnmarshalJSON implements json.Unmarshaler. encoding/json has already
// checked the syntax of the literal it passes.
func (s *String) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errNotString
	}
	in := b[1 : len(b)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(in) {
			return errNotString
		}
		i++
		switch in[i] {
		case '"', '\\', '/':
			out = append(out, in[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(in, i+1)
			if !ok {
				return errNotString
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if lo, ok := lowSurrogate(in, i+1); ok && r < 0xDC00 {
					if pair := utf16.DecodeRune(r, lo); pair != 0xFFFD {
						out = appendRune(out, pair)
						i += 6
						continue
					}
				}
				// A lone surrogate: keep its (invalid) three-byte form.
				out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
				continue
			}
			out = appendRune(out, r)
		default:
			return errNotString
		}
	}
	*s = String(out)
	return nil
}

// hex4 reads the four hex digits at in[i:].
func hex4(in []byte, i int) (rune, bool) {
	if i+4 > len(in) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(in[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// lowSurrogate reads a \uDC00 to \uDFFF escape at in[i:].
func lowSurrogate(in []byte, i int) (rune, bool) {
	if i+6 > len(in) || in[i] != '\\' || in[i+1] != 'u' {
		return 0, false
	}
	r, ok := hex4(in, i+2)
	return r, ok && r >= 0xDC00 && r <= 0xDFFF
}

func appendRune(out []byte, r rune) []byte {
	return append(out, string(r)...)
}
