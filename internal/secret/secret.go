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
	// sensitiveAlt is sensitiveWords as a regular expression alternation.
	sensitiveAlt = alternation(sensitiveWords)
	// queryParam matches name=value (or name%3Dvalue, as in a URL quoted
	// inside another URL) where name ends in a sensitive word or passwd.
	queryParam = regexp.MustCompile(`(?i)\b([a-z0-9_.\-]*(?:` + sensitiveAlt + `|passwd))(=|%3D)[^&\s"'\\<>]+`)
	// jsonField matches "name": "value" with a sensitive name, as found in a
	// JSON document quoted inside a string.
	jsonField = regexp.MustCompile(`(?i)("[^"\\]*(?:` + sensitiveAlt + `)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// alternation joins words, quoted, into "w1|w2|...".
func alternation(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(q, "|")
}

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
