package cli

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

const mediaDir = "../../../testdata/media"

// run runs Main with vars as the whole environment.
func run(ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncbuf.Buffer
	code = Main(ctx, args, Env{
		Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return vars[k] },
	})
	return code, out.String(), errOut.String()
}

func copySample(t *testing.T, dir, name, as string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mediaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, as)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodTree is a directory of valid files only.
func goodTree(t *testing.T) string {
	dir := t.TempDir()
	copySample(t, dir, "photo.jpg", "a/photo.jpg")
	copySample(t, dir, "photo.png", "a/b/photo.png")
	copySample(t, dir, "clip.mp4", "clip.mp4")
	return dir
}

func readManifest(t *testing.T, path string) map[string]importer.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]importer.Row{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r importer.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		rows[filepath.Base(r.Path)] = r
	}
	return rows
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"status", "--help"}, {"serve", "-help"}} {
		code, out, _ := run(t.Context(), nil, args...)
		if code != command.ExitOK || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Exit status:") {
			t.Errorf("%q: exit %d, output %q", args, code, out)
		}
	}
}

// TestHelpListsEveryFlag keeps the hand-written help in step with the
// flags: each is shown as --name, and no flag is written -name.
func TestHelpListsEveryFlag(t *testing.T) {
	t.Parallel()
	env := Env{Getenv: func(string) string { return "" }}
	var imp importFlags
	var srv serveFlags
	var st common
	var asJSON bool
	for _, fs := range []*flag.FlagSet{imp.flags(env), srv.flags(env), statusFlags(&st, &asJSON, env)} {
		fs.VisitAll(func(f *flag.Flag) {
			if !regexp.MustCompile(`(?m)^  --` + f.Name + `(\s|$)`).MatchString(usageText) {
				t.Errorf("%s: help lacks a line for --%s", fs.Name(), f.Name)
			}
		})
	}
	if m := regexp.MustCompile(`(^|[\s(])-[a-z][a-z-]+`).FindAllString(usageText, -1); m != nil {
		t.Errorf("help shows single-dash flags: %q", m)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := goodTree(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(strings.Repeat("t", httpapi.MinTokenLen)), 0o600); err != nil {
		t.Fatal(err)
	}
	shortFile := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(shortFile, []byte("a-31-byte-token-0123456789abcde\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"no path":         {},
		"unknown flag":    {"--colour", dir},
		"bad name rule":   {"--name", "template", dir},
		"bad progress":    {"--progress", "fancy", dir},
		"bad pattern":     {"--include", "[", dir},
		"bad log level":   {"--log-level", "loud", dir},
		"missing root":    {"--media-roots", filepath.Join(dir, "nope"), dir},
		"bad redis url":   {"--redis-url", "http://x", dir},
		"status, no id":   {"status"},
		"serve, no token": {"serve", "--media-roots", dir},
		"serve, no roots": {"serve"},
		"serve, args":     {"serve", "extra"},
		"serve, spool":    {"serve", "--media-roots", dir, "--spool-dir", t.TempDir(), "--token-file", tokenFile},
		"serve, short":    {"serve", "--media-roots", dir, "--token-file", shortFile},
	}
	for name, args := range cases {
		code, _, errOut := run(t.Context(), map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, args...)
		if name == "serve, spool" && !strings.Contains(errOut, "not inside a media root") {
			t.Errorf("%s: stderr %q", name, errOut)
		}
		if name == "serve, short" && (!strings.Contains(errOut, "31 bytes, fewer than 32") || strings.Contains(errOut, "0123456789abcde")) {
			t.Errorf("%s: stderr %q; want the token's length, not the token", name, errOut)
		}
		if code != command.ExitUsage || !strings.Contains(errOut, "enqueue: ") {
			t.Errorf("%s: exit %d, stderr %q; want %d", name, code, errOut, command.ExitUsage)
		}
	}
}

// TestTokenFileMustBeRegular: issue 12 item 7. A FIFO as token file used
// to block forever (this test would hang) and /dev/zero to be read until
// the process was killed; both are refused at once with a usage error.
func TestTokenFileMustBeRegular(t *testing.T) {
	t.Parallel()
	dir := goodTree(t)
	fifo := filepath.Join(t.TempDir(), "token.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"serve, fifo":      {"serve", "--media-roots", dir, "--token-file", fifo},
		"serve, dev zero":  {"serve", "--media-roots", dir, "--token-file", "/dev/zero"},
		"import, fifo":     {"--app-auth-token-file", fifo, dir},
		"import, dev zero": {"--app-auth-token-file", "/dev/zero", dir},
	}
	for name, args := range cases {
		code, _, errOut := run(t.Context(), map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, args...)
		if code != command.ExitUsage || !strings.Contains(errOut, "not a regular file") {
			t.Errorf("%s: exit %d, stderr %q; want %d and \"not a regular file\"", name, code, errOut, command.ExitUsage)
		}
	}
}

func TestRedisUnreachableExits3(t *testing.T) {
	t.Parallel()
	dir := goodTree(t)
	srv := testproc.StartRedis(t)
	srv.Kill()
	env := map[string]string{"REDIS_URL": srv.URL(), "MEDIA_ROOTS": dir}
	if code, _, errOut := run(t.Context(), env, dir); code != command.ExitUnavailable {
		t.Errorf("import: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := run(t.Context(), env, "status", "upload:x"); code != command.ExitUnavailable {
		t.Errorf("status: exit %d, stderr %q", code, errOut)
	}
}

func TestImportExitCodesAndManifest(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	good, mixed := goodTree(t), goodTree(t)
	env := map[string]string{"REDIS_URL": srv.URL(), "MEDIA_ROOTS": good + ":" + mixed}
	manifest := filepath.Join(t.TempDir(), "m.jsonl")

	// The media roots are the workers': an import never guesses them.
	code, _, errOut := run(t.Context(), map[string]string{"REDIS_URL": srv.URL()}, good)
	if code != command.ExitUsage || !strings.Contains(errOut, "no media roots: set MEDIA_ROOTS or --media-roots") {
		t.Errorf("no MEDIA_ROOTS: exit %d, stderr %s", code, errOut)
	}
	// Flags may follow the paths.
	code, _, errOut = run(t.Context(), env, good, "--manifest", manifest, "--progress", "plain")
	if code != command.ExitOK {
		t.Fatalf("good tree: exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "3 files") || !strings.Contains(errOut, "3 queued") {
		t.Errorf("summary missing: %s", errOut)
	}
	rows := readManifest(t, manifest)
	if len(rows) != 3 || rows["photo.png"].State != importer.StateQueued {
		t.Errorf("manifest = %+v", rows)
	}

	// A tree with a bad file exits 1 and names it; --include narrows.
	copySample(t, mixed, "bad/text.jpg", "a/text.jpg")
	code, _, errOut = run(t.Context(), env, "--manifest", manifest, mixed)
	if code != command.ExitFailed || !strings.Contains(errOut, "text.jpg (unsupported_type)") {
		t.Errorf("mixed tree: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = run(t.Context(), env, "--manifest", manifest, "--include", "*.png", "--include", "*.mp4", mixed)
	if code != command.ExitOK {
		t.Errorf("--include: exit %d, stderr %s", code, errOut)
	}
	if rows := readManifest(t, manifest); len(rows) != 2 || rows["photo.png"].State != importer.StatePending {
		t.Errorf("--include manifest = %+v", rows)
	}
	// --exclude of the directory holding the bad file, and a dry run.
	code, stdout, errOut := run(t.Context(), env, "--manifest", "-", "--exclude", "a", "--dry-run", mixed)
	if code != command.ExitOK || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, `"state":"pending"`) {
		t.Errorf("--exclude --dry-run: exit %d, stdout %s, stderr %s", code, stdout, errOut)
	}
}

func TestWaitAndStatus(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	dir := goodTree(t)
	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{dir}})
	env := map[string]string{"REDIS_URL": srv.URL(), "MEDIA_ROOTS": dir}
	manifest := filepath.Join(t.TempDir(), "m.jsonl")
	code, _, errOut := run(t.Context(), env, "--wait", "--poll", "20ms", "--manifest", manifest, dir)
	if code != command.ExitOK {
		t.Fatalf("--wait: exit %d, stderr %s", code, errOut)
	}
	rows := readManifest(t, manifest)
	var ids []string
	for name, r := range rows {
		if r.State != importer.StateCompleted || r.ImageID == "" {
			t.Errorf("%s: %+v", name, r)
		}
		ids = append(ids, r.TaskID)
	}
	if len(ids) != 3 {
		t.Fatalf("%d rows", len(ids))
	}

	code, out, errOut := run(t.Context(), env, append([]string{"status"}, ids...)...)
	if code != command.ExitOK || !strings.HasPrefix(out, "TASK ID") || strings.Count(out, "completed") != 3 || !strings.Contains(out, rows["clip.mp4"].ImageID) {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t.Context(), env, "status", "--json", ids[0], "upload:unknown")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != command.ExitFailed || len(lines) != 2 || !strings.Contains(lines[0], `"state":"completed"`) ||
		!strings.Contains(lines[1], `"state":"not_found"`) || !strings.Contains(lines[1], `"task_id":"upload:unknown"`) {
		t.Errorf("status --json: exit %d\n%s", code, out)
	}

	// A job is found by its file, by a SHA-256 prefix (either case) and by
	// its ID, in whichever queue holds it.
	clip := rows["clip.mp4"]
	sum := strings.TrimSuffix(strings.TrimPrefix(clip.TaskID, "upload:"), ":self")
	for _, ref := range []string{filepath.Join(dir, "clip.mp4"), sum[:8], strings.ToUpper(sum[:20]), clip.TaskID} {
		code, out, errOut = run(t.Context(), env, "status", ref)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != command.ExitOK || len(lines) != 2 ||
			!strings.HasPrefix(lines[1], clip.TaskID+" ") || !strings.Contains(lines[1], clip.ImageID) {
			t.Errorf("status %s: exit %d\n%s%s", ref, code, out, errOut)
		}
	}
	code, out, errOut = run(t.Context(), env, "status", "abc")
	if code != command.ExitUsage || !strings.Contains(errOut, `"abc" is no file, task ID`) || out != "" {
		t.Errorf("status abc: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
}

func TestInterruptExits130WithManifest(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	dir := goodTree(t)
	env := map[string]string{"REDIS_URL": srv.URL(), "MEDIA_ROOTS": dir}
	manifest := filepath.Join(t.TempDir(), "m.jsonl")
	ctx, cancel := context.WithCancel(t.Context())
	var errOut syncbuf.Buffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"--wait", "--poll", "20ms", "--progress", "plain", "--manifest", manifest, dir},
			Env{Stdout: io.Discard, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	}()
	// No worker runs, so the import ends up waiting; interrupt it then.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errOut.String(), "wait:") {
		if time.Now().After(deadline) {
			t.Fatalf("never reached the wait phase; stderr %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != command.ExitInterrupted {
		t.Errorf("exit %d, want %d", code, command.ExitInterrupted)
	}
	if !strings.Contains(errOut.String(), "3 files") || !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("stderr lacks the summary: %s", errOut.String())
	}
	rows := readManifest(t, manifest)
	if len(rows) != 3 || rows["clip.mp4"].State != importer.StateQueued {
		t.Errorf("manifest after interrupt = %+v", rows)
	}
}

// TestServeStoppedExits0: a server stopped by a signal after a clean
// shutdown succeeded; the context is cancelled before it starts, so it
// shuts down as soon as it listens.
func TestServeStoppedExits0(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	env := map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "ENQUEUE_API_TOKEN": fileToken + " "}
	code, _, errOut := run(ctx, env, "serve", "--listen", "127.0.0.1:0", "--media-roots", t.TempDir())
	if code != command.ExitOK || !strings.Contains(errOut, "serving on") {
		t.Errorf("exit %d, stderr %q; want %d after serving", code, errOut, command.ExitOK)
	}
}

// fileToken is the API token TestServe reads from a file.
const fileToken = "file-token-0123456789abcdef012345"

func TestServe(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	copySample(t, root, "photo.jpg", "photo.jpg")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fileToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := serveFlags{listen: "127.0.0.1:0", tokenFile: tokenFile, spoolSweep: 20 * time.Millisecond, spoolGrace: time.Nanosecond}
	f.redisURL, f.mediaRoots, f.queue, f.logLevel, f.logFormat = srv.URL(), root, "default", "warn", "text"
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, f, Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	body := fmt.Sprintf(`{"path":%q}`, filepath.Join(root, "photo.jpg"))
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/uploads", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fileToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	// The default spool directory is created inside the first root.
	if fi, err := os.Stat(filepath.Join(root, ".enqueue-spool")); err != nil || !fi.IsDir() {
		t.Errorf("spool dir: %v", err)
	}
	// A file sent in the request is swept once its task is gone.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "shop.png")
	png, err := os.ReadFile(filepath.Join(mediaDir, "photo.png"))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(png)
	mw.Close()
	req, _ = http.NewRequest("POST", "http://"+addr+"/v1/uploads", &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+fileToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		TaskID string `json:"task_id"`
		Path   string `json:"path"`
	}
	err = json.NewDecoder(resp.Body).Decode(&task)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted || task.Path == "" {
		t.Fatalf("POST file: %d %+v %v", resp.StatusCode, task, err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(task.Path); err != nil {
		t.Fatalf("the file of a queued task was swept: %v", err)
	}
	// A worker completes the task; then the sweep removes the file.
	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}})
	testproc.WaitFor(t, 30*time.Second, "the sweep to remove the file of a completed task", func() bool {
		_, err := os.Stat(task.Path)
		return errors.Is(err, fs.ErrNotExist)
	})
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve after shutdown: %v", err)
	}
}

// TestHelpDefaultsFilledIn checks that every default the help names was
// filled in from its constant.
func TestHelpDefaultsFilledIn(t *testing.T) {
	t.Parallel()
	// A placeholder is {name}; glob alternatives such as {jpg,png} are text.
	if loc := regexp.MustCompile(`\{[a-z-]+\}`).FindStringIndex(usageText); loc != nil {
		t.Errorf("help has a placeholder left: %q", usageText[max(loc[0]-20, 0):min(loc[1]+20, len(usageText))])
	}
	for _, want := range []string{"default " + tasks.DefaultRedisURL, "(default 1s)", "(default 10m)", "(default 1h)"} {
		if !strings.Contains(usageText, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestServeSettingsAreVariables: every flag of `enqueue serve` has an
// environment variable, and README.md's table names both with the flag's
// default; a variable takes effect (a token file named by
// ENQUEUE_API_TOKEN_FILE), loses to its flag, and a bad value is a usage
// error naming the variable.
func TestServeSettingsAreVariables(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][2]string{} // flag -> variable, default
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| `--([a-z-]+)` \\|\\s*([^|]*?)\\s*\\|").FindAllStringSubmatch(string(data), -1) {
		rows[m[2]] = [2]string{m[1], strings.Trim(m[3], "`")}
	}
	common := map[string]string{"redis-url": "REDIS_URL", "media-roots": "MEDIA_ROOTS", "queue": "ENQUEUE_QUEUE",
		"log-level": "LOG_LEVEL", "log-format": "LOG_FORMAT", "convert-max-bytes": "UPLOAD_CONVERT_MAX_BYTES",
		"merchant-key-file": "MERCHANT_KEY_FILE"}
	var f serveFlags
	f.flags(Env{Getenv: func(string) string { return "" }}).VisitAll(func(fl *flag.Flag) {
		if fl.Name == "version" {
			return
		}
		key := cmp.Or(serveEnv[fl.Name], common[fl.Name])
		row, ok := rows[fl.Name]
		switch {
		case key == "":
			t.Errorf("--%s has no environment variable", fl.Name)
		case !ok || row[0] != key:
			t.Errorf("README.md lacks the row `%s` | `--%s` (has %q)", key, fl.Name, row)
		case row[1] != "(required)" && row[1] != "" && row[1] != shownDefault(fl.DefValue):
			t.Errorf("README.md gives --%s the default %q, the command %q", fl.Name, row[1], fl.DefValue)
		}
	})

	env := map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "ENQUEUE_SPOOL_SWEEP": "often"}
	code, _, errOut := run(t.Context(), env, "serve", "--media-roots", t.TempDir())
	if code != command.ExitUsage || !strings.Contains(errOut, "ENQUEUE_SPOOL_SWEEP") {
		t.Errorf("a bad ENQUEUE_SPOOL_SWEEP: exit %d, stderr %q", code, errOut)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(fileToken), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // serve shuts down as soon as it listens
	env = map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "ENQUEUE_API_TOKEN_FILE": tokenFile,
		"ENQUEUE_LISTEN": "no-such-address", "ENQUEUE_SPOOL_SWEEP": "1m"}
	code, _, errOut = run(ctx, env, "serve", "--listen", "127.0.0.1:0", "--media-roots", t.TempDir())
	if code != command.ExitOK || !strings.Contains(errOut, "serving on") {
		t.Errorf("ENQUEUE_API_TOKEN_FILE, --listen over ENQUEUE_LISTEN: exit %d, stderr %q", code, errOut)
	}
}

// shownDefault is a flag's default as the README writes it: a duration as
// shortDuration does (10m, not 10m0s).
func shownDefault(s string) string {
	if d, err := time.ParseDuration(s); err == nil {
		return shortDuration(d)
	}
	return s
}
