package importer

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storemedia/alipay-media-worker/tasks"
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
	// Per-state counts of files handled so far; Pending counts every
	// unfinished task found already queued (rows "pending", "retrying"
	// and "throttled").
	Queued, Pending, Completed, Failed, Rejected, WouldQueue int64
	// Waiting is the number of tasks still being waited for (Phase "wait").
	Waiting int64
	// Uploading, Retrying and Throttled count the tasks waited for that
	// were in those states when last looked at; the others of Waiting are
	// queued.
	Uploading, Retrying, Throttled int64
	// Jobs describes up to [ShownJobs] of the tasks waited for, as last
	// looked at: retrying and throttled ones first, then uploading, then
	// queued, by path within each.
	Jobs []Job
	// Elapsed is the time since the import started.
	Elapsed time.Duration
	// ImportElapsed is the time the files took to be checked and queued:
	// Elapsed until waiting starts, then fixed, so that a rate over it
	// does not decay while the import waits.
	ImportElapsed time.Duration
}

// ShownJobs is how many tasks waited for [Progress.Jobs] describes.
const ShownJobs = 5

// Job is a task waited for, as last looked at.
type Job struct {
	// Path is the file (the first one when files share the task).
	Path string
	// TaskID is the task's ID.
	TaskID string
	// State is queued, uploading, retrying or throttled.
	State State
	// Retried is how many attempts failed so far (throttled ones are not
	// counted); MaxRetry is how many retries the task may have.
	Retried, MaxRetry int
	// LastError is the error of the last failed attempt, "" if none.
	LastError string
	// NextAttempt is when a retrying or throttled task is tried again;
	// zero otherwise.
	NextAttempt time.Time
}

// jobOrder ranks the states of Progress.Jobs: the ones a person wants to
// know about first.
var jobOrder = map[State]int{StateRetrying: 0, StateThrottled: 0, tasks.WordUploading: 1, StateQueued: 2}

// counters are updated by the pipeline and read for [Config.OnProgress].
type counters struct {
	phase                                                    atomic.Value // Phase
	files, bytes                                             atomic.Int64
	totalFiles, totalBytes                                   atomic.Int64
	queued, pending, completed, failed, rejected, wouldQueue atomic.Int64
	waiting                                                  atomic.Int64
	start                                                    time.Time
	now                                                      func() time.Time
	importElapsed                                            atomic.Int64 // set when waiting starts

	mu    sync.Mutex
	jobs  map[string]Job    // tasks waited for, by ID, as last looked at
	paths map[string]string // the file of each task waited for
}

// expect records the file of a task to be waited for.
func (c *counters) expect(id, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paths == nil {
		c.paths = map[string]string{}
	}
	c.paths[id] = path
}

// forget drops a task no longer waited for.
func (c *counters) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.jobs, id)
	delete(c.paths, id)
}

// startWait marks the end of the import phase.
func (c *counters) startWait() {
	c.importElapsed.Store(int64(c.now().Sub(c.start)))
	c.phase.Store(PhaseWait)
}

// look records a task waited for as just looked at (not finished).
func (c *counters) look(id string, st tasks.Status) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	path, ok := c.paths[id]
	if !ok {
		return // no longer waited for
	}
	if c.jobs == nil {
		c.jobs = map[string]Job{}
	}
	j := Job{Path: path, TaskID: id, State: st.Word(), Retried: st.Retried, MaxRetry: st.MaxRetry, LastError: st.LastError}
	if j.State == StateRetrying || j.State == StateThrottled {
		j.NextAttempt = st.NextProcessAt
	}
	c.jobs[id] = j
}

// waitingJobs fills the wait fields of p.
func (c *counters) waitingJobs(p *Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := make([]Job, 0, len(c.jobs))
	for _, j := range c.jobs {
		switch j.State {
		case tasks.WordUploading:
			p.Uploading++
		case StateRetrying:
			p.Retrying++
		case StateThrottled:
			p.Throttled++
		}
		all = append(all, j)
	}
	slices.SortFunc(all, func(a, b Job) int {
		return cmp.Or(cmp.Compare(jobOrder[a.State], jobOrder[b.State]), cmp.Compare(a.Path, b.Path), cmp.Compare(a.TaskID, b.TaskID))
	})
	p.Jobs = all[:min(len(all), ShownJobs)]
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
	case StatePending, StateRetrying, StateThrottled:
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
	case StatePending, StateRetrying, StateThrottled:
		c.pending.Add(-1)
	}
}

func (c *counters) snapshot() Progress {
	p := Progress{
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
	p.ImportElapsed = p.Elapsed
	if d := c.importElapsed.Load(); d > 0 {
		p.ImportElapsed = time.Duration(d)
	}
	if p.Phase == PhaseWait {
		c.waitingJobs(&p)
	}
	return p
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
