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
	line := terminalLine(s, 200)
	if !strings.HasPrefix(line, "["+strings.Repeat("█", 10)+strings.Repeat(" ", 10)+"]") {
		t.Errorf("terminal line %q: want a half-full bar", line)
	}
	if got := terminalLine(s, 30); utf8.RuneCountInString(got) != 30 {
		t.Errorf("terminal line not cut to width: %q", got)
	}

	unknown := importer.Progress{Phase: importer.PhaseImport, Files: 3, Bytes: 10, TotalFiles: -1, TotalBytes: -1, Elapsed: time.Second}
	if got := plainLine(unknown); !strings.Contains(got, "3/? files") || strings.Contains(got, "ETA") {
		t.Errorf("unknown totals: %q", got)
	}
	wait := importer.Progress{Phase: importer.PhaseWait, Completed: 3, Failed: 1, Waiting: 4, TotalFiles: 8, Elapsed: time.Second}
	if got := terminalLine(wait, 200); !strings.Contains(got, "4 left") {
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
		{ProgressBar, "\r" + terminalLine(running, 80) +
			"\r" + strings.Repeat(" ", utf8.RuneCountInString(terminalLine(running, 80))) + "\r" +
			"rejected /m/a.jpg (corrupt): truncated\n" +
			"failed /m/b.jpg (task upload:x): 40004\n" +
			"redis is back\n" +
			"\r" + terminalLine(done, 80) + "\n"},
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
	// The interval suits the mode unless one is set.
	for mode, want := range map[ProgressMode]time.Duration{ProgressPlain: 2 * time.Second, ProgressBar: 200 * time.Millisecond} {
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
