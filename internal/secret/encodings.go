package secret

import (
	"encoding/json"
	"html"
	"net/url"
	"strings"
)

// minSecretLen is the length below which a value is not treated as a
// secret to remove from text: replacing every "1" or "ab" would garble a
// message without protecting anything.
const minSecretLen = 4

// Encodings returns the forms in which s may appear in a text that quotes
// it: as it is; URL query-escaped and path-escaped (both with upper- and
// lower-case hex digits); HTML-escaped as html.EscapeString and as
// html/template writes text ('+' as "&#43;"), also after query-escaping;
// JSON-escaped, with and without HTML escaping and with '/' as "\/";
// and query-escaped twice (a URL quoted inside another URL). Duplicates
// and s itself appear once; the longest forms come first, so that
// replacing them in order never leaves the tail of a longer form behind.
func Encodings(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s), url.QueryEscape(url.QueryEscape(s))} {
		add(v)
		add(lowerHex(v))
		add(html.EscapeString(v))
		add(templateHTML(v))
		for _, j := range jsonForms(v) {
			add(j)
		}
	}
	// Longest first: a form that contains another is replaced whole.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Remove returns text with every form ([Encodings]) of every secret
// replaced by [Redacted]. Secrets shorter than four bytes are ignored.
func Remove(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		for _, form := range Encodings(s) {
			if strings.Contains(text, form) {
				text = strings.ReplaceAll(text, form, Redacted)
			}
		}
	}
	return text
}

// lowerHex returns v with the hex digits of its %XX escapes in lower case.
func lowerHex(v string) string {
	b := []byte(v)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = toLower(b[i+1])
			b[i+2] = toLower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// templateHTML escapes v as html/template does in HTML text: the five
// characters html.EscapeString escapes, in numeric form, and '+' too.
func templateHTML(v string) string {
	return strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;", `'`, "&#39;", `+`, "&#43;").Replace(v)
}

// jsonForms are the texts of v inside a JSON string: encoding/json's with
// and without HTML escaping, each also with '/' written "\/".
func jsonForms(v string) []string {
	var forms []string
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		_ = enc.Encode(v) // a string always encodes
		q := strings.TrimSuffix(b.String(), "\n")
		q = q[1 : len(q)-1]
		forms = append(forms, q, strings.ReplaceAll(q, "/", `\/`))
	}
	return forms
}
