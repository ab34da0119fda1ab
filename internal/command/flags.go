package command

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// NewFlagSet returns an empty flag set for the command name that prints
// nothing itself: Parse returns [flag.ErrHelp] for -h, --help, -help, and an
// error for a bad flag, and the command prints its help (with
// [PrintFlags]) or the error (with [Report], after marking it with
// [UsageError]). Flags are written --name in help and documentation; Go's
// flag package accepts -name too.
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// PrintFlags writes the flags of fs for a command's --help, in name order,
// as [flag.FlagSet.PrintDefaults] does but each spelt --name: the name and
// the value's placeholder (the back-quoted word of the usage, see
// [flag.UnquoteUsage]) on one line, the usage and any non-zero default on
// the next.
func PrintFlags(w io.Writer, fs *flag.FlagSet) error {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		placeholder, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if placeholder != "" {
			fmt.Fprintf(&b, " %s", placeholder)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !isZeroDefault(f) {
			if g, ok := f.Value.(flag.Getter); ok && isString(g.Get()) {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %s)", f.DefValue)
			}
		}
		b.WriteByte('\n')
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// isZeroDefault reports whether f's default is its type's zero value (or
// an empty list), which help leaves unsaid.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
