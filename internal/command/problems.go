package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with a command's settings, named by the
// variables that set it.
type Problem struct {
	// Vars names the variables at fault, e.g. "MEDIA_ROOTS" or
	// "RETRY_BASE_DELAY, RETRY_MAX_DELAY".
	Vars string
	Err  error
}

func (p Problem) String() string { return p.Vars + ": " + p.Err.Error() }

// Problems collects what is wrong with a command's settings, so that the
// command reports everything at once rather than the first thing only.
// The zero value is empty and ready to use.
type Problems struct {
	// List is every problem, in the order found.
	List []Problem
	bad  map[string]bool
}

// Add records err against vars.
func (ps *Problems) Add(vars string, err error) {
	if ps.bad == nil {
		ps.bad = map[string]bool{}
	}
	ps.List = append(ps.List, Problem{vars, err})
	ps.bad[vars] = true
}

// Addf records a new error formatted as by [fmt.Errorf] against vars.
func (ps *Problems) Addf(vars, format string, args ...any) {
	ps.Add(vars, fmt.Errorf(format, args...))
}

// Bad reports whether one of names (separated by ", ") has a problem.
func (ps *Problems) Bad(names string) bool {
	for _, n := range strings.Split(names, ", ") {
		if ps.bad[n] {
			return true
		}
	}
	return false
}

// Err is nil without problems, else a [UsageError] whose message gives
// every problem, separated by "; ".
func (ps *Problems) Err() error {
	if len(ps.List) == 0 {
		return nil
	}
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = p.String()
	}
	return UsageError(errors.New(strings.Join(lines, "; ")))
}

// Parse parses s, the trimmed value of the setting name, with parse: an
// empty one is the zero value (the default), and one that parse refuses
// is the zero value and a problem saying that s is not want.
func Parse[T any](ps *Problems, name, s, want string, parse func(string) (T, bool)) T {
	var zero T
	if s == "" {
		return zero
	}
	v, ok := parse(s)
	if !ok {
		ps.Addf(name, "%q is not %s", s, want)
		return zero
	}
	return v
}

// Duration parses s, the trimmed value of the setting name, as a positive
// duration; empty is 0 (the default).
func (ps *Problems) Duration(name, s string) time.Duration {
	return Parse(ps, name, s, "a positive duration (write e.g. 500ms, 30s or 2m)", func(s string) (time.Duration, bool) {
		d, err := time.ParseDuration(s)
		return d, err == nil && d > 0
	})
}

// Positive parses s, the trimmed value of the setting name, as a positive
// whole number; empty is 0 (the default).
func (ps *Problems) Positive(name, s string) int64 {
	return Parse(ps, name, s, "a positive whole number", func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n > 0
	})
}

// Bool parses s, the trimmed value of the setting name, as true or false;
// empty is false.
func (ps *Problems) Bool(name, s string) bool {
	return Parse(ps, name, s, "true or false", func(s string) (bool, bool) {
		b, err := strconv.ParseBool(s)
		return b, err == nil
	})
}
