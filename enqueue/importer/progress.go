package importer

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Phase is the stage an import is in.
type Phase string

// Phases of an import, in order.
const (
	// PhaseImport: files are checked and queued.
	PhaseImport Phase = "import"
	// PhaseWait: waiting for the results of the queued tasks.
	PhaseWait Phase = "wait"
	// PhaseDone: the import has ended.
	PhaseDone Phase = "done"
)

// Progress is a snapshot of a running import, given to
// [Config.OnProgress].
type Progress struct {
	// Phase is the stage the import is in.
	Phase Phase
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

// counters are updated by the pipeline and read for [Config.OnProgress].
type counters struct {
	phase                                                    atomic.Value // Phase
	files, bytes                                             atomic.Int64
	totalFiles, totalBytes                                   atomic.Int64
	queued, pending, completed, failed, rejected, wouldQueue atomic.Int64
	waiting                                                  atomic.Int64
	start                                                    time.Time
	now                                                      func() time.Time
}

func newCounters(now func() time.Time) *counters {
	c := &counters{start: now(), now: now}
	c.phase.Store(PhaseImport)
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
		Phase:      c.phase.Load().(Phase),
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
