package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// childCheckEnv marks the process TestCheckRefusesUnreadableMediaRoot
// starts: it runs "worker --check" and exits with its status.
const childCheckEnv = "WORKER_CLI_TEST_CHECK_CHILD"

// TestWorkerCheckChild is "worker --check" in the child process of
// TestCheckRefusesUnreadableMediaRoot; run on its own it does nothing.
func TestWorkerCheckChild(t *testing.T) {
	if os.Getenv(childCheckEnv) != "1" {
		return
	}
	os.Exit(Main(context.Background(), []string{"--check"}, os.Getenv, os.Stdout, os.Stderr))
}

// nobody is the user the check runs as when the test runs as root, who
// reads a mode-000 directory anyway.
const nobody = 65534

// TestCheckRefusesUnreadableMediaRoot: "worker --check", run as a user who
// cannot read a media root, fails with exit status 2 naming MEDIA_ROOTS and
// the root; the same check with a readable root passes, so the child's set
// up is sound. Before, the unreadable root passed --check and every job was
// then archived "permission". As root (CI), the check runs in a child
// process as nobody (65534), from a copy of this test binary in a
// directory everyone may enter.
func TestCheckRefusesUnreadableMediaRoot(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "worker-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755); os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kf, err := alipaytest.TestKeys().WriteFiles(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	locked, open := filepath.Join(dir, "locked"), filepath.Join(dir, "open")
	for _, d := range []string{locked, open} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "photo.jpg"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "cli.test")
	copyExecutable(t, bin)

	attr := &syscall.SysProcAttr{}
	if os.Geteuid() == 0 {
		// The keys become nobody's, as they would be the worker user's.
		err := filepath.Walk(filepath.Join(dir, "keys"), func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, nobody, nobody)
		})
		if err != nil {
			t.Fatal(err)
		}
		attr.Credential = &syscall.Credential{Uid: nobody, Gid: nobody}
	}

	redis := testproc.StartRedis(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	check := func(root string) (int, string) {
		cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestWorkerCheckChild$")
		cmd.Dir = dir
		cmd.SysProcAttr = attr
		cmd.Env = []string{
			childCheckEnv + "=1",
			"PATH=/usr/bin:/bin",
			"REDIS_URL=" + redis.URL(),
			"ALIPAY_GATEWAY_URL=" + gw.URL,
			"ALIPAY_APP_ID=" + alipaytest.TestAppID,
			"ALIPAY_PRIVATE_KEY_FILE=" + kf.AppPrivateKey,
			"ALIPAY_PUBLIC_KEY_FILE=" + kf.GatewayPublicKey,
			"MEDIA_ROOTS=" + root,
			"HTTP_ADDR=off",
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running the check: %v\n%s", err, out)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}

	code, out := check(open)
	if code != command.ExitOK || !strings.Contains(out, "start-up checks passed") {
		t.Fatalf("check with a readable root: exit %d, want 0\n%s", code, out)
	}
	code, out = check(locked)
	if code != command.ExitUsage || !strings.Contains(out, "MEDIA_ROOTS") || !strings.Contains(out, locked) ||
		!strings.Contains(out, "permission") {
		t.Errorf("check with an unreadable root: exit %d, want %d naming MEDIA_ROOTS, %s and the missing permission\n%s",
			code, command.ExitUsage, locked, out)
	}
	t.Logf("unreadable root:\n%s", out)
}

// copyExecutable copies this test binary to dst, mode 0755.
func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
