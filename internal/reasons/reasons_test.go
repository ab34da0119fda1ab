package reasons

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"
)

type reason string

var (
	errA = errors.New("a")
	errB = errors.New("b")
)

var table = Table[reason]{{"a", errA}, {"b", errB}, {"missing", fs.ErrNotExist}}

func TestTable(t *testing.T) {
	if got := table.Reasons(); !slices.Equal(got, []reason{"a", "b", "missing"}) {
		t.Errorf("Reasons = %q", got)
	}
	if table.Sentinel("b") != errB || table.Sentinel("c") != nil {
		t.Errorf("Sentinel(b) = %v, Sentinel(c) = %v", table.Sentinel("b"), table.Sentinel("c"))
	}
	for _, c := range []struct {
		err  error
		want reason
	}{
		{nil, ""},
		{errors.New("other"), ""},
		{fmt.Errorf("x: %w", errB), "b"},
		{&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, "missing"},
	} {
		if got := table.Of(c.err); got != c.want {
			t.Errorf("Of(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestMessage(t *testing.T) {
	for _, c := range []struct {
		found string
		cause error
		fix   string
		want  string
	}{
		{"", nil, "", "p: r"},
		{"found", nil, "", "p: r: found"},
		{"", errA, "", "p: r (a)"},
		{"", nil, "fix", "p: r; fix"},
		{"found", errA, "fix", "p: r: found (a); fix"},
	} {
		if got := Message("p: ", "r", c.found, c.cause, c.fix); got != c.want {
			t.Errorf("Message(%q, %v, %q) = %q, want %q", c.found, c.cause, c.fix, got, c.want)
		}
	}
}
