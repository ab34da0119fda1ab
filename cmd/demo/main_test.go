package main

import (
	"context"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/cmd/demo/internal/demo"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
)

// demoRun runs the command with args and env as its whole environment.
func demoRun(ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncbuf.Buffer
	code = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpShowsDoubleDashFlags(t *testing.T) {
	t.Parallel()
	code, out, _ := demoRun(t.Context(), nil, "--help")
	if code != command.ExitOK || !strings.Contains(out, "\n  --once\n") || !strings.Contains(out, "\n  --demo-redis-url URL\n") ||
		!strings.Contains(out, "(env DEMO_REDIS_URL)") || !strings.Contains(out, "is the database the demo uses (default "+demo.DefaultRedisURL) ||
		strings.Contains(out, " -once") {
		t.Errorf("--help: exit %d, stdout:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--no-such-flag"}, {"extra"}} {
		code, _, errOut := demoRun(t.Context(), nil, args...)
		if code != command.ExitUsage || !strings.Contains(errOut, "Run 'demo --help' for usage.") {
			t.Errorf("%q: exit %d, stderr %q; want %d", args, code, errOut, command.ExitUsage)
		}
	}
}
