package command_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestREADMENamesEveryVariable: every environment variable a command of
// the module reads (a string literal of the form PREFIX_NAME in cmd/'s
// non-test code) is named in README.md. The worker's and enqueue serve's
// tables are checked against their defaults by those commands' tests.
func TestREADMENamesEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	variable := regexp.MustCompile(`"((?:ALIPAY|APP|AWS|DASHBOARD|DEMO|ENQUEUE|HTTP|LOG|MEDIA|REDIS|RETRY|S3|SHUTDOWN|UPLOAD|WORKER)_[A-Z0-9_]+)"`)
	seen := map[string]bool{}
	err = filepath.WalkDir("../../cmd", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range variable.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 30 {
		t.Fatalf("found only %d variables in cmd/: %v", len(seen), seen)
	}
	for name := range seen {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not name %s, which a command reads", name)
		}
	}
}
