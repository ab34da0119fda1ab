package cli

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// ProgressMode selects how an import shows its progress.
type ProgressMode int

// Progress modes.
const (
	// ProgressNone shows no progress (problem lines are still written).
	ProgressNone ProgressMode = iota
	// ProgressPlain prints plain lines at most every [PlainInterval], for
	// logs and pipes: the counts, and while waiting a line for each of the
	// first jobs still running.
	ProgressPlain
	// ProgressBar redraws one live line (bar, counts, rate, ETA) on a
	// terminal, 5 times a second.
	ProgressBar
)

// PlainInterval is the time between two reports in [ProgressPlain] mode.
const PlainInterval = 10 * time.Second

// Display shows an import on a writer: a line for every rejected or failed
// file and for every notice about waiting (Redis failing, back again), and
// its progress in the chosen mode. On a terminal the live line is rewritten
// in place, and the other lines are printed above it without garbling it.
type Display struct {
	w     io.Writer
	mode  ProgressMode
	width int
	// plainEvery is the time between two plain reports (PlainInterval
	// unless a test shortens it).
	plainEvery time.Duration
	now        func() time.Time

	mu   sync.Mutex
	last int // length of the last live line, to blank it out
}

// NewDisplay returns a Display writing to w; width is the terminal's width
// for the live line (default 100).
func NewDisplay(w io.Writer, mode ProgressMode, width int) *Display {
	if width <= 0 {
		width = 100
	}
	return &Display{w: w, mode: mode, width: width, plainEvery: PlainInterval, now: time.Now}
}

// Attach makes the import cfg configures report to d: it sets OnRow
// (calling an OnRow already set after d's), OnNotice and, unless the mode
// is ProgressNone, OnProgress and a ProgressInterval for the mode when none
// is set.
func (d *Display) Attach(cfg *importer.Config) {
	next := cfg.OnRow
	cfg.OnRow = func(r importer.Row) {
		d.row(r)
		if next != nil {
			next(r)
		}
	}
	cfg.OnNotice = d.message
	interval := d.plainEvery
	switch d.mode {
	case ProgressNone:
		return
	case ProgressBar:
		interval = 200 * time.Millisecond
	}
	cfg.OnProgress = d.progress
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = interval
	}
}

// row prints a line for a rejected or failed file, and for a file whose
// content was already queued for another file or under another name, or
// whose task was queued again in another form (with conversion).
func (d *Display) row(r importer.Row) {
	switch r.State {
	case importer.StateRejected:
		d.message(fmt.Sprintf("rejected %s (%s): %s", r.Path, r.Reason, r.Error))
	case importer.StateFailed:
		line := fmt.Sprintf("failed %s (task %s): %s", r.Path, r.TaskID, r.Error)
		if r.Note != "" {
			line += " (" + r.Note + ")"
		}
		d.message(line)
	default:
		switch {
		case r.Note != "" && r.Requeued:
			d.message(fmt.Sprintf("requeued %s: %s", r.Path, r.Note))
		case r.Note != "":
			d.message(fmt.Sprintf("reused %s: %s", r.Path, r.Note))
		}
	}
}

// message prints one line, above the live line on a terminal.
func (d *Display) message(line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode == ProgressBar && d.last > 0 {
		fmt.Fprintf(d.w, "\r%s\r", strings.Repeat(" ", d.last))
		d.last = 0
	}
	fmt.Fprintln(d.w, line)
}

// progress prints a plain line, or redraws the live line; the last one
// (PhaseDone) stays on a terminal, followed by a newline.
func (d *Display) progress(s importer.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode != ProgressBar {
		if s.Phase != importer.PhaseDone {
			fmt.Fprintln(d.w, plainLine(s))
			now := d.now()
			for _, j := range s.Jobs {
				fmt.Fprintln(d.w, "  "+jobLine(j, now))
			}
			if more := s.Waiting - int64(len(s.Jobs)); s.Phase == importer.PhaseWait && len(s.Jobs) > 0 && more > 0 {
				fmt.Fprintf(d.w, "  and %d more\n", more)
			}
		}
		return
	}
	line := terminalLine(s, d.width, d.now())
	pad := ""
	if n := len([]rune(line)); n < d.last {
		pad = strings.Repeat(" ", d.last-n)
	}
	d.last = len([]rune(line))
	fmt.Fprintf(d.w, "\r%s%s", line, pad)
	if s.Phase == importer.PhaseDone {
		fmt.Fprintln(d.w)
		d.last = 0
	}
}

// rate returns files per second over the import phase: it stays put
// while the import waits for results instead of decaying to 0.
func rate(s importer.Progress) float64 {
	d := cmp.Or(s.ImportElapsed, s.Elapsed)
	if d <= 0 {
		return 0
	}
	return float64(s.Files) / d.Seconds()
}

