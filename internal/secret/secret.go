package secret

import (
	"regexp"
	"strings"
)

// Redacted replaces every hidden value.
const Redacted = "[redacted]"

// sensitiveWords mark a JSON key, or a key=value parameter name, as secret.
var sensitiveWords = []string{"token", "secret", "sign", "key", "password"}

// SensitiveKey reports whether a key names a secret: its lower-cased form
// contains token, secret, sign, key or password.
func SensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

var (
	// queryParam matches name=value (or name%3Dvalue, as in a URL quoted
	// inside another URL) where name ends in a sensitive word.
	queryParam = regexp.MustCompile(`(?i)\b([a-z0-9_.\-]*(?:token|secret|sign|key|password|passwd))(=|%3D)[^&\s"'\\<>]+`)
	// jsonField matches "name": "value" with a sensitive name, as found in a
	// JSON document quoted inside a string.
	jsonField = regexp.MustCompile(`(?i)("[^"\\]*(?:token|secret|sign|key|password)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// ScrubText returns s with the value of every sensitive name=value pair and
// every sensitive quoted JSON field replaced by [Redacted]. See the package
// documentation for the exact shapes.
func ScrubText(s string) string {
	if !strings.ContainsAny(s, "=:%") {
		return s
	}
	s = queryParam.ReplaceAllString(s, "${1}${2}"+Redacted)
	return jsonField.ReplaceAllString(s, `${1}"`+Redacted+`"`)
}
