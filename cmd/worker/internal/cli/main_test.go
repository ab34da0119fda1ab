package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// workingEnv is a complete worker environment on redisURL and a private
// gateway, with key files and a media root, plus extra name/value pairs.
func workingEnv(t *testing.T, redisURL string, extra ...string) func(string) string {
	t.Helper()
	gw := alipaytest.Start(t, alipaytest.Config{})
	kf, err := alipaytest.TestKeys().WriteFiles(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{
		"REDIS_URL":               redisURL,
		"ALIPAY_GATEWAY_URL":      gw.URL,
		"ALIPAY_APP_ID":           alipaytest.TestAppID,
		"ALIPAY_PRIVATE_KEY_FILE": kf.AppPrivateKey,
		"ALIPAY_PUBLIC_KEY_FILE":  kf.GatewayPublicKey,
		"MEDIA_ROOTS":             t.TempDir(),
		// Not the default port, which a running demo may hold.
		"HTTP_ADDR": "127.0.0.1:0",
	}
	for i := 0; i < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return envOf(m)
}

// deadRedis is the URL of a Redis that is not there.
func deadRedis(t *testing.T) string {
	return fmt.Sprintf("redis://:hunter2@127.0.0.1:%d/0", testproc.FreePort(t))
}

func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	if code := Main(context.Background(), []string{"--help"}, envOf(nil), &out, &errOut); code != command.ExitOK || errOut.Len() > 0 {
		t.Fatalf("exit code %d, stderr %q", code, errOut.String())
	}
	for _, v := range vars {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("--help does not mention %s", v.Name)
		}
	}
	if !strings.Contains(out.String(), "--check") {
		t.Errorf("--help does not mention --check:\n%s", out.String())
	}
}

func TestMainCheck(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	env := workingEnv(t, rs.URL(), "LOG_FORMAT", "json")
	var out syncbuf.Buffer
	if code := Main(context.Background(), []string{"--check"}, env, &out, &out); code != command.ExitOK {
		t.Fatalf("exit code %d; output:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), `"msg":"start-up checks passed"`) {
		t.Errorf("output: %s", out.String())
	}

	// A flag overrides its variable.
	out = syncbuf.Buffer{}
	code := Main(context.Background(), []string{"-check", "--media-roots", "/nonexistent/media"}, env, &out, &out)
	if code != command.ExitUsage || !strings.Contains(out.String(), "MEDIA_ROOTS") || !strings.Contains(out.String(), "/nonexistent/media") {
		t.Errorf("exit code %d; output:\n%s", code, out.String())
	}

	// Syntax errors exit with the usage code.
	out = syncbuf.Buffer{}
	env = workingEnv(t, rs.URL(), "LOG_FORMAT", "json", "WORKER_QUEUES", "critical:x")
	if code := Main(context.Background(), []string{"--check"}, env, &out, &out); code != command.ExitUsage || !strings.Contains(out.String(), "WORKER_QUEUES") {
		t.Errorf("exit code %d; output:\n%s", code, out.String())
	}
	out = syncbuf.Buffer{}
	if code := Main(context.Background(), []string{"--no-such-flag"}, env, &out, &out); code != command.ExitUsage ||
		!strings.Contains(out.String(), "no-such-flag") || !strings.Contains(out.String(), "worker --help") {
		t.Errorf("unknown flag: exit code %d; output:\n%s", code, out.String())
	}
	out = syncbuf.Buffer{}
	if code := Main(context.Background(), []string{"stray"}, env, &out, &out); code != command.ExitUsage {
		t.Errorf("stray argument: exit code %d", code)
	}
}

// TestMainReportsEveryProblem: the settings' problems, the key files' and
// what worker.New finds come out together, each naming its variable.
func TestMainReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{"missing app id", []string{"ALIPAY_APP_ID", ""}, []string{"ALIPAY_APP_ID: required"}},
		{"missing roots", []string{"MEDIA_ROOTS", ""}, []string{"MEDIA_ROOTS: required"}},
		{"relative root", []string{"MEDIA_ROOTS", "media"}, []string{`MEDIA_ROOTS: \"media\" is not an absolute path`}},
		{"max below base", []string{"RETRY_BASE_DELAY", "1m", "RETRY_MAX_DELAY", "1s"}, []string{"RETRY_BASE_DELAY", "shorter than the base delay"}},
		{"bad gateway", []string{"ALIPAY_GATEWAY_URL", "ftp://x"}, []string{"ALIPAY_GATEWAY_URL"}},
		{"unknown type", []string{"UPLOAD_ALLOWED_TYPES", "tiff"}, []string{"UPLOAD_ALLOWED_TYPES", "tiff"}},
		{"open dashboard", []string{"HTTP_ADDR", "0.0.0.0:0"}, []string{"HTTP_ADDR: 0.0.0.0:0 is reachable from other machines", "DASHBOARD_USER", "DASHBOARD_INSECURE=true"}},
		{"all at once", []string{"ALIPAY_PRIVATE_KEY_FILE", "/nonexistent/key.pem", "MEDIA_ROOTS", "/nonexistent/media", "WORKER_QUEUES", "a:x"},
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "key.pem", "MEDIA_ROOTS", "/nonexistent/media", "WORKER_QUEUES", "REDIS_URL: Redis at redis://:xxxxx@127.0.0.1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra := append([]string{"REDIS_PING_TIMEOUT", "300ms"}, tt.extra...)
			var out syncbuf.Buffer
			code := Main(context.Background(), []string{"--check"}, workingEnv(t, deadRedis(t), extra...), &out, &out)
			if code != command.ExitUsage {
				t.Errorf("exit code %d, want %d", code, command.ExitUsage)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "hunter2") {
				t.Errorf("output reveals the Redis password:\n%s", out.String())
			}
		})
	}
}

