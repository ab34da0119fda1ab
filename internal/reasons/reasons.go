package reasons

import (
	"errors"
	"strings"
)

// Entry pairs a reason with its sentinel error.
type Entry[R ~string] struct {
	Reason R
	Err    error
}

// Table lists a package's reasons with their sentinels, in the package's
// fixed order.
type Table[R ~string] []Entry[R]

// Reasons returns every reason of t, in t's order.
func (t Table[R]) Reasons() []R {
	out := make([]R, len(t))
	for i, e := range t {
		out[i] = e.Reason
	}
	return out
}

// Sentinel returns the sentinel of r, or nil for a reason not in t.
func (t Table[R]) Sentinel(r R) error {
	for _, e := range t {
		if e.Reason == r {
			return e.Err
		}
	}
	return nil
}

// Of returns the reason of the first sentinel in t that err matches with
// errors.Is, or "" when err is nil or matches none.
func (t Table[R]) Of(err error) R {
	if err == nil {
		return ""
	}
	for _, e := range t {
		if errors.Is(err, e.Err) {
			return e.Reason
		}
	}
	return ""
}

// Message returns prefix, reason, then ": found", " (cause)" and "; fix",
// each only when not empty: "validate: image_content: corrupt: the file is
// cut short (unexpected EOF); re-export it".
func Message(prefix, reason, found string, cause error, fix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(reason)
	if found != "" {
		b.WriteString(": ")
		b.WriteString(found)
	}
	if cause != nil {
		b.WriteString(" (")
		b.WriteString(cause.Error())
		b.WriteString(")")
	}
	if fix != "" {
		b.WriteString("; ")
		b.WriteString(fix)
	}
	return b.String()
}
