package cli

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
)

func TestProgressLines(t *testing.T) {
	t.Parallel()
	s := importer.Progress{Phase: importer.PhaseImport, Files: 50, Bytes: 5 << 20, TotalFiles: 100, TotalBytes: 10 << 20,
		Queued: 40, Rejected: 10, Elapsed: 10 * time.Second}
	plain := plainLine(s)
	for _, want := range []string{"50/100 files", "5.0 MiB/10.0 MiB", "5.0 files/s", "queued 40", "rejected 10", "ETA 10s"} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain line %q lacks %q", plain, want)
		}
	}
	line := terminalLine(s, 200, time.Now())
	if !strings.HasPrefix(line, "["+strings.Repeat("█", 10)+strings.Repeat(" ", 10)+"]") {
		t.Errorf("terminal line %q: want a half-full bar", line)
	}
	if got := terminalLine(s, 30, time.Now()); utf8.RuneCountInString(got) != 30 {
		t.Errorf("terminal line not cut to width: %q", got)
	}

	unknown := importer.Progress{Phase: importer.PhaseImport, Files: 3, Bytes: 10, TotalFiles: -1, TotalBytes: -1, Elapsed: time.Second}
	if got := plainLine(unknown); !strings.Contains(got, "3/? files") || strings.Contains(got, "ETA") {
		t.Errorf("unknown totals: %q", got)
	}
	wait := importer.Progress{Phase: importer.PhaseWait, Completed: 3, Failed: 1, Waiting: 4, TotalFiles: 8, Elapsed: time.Second}
	if got := terminalLine(wait, 200, time.Now()); !strings.Contains(got, "4 left") {
		t.Errorf("wait line: %q", got)
	}
}

// TestDisplay runs a display as an import drives it: notices and problem
// rows are printed above the live line, which is blanked out first; the
// last line stays, ended by a newline; plain mode prints a line per report
// but none for the end; an OnRow already set is still called.
func TestDisplay(t *testing.T) {
	t.Parallel()
	rejected := importer.Row{Path: "/m/a.jpg", State: importer.StateRejected, Reason: "corrupt", Error: "truncated"}
	failed := importer.Row{Path: "/m/b.jpg", State: importer.StateFailed, TaskID: "upload:x", Error: "40004"}
	running := importer.Progress{Phase: importer.PhaseImport, Files: 1, TotalFiles: 2, TotalBytes: -1, Elapsed: time.Second}
	done := importer.Progress{Phase: importer.PhaseDone, Files: 2, TotalFiles: 2, TotalBytes: -1, Elapsed: time.Second}
	for _, tc := range []struct {
		mode ProgressMode
		want string
	}{
		{ProgressBar, "\r" + terminalLine(running, 80, time.Time{}) +
			"\r" + strings.Repeat(" ", utf8.RuneCountInString(terminalLine(running, 80, time.Time{}))) + "\r" +
			"rejected /m/a.jpg (corrupt): truncated\n" +
			"failed /m/b.jpg (task upload:x): 40004\n" +
			"redis is back\n" +
			"\r" + terminalLine(done, 80, time.Time{}) + "\n"},
		{ProgressPlain, plainLine(running) + "\n" +
			"rejected /m/a.jpg (corrupt): truncated\n" +
			"failed /m/b.jpg (task upload:x): 40004\n" +
			"redis is back\n"},
		{ProgressNone, "rejected /m/a.jpg (corrupt): truncated\n" +
			"failed /m/b.jpg (task upload:x): 40004\n" +
			"redis is back\n"},
	} {
		var out syncbuf.Buffer
		var rows []importer.Row
		cfg := importer.Config{OnRow: func(r importer.Row) { rows = append(rows, r) }}
		NewDisplay(&out, tc.mode, 80).Attach(&cfg)
		if (cfg.OnProgress != nil) != (tc.mode != ProgressNone) {
			t.Errorf("mode %d: OnProgress set = %v", tc.mode, cfg.OnProgress != nil)
		}
		if cfg.OnProgress != nil {
			cfg.OnProgress(running)
		}
		cfg.OnRow(rejected)
		cfg.OnRow(failed)
		cfg.OnRow(importer.Row{Path: "/m/c.jpg", State: importer.StateQueued})
		cfg.OnNotice("redis is back")
		if cfg.OnProgress != nil {
			cfg.OnProgress(done)
		}
		if got := out.String(); got != tc.want {
			t.Errorf("mode %d wrote\n%q\nwant\n%q", tc.mode, got, tc.want)
		}
		if len(rows) != 3 {
			t.Errorf("mode %d: the OnRow set before Attach saw %d rows, want 3", tc.mode, len(rows))
		}
	}
	// The interval suits the mode unless one is set: plain lines at most
	// every 10 s (issue 17).
	if PlainInterval < 10*time.Second {
		t.Errorf("PlainInterval = %v: plain lines more often than every 10 s", PlainInterval)
	}
	for mode, want := range map[ProgressMode]time.Duration{ProgressPlain: PlainInterval, ProgressBar: 200 * time.Millisecond} {
		var cfg importer.Config
		NewDisplay(&syncbuf.Buffer{}, mode, 0).Attach(&cfg)
		if cfg.ProgressInterval != want {
			t.Errorf("mode %d: interval %v, want %v", mode, cfg.ProgressInterval, want)
		}
		cfg = importer.Config{ProgressInterval: time.Millisecond}
		NewDisplay(&syncbuf.Buffer{}, mode, 0).Attach(&cfg)
		if cfg.ProgressInterval != time.Millisecond {
			t.Errorf("mode %d: a set interval became %v", mode, cfg.ProgressInterval)
		}
	}
}

// TestJobLines: each waiting job's state in words, with what a person
// needs for it.
func TestJobLines(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	for _, c := range []struct {
		job  importer.Job
		want string
	}{
		{importer.Job{Path: "/m/a.jpg", State: importer.StateQueued, MaxRetry: 10}, "queued /m/a.jpg"},
		{importer.Job{Path: "/m/a.jpg", State: importer.StateQueued, MaxRetry: 10, Retried: 2, LastError: "http 503"},
			"queued /m/a.jpg: attempt 3 of 11 next; attempt 2 failed: http 503"},
		{importer.Job{Path: "/m/a.jpg", State: "uploading", MaxRetry: 10, Retried: 1}, "uploading /m/a.jpg: attempt 2 of 11"},
		{importer.Job{Path: "/m/a.jpg", State: importer.StateRetrying, MaxRetry: 10, Retried: 1, LastError: "http\n503", NextAttempt: now.Add(4 * time.Second)},
			"retrying /m/a.jpg: attempt 1 of 11 failed: http 503; next attempt at 03:04:09 (in 4s)"},
		{importer.Job{Path: "/m/a.jpg", State: importer.StateThrottled, MaxRetry: 10, LastError: "throttled: 40005", NextAttempt: now.Add(-time.Second)},
			"throttled /m/a.jpg: throttled: 40005; next attempt due now (throttling spends no attempt)"},
	} {
		if got := jobLine(c.job, now); got != c.want {
			t.Errorf("jobLine(%+v)\n got %q\nwant %q", c.job, got, c.want)
		}
	}
	wait := importer.Progress{Phase: importer.PhaseWait, Files: 10, Elapsed: time.Hour, ImportElapsed: 2 * time.Second, Waiting: 3, Retrying: 1, Throttled: 1}
	if got := plainLine(wait); !strings.Contains(got, "5.0 files/s") || !strings.Contains(got, "waiting for 3 (1 retrying, 1 throttled)") {
		t.Errorf("wait line %q: want the import's rate and the states", got)
	}
}
