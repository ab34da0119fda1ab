package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// stampedWriter keeps each line written to it with the time it came.
type stampedWriter struct {
	mu    sync.Mutex
	lines []stampedLine
	text  strings.Builder
}

type stampedLine struct {
	at   time.Time
	text string
}

func (w *stampedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.text.Write(p)
	for line := range strings.Lines(string(p)) {
		w.lines = append(w.lines, stampedLine{now, strings.TrimSuffix(line, "\n")})
	}
	return len(p), nil
}

func (w *stampedWriter) snapshot() ([]stampedLine, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]stampedLine(nil), w.lines...), w.text.String()
}

// TestWaitShowsEachJobsState: while --wait waits for a job that the
// gateway failed once (503), the plain progress names the file, says
// "retrying", the failed attempt and its reason, and when the next attempt
// is due; plain reports come no more often than their interval (10 s by
// default, shortened here) and the import rate does not decay while
// waiting. Meanwhile the CLI status, its JSON and the HTTP API call the
// task by the same word; once it completed after the retry, none of them
// (nor the manifest) shows the stale last error, and a corrupt file's
// manifest row and problem line say the reason once.
func TestWaitShowsEachJobsState(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	dir := t.TempDir()
	copySample(t, dir, "photo.jpg", "shop/front.jpg")
	copySample(t, dir, "bad/truncated.png", "shop/broken.png")
	const retryDelay = 3 * time.Second
	w := workertest.Start(t, workertest.Config{
		RedisURL: srv.URL(), MediaRoots: []string{dir},
		Retry:                    tasks.RetryPolicy{BaseDelay: retryDelay, MaxDelay: retryDelay, Jitter: -1},
		DelayedTaskCheckInterval: 100 * time.Millisecond,
	})
	if err := w.Gateway.Faults().Set("503=next:1"); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"REDIS_URL": srv.URL(), "MEDIA_ROOTS": dir}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	api, err := httpapi.New(httpapi.Config{Client: client, Token: strings.Repeat("t", httpapi.MinTokenLen)})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(api)
	defer web.Close()

	const interval = 300 * time.Millisecond
	var stderr stampedWriter
	manifest := filepath.Join(t.TempDir(), "m.jsonl")
	type result struct {
		code  int
		start time.Time
		end   time.Time
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		code := Main(t.Context(), []string{"--wait", "--poll", "50ms", "--progress", "plain", "--manifest", manifest, dir},
			Env{Stdout: &strings.Builder{}, Stderr: &stderr, Getenv: func(k string) string { return vars[k] }, plainInterval: interval})
		done <- result{code, start, time.Now()}
	}()

	// While the job waits for its second attempt, every view of it says
	// "retrying".
	id := tasks.TaskID(tasks.UploadPayload{SHA256: sha256Of(t, filepath.Join(dir, "shop/front.jpg"))})
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := client.Lookup(t.Context(), id)
		if err == nil && st.State == tasks.StateRetry {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job never went to retry: %+v, %v", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	views := wordsOf(t, vars, web.URL, id)
	for view, word := range views {
		if word != string(tasks.WordRetrying) {
			t.Errorf("while retrying, %s says %q, want %q", view, word, tasks.WordRetrying)
		}
	}

	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("--wait did not end")
	}
	lines, text := stderr.snapshot()
	t.Logf("stderr:\n%s", text)
	if res.code != command.ExitFailed { // the corrupt file
		t.Errorf("exit %d, want %d (one file rejected)", res.code, command.ExitFailed)
	}

	// The retrying job, by file, with its failed attempt, the reason and
	// when the next attempt is due.
	front := filepath.Join(dir, "shop/front.jpg")
	var retrying string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l.text), "retrying "+front+": ") {
			retrying = l.text
			break
		}
	}
	for _, want := range []string{"attempt 1 of ", " failed: ", "503", "next attempt "} {
		if !strings.Contains(retrying, want) {
			t.Errorf("no plain line says the job retries with %q: %q", want, retrying)
		}
	}
	// The summary of the wait counts it, and the rate stays the import's.
	var reports []stampedLine
	for _, l := range lines {
		if strings.HasPrefix(l.text, "import: ") || strings.HasPrefix(l.text, "wait: ") {
			reports = append(reports, l)
		}
	}
	sawRetryingCount := false
	for _, l := range reports {
		if strings.HasPrefix(l.text, "wait: ") {
			if strings.Contains(l.text, " 0.0 files/s") {
				t.Errorf("the rate decayed while waiting: %q", l.text)
			}
			sawRetryingCount = sawRetryingCount || strings.Contains(l.text, "waiting for 1 (1 retrying)")
		}
	}
	if !sawRetryingCount {
		t.Error("no wait report counts the retrying job")
	}
	// At most one report per interval: never two closer than half of it
	// (a late tick is followed by one on time), and no more than the run's
	// length allows.
	for i := 1; i < len(reports); i++ {
		if gap := reports[i].at.Sub(reports[i-1].at); gap < interval/2 {
			t.Errorf("plain reports %v apart (interval %v): %q then %q", gap, interval, reports[i-1].text, reports[i].text)
		}
	}
	if most := int(res.end.Sub(res.start)/interval) + 1; len(reports) > most {
		t.Errorf("%d plain reports in %v, want at most %d", len(reports), res.end.Sub(res.start), most)
	}
	if len(reports) < 2 {
		t.Errorf("%d plain reports; the run lasted %v", len(reports), res.end.Sub(res.start))
	}

	// The corrupt file: its reason once, in its problem line and its row.
	rows := readManifest(t, manifest)
	broken := rows["broken.png"]
	if broken.State != importer.StateRejected || broken.Reason != "corrupt" || strings.Contains(broken.Error, "corrupt") ||
		strings.Contains(broken.Error, "validate:") || strings.Contains(broken.Error, "skip retry") {
		t.Errorf("corrupt file's row: %+v", broken)
	}
	problem := "rejected " + filepath.Join(dir, "shop/broken.png") + " (corrupt): "
	if !strings.Contains(text, problem) || strings.Count(text, "corrupt") != 1 {
		t.Errorf("stderr lacks %q, or says corrupt more than once", problem)
	}

	// Completed after the retry: the same word everywhere, and no stale
	// last error.
	row := rows["front.jpg"]
	if row.State != importer.StateCompleted || row.Error != "" || row.ImageID == "" {
		t.Errorf("manifest row after the retry: %+v", row)
	}
	views = wordsOf(t, vars, web.URL, id)
	for view, word := range views {
		if word != string(row.State) {
			t.Errorf("once completed, %s says %q, the manifest %q", view, word, row.State)
		}
	}
	var task httpapi.Task
	getJSON(t, web.URL+"/v1/uploads/"+id, &task)
	if task.LastError != "" || task.LastFailedAt != nil || task.Retried != 1 {
		t.Errorf("API answer after a completed retry: last_error %q, last_failed_at %v, retried %d", task.LastError, task.LastFailedAt, task.Retried)
	}
	if _, out, _ := run(t.Context(), vars, "status", id); strings.Contains(out, "503") {
		t.Errorf("status shows the stale error:\n%s", out)
	}
}

