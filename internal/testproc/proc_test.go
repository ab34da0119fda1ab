package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProcLifecycle(t *testing.T) {
	t.Parallel()
	p := &Proc{
		Name: "sh",
		Path: "/bin/sh",
		Args: []string{"-c", `echo started; trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.05; done`},
	}
	if err := p.Wait(time.Millisecond); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Wait before Start = %v, want ErrNotRunning", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if err := p.Start(); err == nil {
		t.Error("a second Start of a running process succeeded")
	}
	waitFor(t, func() bool { return strings.Contains(p.Log(), "[sh#1] started\n") }, "first start's output")
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
	waitFor(t, func() bool { return strings.Contains(p.Log(), "[sh#2] started\n") }, "second start's output")
	pid := p.Pid()
	p.Kill()
	err := p.Wait(time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("after Kill, Wait = %v, want death by SIGKILL", err)
	}
	if _, err := PeakRSS(pid); err == nil {
		t.Error("PeakRSS of a reaped process succeeded")
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal to a dead process = %v, want ErrNotRunning", err)
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

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
