package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a snapshot of a running import.
type Progress struct {
	// Phase is "import" while files are checked and queued, "wait" while
	// waiting for results, and "done" at the end.
	Phase string
	// Files and Bytes count the files handled so far (every state).
	Files int64
	Bytes int64
	// TotalFiles and TotalBytes are the pre-count's totals; -1 until the
	// pre-count has finished (or when it is turned off).
	TotalFiles int64
	TotalBytes int64
	// Per-state counts of files handled so far.
	Queued, Pending, Completed, Failed, Rejected, WouldQueue int64
	// Waiting is the number of tasks still being waited for (Phase "wait").
	Waiting int64
	// Elapsed is the time since the import started.
	Elapsed time.Duration
}

// counters are updated by the pipeline and read by the progress printer.
type counters struct {
	phase                                                    atomic.Value // string
	files, bytes                                             atomic.Int64
	totalFiles, totalBytes                                   atomic.Int64
	queued, pending, completed, failed, rejected, wouldQueue atomic.Int64
	waiting                                                  atomic.Int64
	start                                                    time.Time
	now                                                      func() time.Time
}

func newCounters(now func() time.Time) *counters {
	c := &counters{start: now(), now: now}
	c.phase.Store("import")
	c.totalFiles.Store(-1)
	c.totalBytes.Store(-1)
	return c
}

func (c *counters) count(r *Row) {
	switch r.State {
	case StateQueued:
		c.queued.Add(1)
	case StatePending:
		c.pending.Add(1)
	case StateCompleted:
		c.completed.Add(1)
	case StateFailed:
		c.failed.Add(1)
	case StateRejected:
		c.rejected.Add(1)
	case StateWouldQueue:
		c.wouldQueue.Add(1)
	}
}

// settle moves a row waited for from its provisional state to its final one.
func (c *counters) settle(from, to State) {
	if from == to {
		return
	}
	c.count(&Row{State: to})
	switch from {
	case StateQueued:
		c.queued.Add(-1)
	case StatePending:
		c.pending.Add(-1)
	}
}

func (c *counters) snapshot() Progress {
	return Progress{
		Phase:      c.phase.Load().(string),
		Files:      c.files.Load(),
		Bytes:      c.bytes.Load(),
		TotalFiles: c.totalFiles.Load(),
		TotalBytes: c.totalBytes.Load(),
		Queued:     c.queued.Load(),
		Pending:    c.pending.Load(),
		Completed:  c.completed.Load(),
		Failed:     c.failed.Load(),
		Rejected:   c.rejected.Load(),
		WouldQueue: c.wouldQueue.Load(),
		Waiting:    c.waiting.Load(),
		Elapsed:    c.now().Sub(c.start),
	}
}

// ProgressMode selects how progress is shown.
type ProgressMode int

// Progress modes.
const (
	// ProgressNone shows no progress (problem lines are still written).
	ProgressNone ProgressMode = iota
	// ProgressPlain prints a plain line every interval, for logs and pipes.
	ProgressPlain
	// ProgressBar redraws one live line (bar, counts, rate, ETA) on a
	// terminal.
	ProgressBar
)

// printer renders progress to a writer: one line rewritten in place on a
// terminal, or a plain line per interval otherwise. It also prints
// messages (one line each) without garbling the live line.
type printer struct {
	w        io.Writer
	mode     ProgressMode
	terminal bool
	width    int
	interval time.Duration
	snap     func() Progress

	stop chan struct{}
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	last int // length of the last terminal line, to blank it out
}

func newPrinter(w io.Writer, mode ProgressMode, width int, interval time.Duration, snap func() Progress) *printer {
	terminal := mode == ProgressBar
	if interval <= 0 {
		interval = 2 * time.Second
		if terminal {
			interval = 200 * time.Millisecond
		}
	}
	if width <= 0 {
		width = 100
	}
	return &printer{w: w, mode: mode, terminal: terminal, width: width, interval: interval, snap: snap,
		stop: make(chan struct{}), done: make(chan struct{})}
}

func (p *printer) start() {
	if p.mode == ProgressNone {
		close(p.done)
		return
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(p.snap())
			}
		}
	}()
}

// finish stops the ticker and, on a terminal, leaves the final line in
// place followed by a newline.
func (p *printer) finish() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		if p.terminal {
			p.print(p.snap())
			p.mu.Lock()
			fmt.Fprintln(p.w)
			p.last = 0
			p.mu.Unlock()
		}
	})
}

// message prints one line, above the live line on a terminal.
func (p *printer) message(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.last > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.last))
		p.last = 0
	}
	fmt.Fprintln(p.w, line)
}

func (p *printer) print(s Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		line := TerminalLine(s, p.width)
		pad := ""
		if n := len([]rune(line)); n < p.last {
			pad = strings.Repeat(" ", p.last-n)
		}
		p.last = len([]rune(line))
		fmt.Fprintf(p.w, "\r%s%s", line, pad)
		return
	}
	fmt.Fprintln(p.w, PlainLine(s))
}

// rate returns files per second.
func rate(s Progress) float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Files) / s.Elapsed.Seconds()
}

// eta estimates the remaining time from the byte rate, or -1 if unknown.
func eta(s Progress) time.Duration {
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

func total(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// PlainLine is the progress line printed when stderr is not a terminal.
func PlainLine(s Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%s files, %s/%s, %.1f files/s", s.Phase, s.Files, total(s.TotalFiles),
		HumanBytes(s.Bytes), humanTotal(s.TotalBytes), rate(s))
	fmt.Fprintf(&b, ", queued %d, pending %d, completed %d, failed %d, rejected %d",
		s.Queued, s.Pending, s.Completed, s.Failed, s.Rejected)
	if s.WouldQueue > 0 {
		fmt.Fprintf(&b, ", would queue %d", s.WouldQueue)
	}
	if s.Phase == "wait" {
		fmt.Fprintf(&b, ", waiting for %d", s.Waiting)
	} else if d := eta(s); d >= 0 {
		fmt.Fprintf(&b, ", ETA %s", d)
	}
	return b.String()
}

// TerminalLine is the live progress line: a bar (when the total is known),
// counts, rate and ETA, cut to width.
func TerminalLine(s Progress, width int) string {
	var stats string
	if s.Phase == "wait" {
		finished := s.Completed + s.Failed
		stats = fmt.Sprintf(" waiting: %d left, %d completed, %d failed", s.Waiting, s.Completed, s.Failed)
		return cut(bar(finished, finished+s.Waiting, 20)+stats, width)
	}
	stats = fmt.Sprintf(" %d/%s files %s/%s %.0f files/s", s.Files, total(s.TotalFiles),
		HumanBytes(s.Bytes), humanTotal(s.TotalBytes), rate(s))
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

func humanTotal(n int64) string {
	if n < 0 {
		return "?"
	}
	return HumanBytes(n)
}

// HumanBytes formats a byte count with binary units, e.g. "1.5 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
