package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// report is what script.js prints.
type report struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Title     string `json:"title"`
	Queue     string `json:"queue"`
	Completed struct {
		URL      string   `json:"url"`
		ImageIDs []string `json:"image_ids"`
		Rows     []string `json:"rows"`
	} `json:"completed"`
	CompletedTask struct {
		URL      string   `json:"url"`
		ImageIDs []string `json:"image_ids"`
	} `json:"completed_task"`
	Archived struct {
		URL  string   `json:"url"`
		Rows []string `json:"rows"`
	} `json:"archived"`
	Screenshots   []string `json:"screenshots"`
	Leaks         []string `json:"leaks"`
	ConsoleErrors []string `json:"console_errors"`
}

// scriptDir is the directory of this file: script.js and package.json.
func scriptDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source directory")
	}
	return filepath.Dir(file)
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireTools fails (never skips) when the browser tool chain is missing.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run `make deps` (installs nodejs, npm, chromium and playwright-core): %v", tool, err)
		}
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("chromium not found at %s: run `make deps` (or set CHROMIUM): %v", chromiumPath(), err)
	}
}

// requireModules runs `npm ci` when playwright-core is not installed yet.
func requireModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err == nil {
		return
	}
	t.Logf("installing playwright-core: npm ci --prefix %s", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--prefix", dir, "--no-audit", "--no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci --prefix %s failed (run `make deps`): %v\n%s", dir, err, out)
	}
}

// artifactsDir is where screenshots go: $TEST_ARTIFACTS/browsertest or a
// temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	if base := os.Getenv("TEST_ARTIFACTS"); base != "" {
		dir := filepath.Join(base, "browsertest")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// runScript runs script.js against url and decodes its report.
func runScript(t *testing.T, url, queue, out string, forbid ...string) report {
	t.Helper()
	requireTools(t)
	dir := scriptDir(t)
	requireModules(t, dir)
	args := []string{filepath.Join(dir, "script.js"), url, "--queue", queue, "--out", out}
	for _, f := range forbid {
		args = append(args, "--forbid", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var r report
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); err != nil {
		t.Fatalf("node script.js: %v; unreadable report %q: %v\nstderr:\n%s", runErr, stdout.String(), err, stderr.String())
	}
	if runErr != nil || !r.OK {
		t.Fatalf("node script.js failed (%v): %s\nreport: %s\nstderr:\n%s", runErr, r.Error, stdout.String(), stderr.String())
	}
	t.Logf("browser report:\n%s", strings.TrimSpace(stdout.String()))
	return r
}
