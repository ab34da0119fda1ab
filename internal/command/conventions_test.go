package command_test

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// TestEveryCommandPrintsItsVersion builds every command of the module and
// runs each with --version (enqueue's subcommands too): exit 0, one line
// naming the command and the Go version that built it, nothing on stderr,
// and no work done (the worker would need keys, the emulator a port).
func TestEveryCommandPrintsItsVersion(t *testing.T) {
	t.Parallel()
	cmds := []string{"worker", "enqueue", "alipay-emulator", "demo", "bench"}
	bins, err := testproc.Build(t.Context(), t.TempDir(), cmds...)
	if err != nil {
		t.Fatal(err)
	}
	runs := [][]string{}
	for i, c := range cmds {
		runs = append(runs, []string{c, bins[i], "--version"})
	}
	runs = append(runs, []string{"enqueue", bins[1], "serve", "--version"}, []string{"enqueue", bins[1], "status", "--version"})
	for _, r := range runs {
		var stderr strings.Builder
		cmd := exec.CommandContext(t.Context(), r[1], r[2:]...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"} // no settings at all
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		line := string(out)
		if err != nil || stderr.Len() > 0 || strings.Count(line, "\n") != 1 ||
			!strings.HasPrefix(line, r[0]+" ") || !strings.Contains(line, runtime.Version()) {
			t.Errorf("%s %v: err %v, stdout %q, stderr %q; want one line %q", r[0], r[2:], err, line, stderr.String(),
				r[0]+" (devel) ("+runtime.Version()+")")
		}
	}
}

// TestMakeHelpIsPlainOffTerminal runs `make help` with its output in a
// pipe, as CI logs and `make help | less` see it: the targets are listed
// without colour escape codes.
func TestMakeHelpIsPlainOffTerminal(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "make", "-s", "-C", "../..", "help").Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	help := string(out)
	if strings.Contains(help, "\x1b") {
		t.Errorf("make help writes escape codes into a pipe:\n%q", help)
	}
	for _, target := range []string{"demo", "test", "bench", "chaos"} {
		if !strings.Contains(help, "\n  "+target+" ") && !strings.HasPrefix(help, "  "+target+" ") {
			t.Errorf("make help lacks the %s target:\n%s", target, help)
		}
	}
}
