package worker

import (
	"context"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testredis"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestMainHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if code := Main(context.Background(), []string{"-help"}, envOf(nil), &out); code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, v := range EnvVars() {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("-help does not mention %s", v.Name)
		}
	}
}

func TestMainCheck(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	cfg := testConfig(t, rs.URL(), gw.URL, t.TempDir())
	env := envFor(cfg, "LOG_FORMAT", "json")
	var out strings.Builder
	if code := Main(context.Background(), []string{"-check"}, env, &out); code != ExitOK {
		t.Fatalf("exit code %d; output:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), `"msg":"start-up checks passed"`) {
		t.Errorf("output: %s", out.String())
	}

	// A flag overrides its variable.
	out.Reset()
	code := Main(context.Background(), []string{"-check", "-media-roots", "/nonexistent/media"}, env, &out)
	if code != ExitFailed || !strings.Contains(out.String(), "MEDIA_ROOTS") || !strings.Contains(out.String(), "/nonexistent/media") {
		t.Errorf("exit code %d; output:\n%s", code, out.String())
	}

	// Syntax errors exit with the usage code before anything is checked.
	out.Reset()
	env = envFor(cfg, "LOG_FORMAT", "json", "WORKER_QUEUES", "critical:x")
	if code := Main(context.Background(), []string{"-check"}, env, &out); code != ExitUsage || !strings.Contains(out.String(), "WORKER_QUEUES") {
		t.Errorf("exit code %d; output:\n%s", code, out.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"-no-such-flag"}, env, &out); code != ExitUsage {
		t.Errorf("unknown flag: exit code %d", code)
	}
}

func TestMainRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	// HTTP_ADDR is not the default port, which a running demo may hold.
	env := mainEnv(t, rs, "HTTP_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already cancelled: start, then shut down at once
	var out strings.Builder
	if code := Main(ctx, nil, env, &out); code != ExitOK {
		t.Fatalf("exit code %d; output:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "worker started") || !strings.Contains(out.String(), "worker stopped") {
		t.Errorf("output:\n%s", out.String())
	}
}
