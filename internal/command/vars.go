package command

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Var is one setting of a command: an environment variable, overridden by
// the flag of the same name (see [FlagName]).
type Var struct {
	// Name is the environment variable, e.g. REDIS_URL.
	Name string
	// Default is shown by [Vars.PrintTable]; the command applies it.
	Default string
	// Usage says what the setting does, in one line.
	Usage string
}

// FlagName is the flag that overrides the environment variable env:
// REDIS_URL becomes redis-url (given as --redis-url).
func FlagName(env string) string {
	return strings.ToLower(strings.ReplaceAll(env, "_", "-"))
}

// Vars reads a command's settings: each is an environment variable, and
// the flag of the same name given on the command line wins over it. Build
// it with [BindVars] before parsing the flags, read it with [Vars.Get]
// after.
type Vars struct {
	list   []Var
	fs     *flag.FlagSet
	values map[string]*string
	getenv func(string) string
}

// BindVars registers on fs one string flag per variable and returns the
// settings, read through getenv (os.Getenv, or a map in tests) when their
// flag is not given.
func BindVars(fs *flag.FlagSet, getenv func(string) string, vars ...Var) *Vars {
	v := &Vars{list: vars, fs: fs, values: make(map[string]*string, len(vars)), getenv: getenv}
	for _, x := range vars {
		v.values[x.Name] = fs.String(FlagName(x.Name), "", x.Usage+" (env "+x.Name+")")
	}
	return v
}

// Get returns the setting name: its flag's value if the flag was given,
// else the environment variable's (as they are: callers trim what is not a
// secret); empty when neither is set. Asking for a variable that was not bound is a bug, and
// panics: every setting must have its flag and its line in --help.
func (v *Vars) Get(name string) string {
	p, ok := v.values[name]
	if !ok {
		panic(fmt.Sprintf("command: setting %s was not bound", name))
	}
	given := false
	v.fs.Visit(func(f *flag.Flag) {
		if f.Name == FlagName(name) {
			given = true
		}
	})
	if given {
		return *p
	}
	return v.getenv(name)
}

// PrintTable writes one aligned line per variable: name, default ("-" for
// none) and usage, for a command's --help.
func (v *Vars) PrintTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, x := range v.list {
		def := x.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Name, def, x.Usage)
	}
	return tw.Flush()
}