// wordsOf returns the word each view gives the task id: the status table,
// status --json's "status" and the HTTP API's "status".
func wordsOf(t *testing.T, vars map[string]string, apiURL, id string) map[string]string {
	t.Helper()
	views := map[string]string{}
	code, out, errOut := run(context.Background(), vars, "status", id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != command.ExitOK || len(lines) != 2 || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	if f := strings.Fields(lines[1]); len(f) > 2 {
		views["the status table"] = f[2]
	}
	code, out, errOut = run(context.Background(), vars, "status", "--json", id)
	var st httpapi.Task
	if err := json.Unmarshal([]byte(out), &st); code != command.ExitOK || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	views["status --json"] = st.Status
	var task httpapi.Task
	getJSON(t, apiURL+"/v1/uploads/"+id, &task)
	views["the HTTP API"] = task.Status
	if task.State == "" || task.Status == task.State && task.State != "completed" {
		t.Errorf("API answer: state %q, status %q; want asynq's state beside the word", task.State, task.Status)
	}
	return views
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("t", httpapi.MinTokenLen))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func sha256Of(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestStateWordsDocumented: every word of the one vocabulary is explained
// in the help and in the README's table, and the OpenAPI document's
// "status" lists exactly the words a task can have.
func TestStateWordsDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var taskWords []string
	for _, w := range tasks.Words() {
		if !strings.Contains(usageText, "\n  "+string(w)+" ") {
			t.Errorf("help does not explain the state %q", w)
		}
		if !strings.Contains(string(readme), "| `"+string(w)+"` |") {
			t.Errorf("README's state table lacks %q", w)
		}
		if w != tasks.WordPending && w != tasks.WordRejected && w != tasks.WordWouldQueue {
			taskWords = append(taskWords, string(w))
		}
	}
	if want := "enum: [" + strings.Join(taskWords, ", ") + "]"; !strings.Contains(string(httpapi.OpenAPI), "        status:\n          type: string\n          "+want) {
		t.Errorf("openapi.yaml: Task.status lacks %q", want)
	}
}