// eta estimates the remaining time from the byte rate, or -1 if unknown.
func eta(s importer.Progress) time.Duration {
	if s.TotalBytes < 0 || s.Bytes <= 0 || s.Elapsed <= 0 {
		return -1
	}
	left := s.TotalBytes - s.Bytes
	if left <= 0 {
		return 0
	}
	perByte := float64(s.Elapsed) / float64(s.Bytes)
	return time.Duration(perByte * float64(left)).Round(time.Second)
}

// total is a pre-count total, "?" while unknown.
func total(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// totalBytes is a pre-count byte total, "?" while unknown.
func totalBytes(n int64) string {
	if n < 0 {
		return "?"
	}
	return importer.HumanBytes(n)
}

// plainLine is the progress line printed when stderr is not a terminal.
func plainLine(s importer.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%s files, %s/%s, %.1f files/s", s.Phase, s.Files, total(s.TotalFiles),
		importer.HumanBytes(s.Bytes), totalBytes(s.TotalBytes), rate(s))
	fmt.Fprintf(&b, ", queued %d, pending %d, completed %d, failed %d, rejected %d",
		s.Queued, s.Pending, s.Completed, s.Failed, s.Rejected)
	if s.WouldQueue > 0 {
		fmt.Fprintf(&b, ", would queue %d", s.WouldQueue)
	}
	if s.Phase == importer.PhaseWait {
		fmt.Fprintf(&b, ", waiting for %d%s", s.Waiting, waitingStates(s))
	} else if d := eta(s); d >= 0 {
		fmt.Fprintf(&b, ", ETA %s", d)
	}
	return b.String()
}

// terminalLine is the live progress line: a bar (when the total is known),
// counts, rate and ETA, cut to width.
func terminalLine(s importer.Progress, width int, now time.Time) string {
	var stats string
	if s.Phase == importer.PhaseWait {
		finished := s.Completed + s.Failed
		stats = fmt.Sprintf(" waiting: %d left%s, %d completed, %d failed", s.Waiting, waitingStates(s), s.Completed, s.Failed)
		if len(s.Jobs) > 0 {
			stats += " · " + jobLine(s.Jobs[0], now)
		}
		return cut(bar(finished, finished+s.Waiting, 20)+stats, width)
	}
	stats = fmt.Sprintf(" %d/%s files %s/%s %.0f files/s", s.Files, total(s.TotalFiles),
		importer.HumanBytes(s.Bytes), totalBytes(s.TotalBytes), rate(s))
	if d := eta(s); d >= 0 {
		stats += fmt.Sprintf(" ETA %s", d)
	}
	if s.Rejected > 0 {
		stats += fmt.Sprintf(" (%d rejected)", s.Rejected)
	}
	return cut(bar(s.Files, s.TotalFiles, 20)+stats, width)
}

func bar(done, total int64, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("·", width) + "]"
	}
	n := int(done * int64(width) / total)
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("█", n) + strings.Repeat(" ", width-n) + "]"
}

func cut(s string, width int) string {
	r := []rune(s)
	if len(r) > width {
		return string(r[:width])
	}
	return s
}

// waitingStates says how many of the tasks waited for are uploading,
// retrying or throttled: " (1 uploading, 2 retrying)", or "".
func waitingStates(s importer.Progress) string {
	var parts []string
	for _, n := range []struct {
		n    int64
		word importer.State
	}{{s.Uploading, tasks.WordUploading}, {s.Retrying, importer.StateRetrying}, {s.Throttled, importer.StateThrottled}} {
		if n.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n.n, n.word))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// maxErrorText is how much of a job's last error a progress line shows.
const maxErrorText = 160

// jobLine says what a task waited for is doing: its state and file, and
// for a retried one the attempt, the last error and when the next attempt
// is due.
func jobLine(j importer.Job, now time.Time) string {
	attempts := j.MaxRetry + 1
	last := shorten(j.LastError, maxErrorText)
	switch j.State {
	case importer.StateRetrying:
		return fmt.Sprintf("retrying %s: attempt %d of %d failed: %s; next attempt %s", j.Path, max(j.Retried, 1), attempts, last, due(j.NextAttempt, now))
	case importer.StateThrottled:
		return fmt.Sprintf("throttled %s: %s; next attempt %s (throttling spends no attempt)", j.Path, last, due(j.NextAttempt, now))
	case tasks.WordUploading:
		return fmt.Sprintf("uploading %s: attempt %d of %d", j.Path, j.Retried+1, attempts)
	}
	if j.Retried > 0 {
		return fmt.Sprintf("queued %s: attempt %d of %d next; attempt %d failed: %s", j.Path, j.Retried+1, attempts, j.Retried, last)
	}
	return "queued " + j.Path
}

// due says when a next attempt is due: "at 16:40:05 (in 4s)", or "due now".
func due(at, now time.Time) string {
	if at.IsZero() {
		return "soon"
	}
	left := at.Sub(now).Round(time.Second)
	if left <= 0 {
		return "due now"
	}
	return fmt.Sprintf("at %s (in %s)", at.Local().Format(time.TimeOnly), left)
}

// shorten puts s on one line and cuts it to n runes.
func shorten(s string, n int) string {
	return cut(strings.Join(strings.Fields(s), " "), n)
}
