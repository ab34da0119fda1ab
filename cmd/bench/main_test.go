package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
)

func benchRun(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncbuf.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpShowsDoubleDashFlags(t *testing.T) {
	t.Parallel()
	code, out, _ := benchRun(t.Context(), "-h")
	if code != command.ExitOK || !strings.Contains(out, "\n  --output file\n") || strings.Contains(out, " -output") {
		t.Errorf("-h: exit %d, stdout:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--no-such-flag"}, "not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--rounds", "0"}, "--rounds: 0 is below 1"},
		{[]string{"--sizes", "10,x"}, `--sizes: "x" is not a whole number`},
		{[]string{"--conc", ","}, "--conc: empty list"},
	} {
		code, _, errOut := benchRun(t.Context(), tc.args...)
		if code != command.ExitUsage || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, command.ExitUsage, tc.msg)
		}
	}
}

// TestNoRedisServerExits3: the private redis-server bench needs cannot
// start. --worker names a (missing) binary so nothing is built first.
func TestNoRedisServerExits3(t *testing.T) {
	t.Setenv("REDIS_SERVER", filepath.Join(t.TempDir(), "no-redis-server"))
	code, _, errOut := benchRun(t.Context(), "--worker", filepath.Join(t.TempDir(), "worker"))
	if code != command.ExitUnavailable || !strings.Contains(errOut, "no-redis-server") {
		t.Errorf("exit %d, stderr %q; want %d", code, errOut, command.ExitUnavailable)
	}
}

// TestInterruptedExits130: a run whose context is done (a Ctrl-C) stops
// with 130.
func TestInterruptedExits130(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code, _, errOut := benchRun(ctx, "--worker", filepath.Join(t.TempDir(), "worker"), "--files", "1", "--rounds", "1")
	if code != command.ExitInterrupted || !strings.Contains(errOut, "bench: interrupted") {
		t.Errorf("exit %d, stderr %q; want %d", code, errOut, command.ExitInterrupted)
	}
}
