package command

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }

func TestPrintFlags(t *testing.T) {
	t.Parallel()
	fs := NewFlagSet("tool")
	fs.String("listen", "127.0.0.1:9090", "listen `address`")
	fs.String("keys-dir", "", "directory of the keys")
	fs.Bool("once", false, "print the results and exit")
	fs.Bool("color", true, "colour the output")
	fs.Int("rounds", 3, "rounds per cell")
	fs.Duration("delay", 0, "a delay")
	fs.Duration("timeout", 5*time.Second, "a timeout\non two lines")
	fs.Var(&listValue{}, "fault", "fault `spec` (repeatable)")
	var buf bytes.Buffer
	if err := PrintFlags(&buf, fs); err != nil {
		t.Fatal(err)
	}
	want := `  --color
    	colour the output (default true)
  --delay duration
    	a delay
  --fault spec
    	fault spec (repeatable)
  --keys-dir string
    	directory of the keys
  --listen address
    	listen address (default "127.0.0.1:9090")
  --once
    	print the results and exit
  --rounds int
    	rounds per cell (default 3)
  --timeout duration
    	a timeout
    	on two lines (default 5s)
  --version
    	print the build (version, commit, Go version) and exit
`
	if buf.String() != want {
		t.Errorf("PrintFlags wrote\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestNewFlagSetIsSilent(t *testing.T) {
	t.Parallel()
	fs := NewFlagSet("tool")
	fs.Bool("once", false, "")
	if err := fs.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	fs = NewFlagSet("tool")
	if err := fs.Parse([]string{"--nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("--nope: %v", err)
	}
	// Nothing is printed: the flag set's output is discarded.
	if fs.Output() != io.Discard {
		t.Errorf("output is %v, not io.Discard", fs.Output())
	}
}