// TestMainRedisUnreachable: when the one problem is Redis not answering,
// the exit status says a dependency is missing.
func TestMainRedisUnreachable(t *testing.T) {
	t.Parallel()
	url := deadRedis(t)
	var out syncbuf.Buffer
	code := Main(context.Background(), []string{"--check"}, workingEnv(t, url, "REDIS_PING_TIMEOUT", "300ms"), &out, &out)
	if code != command.ExitUnavailable {
		t.Errorf("exit code %d, want %d; output:\n%s", code, command.ExitUnavailable, out.String())
	}
	want := "REDIS_URL: Redis at " + strings.Replace(url, "hunter2", "xxxxx", 1) + " is unreachable"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "connection refused") || strings.Contains(out.String(), "hunter2") {
		t.Errorf("output lacks %q and the cause, or shows the password:\n%s", want, out.String())
	}
}

func TestMainRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, nil, workingEnv(t, rs.URL()), &out, &out) }()
	// HTTP_ADDR=127.0.0.1:0 takes a free port and the log gives the real
	// URL.
	listening := regexp.MustCompile(`msg="dashboard listening".* url=http://127\.0\.0\.1:(\d+)/`)
	for deadline := time.Now().Add(time.Minute); !listening.MatchString(out.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no dashboard URL in the log:\n%s", out.String())
		}
	}
	if m := listening.FindStringSubmatch(out.String()); m[1] == "0" {
		t.Errorf("the dashboard URL has port 0:\n%s", out.String())
	}
	cancel() // as SIGTERM does
	if code := <-done; code != command.ExitOK {
		t.Fatalf("exit code %d; output:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "worker started") || !strings.Contains(out.String(), "worker stopped") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestMainInterruptedAtStart: a signal during the start-up checks ends the
// command with the interrupted status.
func TestMainInterruptedAtStart(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out syncbuf.Buffer
	if code := Main(ctx, nil, workingEnv(t, rs.URL()), &out, &out); code != command.ExitInterrupted {
		t.Errorf("exit code %d, want %d; output:\n%s", code, command.ExitInterrupted, out.String())
	}
}

// TestMainHTTPSettings checks the HTTP settings as the command reads them.
func TestMainHTTPSettings(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	for _, c := range []struct {
		name  string
		args  []string
		extra []string
		code  int
		want  string
	}{
		{"open address without auth", []string{"--check"}, []string{"HTTP_ADDR", "0.0.0.0:0"}, command.ExitUsage, "DASHBOARD_USER"},
		{"flag wins", []string{"--check", "--http-addr", "0.0.0.0:0"}, nil, command.ExitUsage, "DASHBOARD_INSECURE=true"},
		{"open address with auth", []string{"--check"}, []string{"HTTP_ADDR", "0.0.0.0:0", "DASHBOARD_USER", "ops", "DASHBOARD_PASSWORD", "pw"}, command.ExitOK, "start-up checks passed"},
		{"forced open address", []string{"--check"}, []string{"HTTP_ADDR", "0.0.0.0:0", "DASHBOARD_INSECURE", "true"}, command.ExitOK, "start-up checks passed"},
		{"off", []string{"--check"}, []string{"HTTP_ADDR", "off"}, command.ExitOK, "start-up checks passed"},
		{"bad boolean", []string{"--check"}, []string{"DASHBOARD_READONLY", "maybe"}, command.ExitUsage, "DASHBOARD_READONLY"},
		{"user without password", []string{"--check"}, []string{"DASHBOARD_USER", "ops"}, command.ExitUsage, "DASHBOARD_PASSWORD"},
	} {
		var out syncbuf.Buffer
		if code := Main(context.Background(), c.args, workingEnv(t, rs.URL(), c.extra...), &out, &out); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s", c.name, code, c.code, c.want, out.String())
		}
	}
}

// TestMainHTTPAddrTaken: a second worker on a taken HTTP_ADDR stops at
// start-up with exit status 2 and a message saying what to set, before its
// asynq server registers with Redis.
func TestMainHTTPAddrTaken(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var out syncbuf.Buffer
	code := Main(context.Background(), nil, workingEnv(t, rs.URL(), "HTTP_ADDR", addr), &out, &out)
	if code != command.ExitUsage {
		t.Errorf("exit %d, want %d; output:\n%s", code, command.ExitUsage, out.String())
	}
	want := "HTTP_ADDR: " + addr + " is in use (another worker?): set HTTP_ADDR to a free address, 127.0.0.1:0 for any free port, or off"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "worker started") {
		t.Errorf("the worker started anyway:\n%s", out.String())
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: rs.Addr()})
	defer insp.Close()
	if servers, err := insp.Servers(); err != nil || len(servers) != 0 {
		t.Errorf("asynq servers in Redis = %v, %v; want none", servers, err)
	}
}

// TestAddrProblemOtherFailure: an address that cannot be bound for another
// reason names HTTP_ADDR and keeps the cause.
func TestAddrProblemOtherFailure(t *testing.T) {
	t.Parallel()
	st, _ := read(envOf(map[string]string{"HTTP_ADDR": "192.0.2.1:0"}))
	cause := errors.New("listen tcp 192.0.2.1:0: bind: cannot assign requested address")
	p := addrProblem(cause, st)
	if !errors.Is(p.Err, cause) || !strings.Contains(p.String(), "HTTP_ADDR: 192.0.2.1:0: cannot listen") {
		t.Errorf("problem = %s", p)
	}
}
