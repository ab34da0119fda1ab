package testproc

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestProcLifecycle(t *testing.T) {
	t.Parallel()
	p := &Proc{
		Name: "sh",
		Path: "/bin/sh",
		Args: []string{"-c", `echo started; trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.05; done`},
	}
	if err := p.Wait(time.Millisecond); !errors.Is(err, errNotRunning) {
		t.Errorf("Wait before Start = %v, want errNotRunning", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if err := p.Start(); err == nil {
		t.Error("a second Start of a running process succeeded")
	}
	WaitFor(t, 10*time.Second, "first start's output", func() bool { return strings.Contains(p.Log(), "[sh#1] started\n") })
	if rss, err := p.PeakRSS(); err != nil || rss <= 0 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
	if err := p.Wait(50 * time.Millisecond); !errors.Is(err, ErrStillRunning) {
		t.Errorf("Wait on a running process = %v, want ErrStillRunning", err)
	}
	if err := p.Term(10 * time.Second); err != nil {
		t.Fatalf("Term: %v, want a clean exit", err)
	}
	if p.Running() {
		t.Error("still running after Term")
	}
	if !strings.Contains(p.Log(), "[sh#1] got TERM\n") {
		t.Errorf("log lacks the trap's line:\n%s", p.Log())
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 10*time.Second, "second start's output", func() bool { return strings.Contains(p.Log(), "[sh#2] started\n") })
	pid := p.Pid()
	p.Kill()
	err := p.Wait(time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("after Kill, Wait = %v, want death by SIGKILL", err)
	}
	if _, err := peakRSS(pid); err == nil {
		t.Error("PeakRSS of a reaped process succeeded")
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, errNotRunning) {
		t.Errorf("Signal to a dead process = %v, want errNotRunning", err)
	}
}

func TestProcKeepsPartialLastLine(t *testing.T) {
	t.Parallel()
	p := &Proc{Name: "printf", Path: "/bin/sh", Args: []string{"-c", `printf 'one\ntwo'`}}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Log(), "[printf#1] one\n[printf#1] two\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
}

// NewWorker's child gets the settings a worker needs, and cfg.Env wins
// over them. /bin/sh stands in for cmd/worker and prints what it got.
func TestNewWorkerEnvironment(t *testing.T) {
	t.Parallel()
	p := NewWorker("w", "/bin/sh", WorkerConfig{
		RedisURL: "redis://127.0.0.1:1/0", GatewayURL: "http://127.0.0.1:2/gateway.do",
		Keys:      alipaytest.KeyFiles{AppPrivateKey: "/k/app.pem", GatewayPublicKey: "/k/gw.pem"},
		MediaRoot: "/media",
		Env:       []string{"HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=warn"},
	})
	p.Args = []string{"-c", `echo "$REDIS_URL $ALIPAY_GATEWAY_URL $ALIPAY_APP_ID $ALIPAY_PRIVATE_KEY_FILE $ALIPAY_PUBLIC_KEY_FILE $MEDIA_ROOTS $HTTP_ADDR $LOG_LEVEL"`}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	want := "[w#1] redis://127.0.0.1:1/0 http://127.0.0.1:2/gateway.do " + alipaytest.TestAppID +
		" /k/app.pem /k/gw.pem /media 127.0.0.1:0 warn\n"
	if p.Log() != want {
		t.Errorf("worker environment:\n got %q\nwant %q", p.Log(), want)
	}
}

func TestBuildReportsAFailedBuild(t *testing.T) {
	t.Parallel()
	paths, err := Build(context.Background(), t.TempDir(), "no-such-command")
	if !errors.Is(err, errBuild) || paths != nil {
		t.Fatalf("Build of a missing command = %q, %v; want errBuild", paths, err)
	}
	if !strings.Contains(err.Error(), "./cmd/no-such-command") {
		t.Errorf("error %q does not name the command", err)
	}
}
