package importer

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestProgressLines(t *testing.T) {
	t.Parallel()
	s := Progress{Phase: "import", Files: 50, Bytes: 5 << 20, TotalFiles: 100, TotalBytes: 10 << 20,
		Queued: 40, Rejected: 10, Elapsed: 10 * time.Second}
	plain := PlainLine(s)
	for _, want := range []string{"50/100 files", "5.0 MiB/10.0 MiB", "5.0 files/s", "queued 40", "rejected 10", "ETA 10s"} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain line %q lacks %q", plain, want)
		}
	}
	line := TerminalLine(s, 200)
	if !strings.HasPrefix(line, "["+strings.Repeat("█", 10)+strings.Repeat(" ", 10)+"]") {
		t.Errorf("terminal line %q: want a half-full bar", line)
	}
	if got := TerminalLine(s, 30); utf8.RuneCountInString(got) != 30 {
		t.Errorf("terminal line not cut to width: %q", got)
	}

	unknown := Progress{Phase: "import", Files: 3, Bytes: 10, TotalFiles: -1, TotalBytes: -1, Elapsed: time.Second}
	if got := PlainLine(unknown); !strings.Contains(got, "3/? files") || strings.Contains(got, "ETA") {
		t.Errorf("unknown totals: %q", got)
	}
	wait := Progress{Phase: "wait", Completed: 3, Failed: 1, Waiting: 4, TotalFiles: 8, Elapsed: time.Second}
	if got := TerminalLine(wait, 200); !strings.Contains(got, "4 left") {
		t.Errorf("wait line: %q", got)
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
