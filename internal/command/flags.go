package command

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/buildinfo"
)

// versionFlag is the flag every command's flag set carries.
const versionFlag = "version"

// NewFlagSet returns an empty flag set for the command name that prints
// nothing itself: Parse returns [flag.ErrHelp] for -h, --help, -help, and an
// error for a bad flag, and the command prints its help (with
// [PrintFlags]) or the error (with [Report], after marking it with
// [UsageError]). Flags are written --name in help and documentation; Go's
// flag package accepts -name too. Every set carries --version: after
// Parse, the command asks [Version] whether to print its build and exit.
func NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Bool(versionFlag, false, "print the build (version, commit, Go version) and exit")
	return fs
}

// Version reports whether --version was given to fs, a set made by
// [NewFlagSet] and parsed; if so, it writes the command's name and its
// build to w (e.g. "enqueue (devel) (commit 4ec2272a1b9c, go1.26.8)"), and
// the command exits with [ExitOK].
func Version(fs *flag.FlagSet, w io.Writer) bool {
	f := fs.Lookup(versionFlag)
	if f == nil || f.Value.String() != "true" {
		return false
	}
	name, _, _ := strings.Cut(fs.Name(), " ")
	fmt.Fprintf(w, "%s %s\n", name, buildinfo.Read())
	return true
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
