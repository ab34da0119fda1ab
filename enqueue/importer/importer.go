package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// Errors of [Run]. Besides these, Run returns ctx's error when it is
// interrupted, and errors matching tasks.ErrUnavailable when Redis fails.
var (
	// ErrConfig: the configuration is unusable (bad pattern, no paths...).
	ErrConfig = errors.New("importer: invalid configuration")
)

// Config configures an import. Zero values take the documented defaults.
type Config struct {
	// Client queues and looks up tasks and checks files; its media roots
	// decide which files may be imported. Required.
	Client *tasks.Client
	// Paths are the files and directories to import (directories are
	// walked recursively, symbolic links are never followed), and
	// s3://bucket/prefix/ URLs whose objects are imported (see Objects).
	// Required.
	Paths []string
	// Objects lists the objects of s3://bucket/prefix/ paths (usually an
	// *objstore.Store); the Client's media roots must hold the bucket, with
	// a store to read the objects. Required for such paths: without it
	// they are rejected as unreadable.
	Objects Lister
	// Filter selects files by include/exclude patterns and hidden names.
	Filter Filter
	// Name chooses each file's image_name. Default [NameBase].
	Name NameRule
	// ImageType, ImagePID, Merchant and AppAuthToken are given to every
	// file (see tasks.UploadRequest); an empty ImageType means "detect
	// from the content".
	ImageType    string
	ImagePID     string
	Merchant     string
	AppAuthToken string
	// DryRun checks every file and looks its task up, but queues nothing.
	DryRun bool
	// Wait blocks after queueing until every task of the import is
	// completed or archived; the manifest then holds the final results.
	Wait bool
	// RequeueFailed runs archived (failed) tasks of the import again.
	RequeueFailed bool
	// Convert asks for conversion (tasks.UploadRequest.Convert): HEIC/HEIF
	// and WebP photos, and JPEGs over the limit, up to the Client's
	// ConvertMaxBytes, are queued instead of rejected as unsupported_type
	// or too_large, for a worker with conversion on to send as a JPEG that
	// fits.
	Convert bool
	// Workers is the number of file checking and hashing goroutines.
	// Default runtime.NumCPU().
	Workers int
	// Enqueuers is the number of goroutines talking to Redis (queueing, and
	// looking tasks up while waiting). Default [DefaultEnqueuers].
	Enqueuers int
	// NoPreCount turns off the concurrent pre-count of files and bytes
	// (it only runs anyway when OnProgress is set); totals are then
	// unknown until the walk ends.
	NoPreCount bool
	// Manifest receives one JSON line per file ([Row]). Optional.
	Manifest io.Writer
	// OnRow is called with every row as it is written to the manifest,
	// from a single goroutine. Optional.
	OnRow func(Row)
	// OnProgress is called with a snapshot of the import every
	// ProgressInterval while Run runs, and once more with [PhaseDone]
	// after every other callback, before Run returns. It may be called
	// concurrently with OnRow and OnNotice. Setting it also starts the
	// pre-count (see NoPreCount). Optional.
	OnProgress func(Progress)
	// ProgressInterval is the time between two OnProgress calls. Default
	// 1s.
	ProgressInterval time.Duration
	// OnNotice is called, from the goroutine that calls OnRow, with a
	// line of news about waiting: Redis failing, still failing, back
	// again. Optional.
	OnNotice func(string)
	// PollInterval is the time between two looks at all the tasks waited
	// for. A task is also looked up as soon as the worker announces the
	// end of an attempt at it, so polling only matters when a notice is
	// lost; while notices arrive, the look at all comes every 4
	// PollIntervals. Default [DefaultPollInterval].
	PollInterval time.Duration
	// WaitOutage is how long waiting rides out Redis failing (a restart,
	// a failover, a network cut) before Run gives up with the error:
	// lookups are retried with growing pauses (up to 10s), and OnNotice
	// hears when the outage starts, every 30s while it lasts, and when it
	// ends. Default 10 minutes; negative gives up at the first
	// failure. The tasks themselves are safe in Redis either way.
	WaitOutage time.Duration
	// Logger receives debug records. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Summary is the outcome of an import.
type Summary struct {
	// Files and Bytes count the files reported (every state).
	Files, Bytes int64
	// Per-state counts, as in the manifest; Pending counts the rows
	// "pending", "retrying" and "throttled".
	Queued, Pending, Completed, Failed, Rejected, WouldQueue int64
	// Elapsed is the run time.
	Elapsed time.Duration
}

// OK reports whether nothing was rejected or failed.
func (s Summary) OK() bool { return s.Rejected == 0 && s.Failed == 0 }

func (s Summary) String() string {
	str := fmt.Sprintf("%d files (%s) in %s: %d queued, %d pending, %d completed, %d failed, %d rejected",
		s.Files, HumanBytes(s.Bytes), s.Elapsed.Round(time.Millisecond), s.Queued, s.Pending, s.Completed, s.Failed, s.Rejected)
	if s.WouldQueue > 0 {
		str += fmt.Sprintf(", %d would be queued", s.WouldQueue)
	}
	return str
}

func (c *Config) withDefaults() error {
	if c.Client == nil {
		return fmt.Errorf("%w: Client is nil", ErrConfig)
	}
	if len(c.Paths) == 0 {
		return fmt.Errorf("%w: no paths to import", ErrConfig)
	}
	if err := c.Filter.Validate(); err != nil {
		return err
	}
	c.Name = cmp.Or(c.Name, NameBase)
	if c.DryRun {
		c.Wait = false
	}
	if _, err := ParseNameRule(string(c.Name)); err != nil {
		return err
	}
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.Enqueuers <= 0 {
		c.Enqueuers = DefaultEnqueuers
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	c.WaitOutage = cmp.Or(c.WaitOutage, DefaultWaitOutage)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Defaults of [Config].
const (
	// DefaultEnqueuers is the default [Config.Enqueuers].
	DefaultEnqueuers = 8
	// DefaultPollInterval is the default [Config.PollInterval].
	DefaultPollInterval = time.Second
	// pollWhileHeard is how many PollIntervals apart the full rounds of
	// --wait are while the worker's notices arrive.
	pollWhileHeard = 4
	// DefaultWaitOutage is the default [Config.WaitOutage].
	DefaultWaitOutage = 10 * time.Minute
)

// Pauses between lookups while Redis is failing, and between two notices.
const (
	maxOutagePause    = 10 * time.Second
	outageNoticeEvery = 30 * time.Second
)

// ErrWaitAbandoned reports that waiting stopped because Redis kept failing
// for longer than [Config.WaitOutage]. It wraps the last Redis error.
var ErrWaitAbandoned = errors.New("importer: gave up waiting: Redis kept failing")

// roundOutage rounds an outage's length for a message: to 100ms under 10s,
// else to the second.
func roundOutage(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// notice tells OnNotice, if set.
func (r *run) notice(format string, args ...any) {
	if r.cfg.OnNotice != nil {
		r.cfg.OnNotice(fmt.Sprintf(format, args...))
	}
}

// run is the state of one import.
type run struct {
	cfg Config
	cnt *counters
	man *manifest

	// lookup is cfg.Client.Lookup (a test counts the calls through it);
	// recheck is cfg.Client.Recheck, for tasks the worker announced.
	lookup, recheck func(context.Context, string) (tasks.Status, error)
	// completed is cfg.Client.Completed, recompleted
	// cfg.Client.RecheckCompleted: a round's tasks read at once before any
	// lookup (nil: none).
	completed, recompleted func(context.Context, ...string) (map[string]tasks.Status, error)
	// early hears notices while the files are queued (with Wait); nil
	// otherwise.
	early *earlyWatch
}

// Run imports the files of cfg.Paths: it walks them, checks and hashes each
// file, queues the ones that pass (unless their task already exists), and
// with cfg.Wait waits for their results. Rows are written to cfg.Manifest
// as files are handled (in no particular order), and the manifest is
// flushed before Run returns, whatever happens. Every goroutine Run starts
// has ended when it returns.
//
// Run returns an error matching [ErrConfig] for a bad configuration,
// tasks.ErrUnavailable when Redis cannot be used (checked first with a
// ping), or ctx's error when interrupted; the summary describes what was
// done until then. Rejected and failed files are not errors: see
// [Summary.OK].
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.withDefaults(); err != nil {
		return Summary{}, err
	}
	r := &run{cfg: cfg, cnt: newCounters(cfg.Now), man: newManifest(cfg.Manifest), lookup: cfg.Client.Lookup, recheck: cfg.Client.Recheck,
		completed: cfg.Client.Completed, recompleted: cfg.Client.RecheckCompleted}
	if err := cfg.Client.Ping(ctx); err != nil {
		return Summary{}, err
	}
	r.checkWorkers(ctx)
	var err error
	if cfg.OnProgress == nil {
		err = r.run(ctx)
	} else {
		err = r.reportProgress(func() error { return r.run(ctx) })
	}
	r.cnt.phase.Store(PhaseDone)
	if cfg.OnProgress != nil {
		cfg.OnProgress(r.cnt.snapshot())
	}
	if ferr := r.man.flush(); err == nil {
		err = ferr
	}
	s := r.cnt.snapshot()
	sum := Summary{Files: s.Files, Bytes: s.Bytes, Queued: s.Queued, Pending: s.Pending,
		Completed: s.Completed, Failed: s.Failed, Rejected: s.Rejected, WouldQueue: s.WouldQueue,
		Elapsed: s.Elapsed}
	return sum, err
}

// checkWorkers tells OnNotice when no live worker serves the client's
// queue, or when no live worker serving it reads a path being imported
// (workers announce their queues and media roots in Redis, see
// [tasks.AnnounceWorker]): such files would wait in the queue, or be
// archived as outside_roots when a worker takes them. It only warns; the
// import goes on either way (a worker may be about to start).
func (r *run) checkWorkers(ctx context.Context) {
	workers, err := r.cfg.Client.Workers(ctx)
	if err != nil {
		r.notice("cannot tell which workers are running: %v", err)
		return
	}
	queue := r.cfg.Client.Queue()
	var serving []tasks.WorkerInfo
	for _, w := range workers {
		if w.Serves(queue) {
			serving = append(serving, w)
		}
	}
	if len(serving) == 0 {
		r.notice("no running worker serves queue %q: what is queued now waits until one starts", queue)
		return
	}
	for _, p := range r.cfg.Paths {
		abs, err := filepath.Abs(p)
		if mediaroot.IsObjectURL(p) {
			abs, err = p, nil
		}
		if err != nil {
			continue
		}
		if !slices.ContainsFunc(serving, func(w tasks.WorkerInfo) bool { return w.Reads(abs) }) {
			var roots []string
			for _, w := range serving {
				roots = append(roots, w.MediaRoots...)
			}
			slices.Sort(roots)
			r.notice("no running worker of queue %q reads %s (their media roots: %s): its jobs would be archived as %s; "+
				"add it to a worker's MEDIA_ROOTS or import from inside one", queue, abs, strings.Join(slices.Compact(roots), ", "), mediaroot.ReasonOutsideRoots)
		}
	}
}

// reportProgress calls OnProgress every ProgressInterval while f runs.
func (r *run) reportProgress(f func() error) error {
	done := make(chan struct{})
	var g errgroup.Group
	g.Go(func() error {
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return nil
			case <-t.C:
				r.cfg.OnProgress(r.cnt.snapshot())
			}
		}
	})
	err := f()
	close(done)
	_ = g.Wait()
	return err
}

// prepared travels from the hashing workers to the enqueuers.
type prepared struct {
	p   *tasks.Prepared
	row Row
}

// run streams the files through the pipeline, then waits for their tasks
// when asked to. The pipeline is an errgroup: the walker feeds jobs to the
// hashing workers, whose checked files go to the enqueuers, whose rows come
// back here; the first fatal error (Redis failing) cancels the rest.
func (r *run) run(parent context.Context) error {
	if r.cfg.Wait && !r.cfg.DryRun {
		r.early = &earlyWatch{w: r.cfg.Client.Watch(), added: map[string]int{}, confirmed: -1, heard: map[string]struct{}{}}
		defer r.early.w.Close()
	}
	g, ctx := errgroup.WithContext(parent)

	// The pre-count only feeds the progress display; it stops with the
	// pipeline.
	countCtx, stopCount := context.WithCancel(ctx)
	defer stopCount()
	if !r.cfg.NoPreCount && r.cfg.OnProgress != nil {
		g.Go(func() error {
			r.preCount(countCtx)
			return nil
		})
	}

	jobs := make(chan entry, 4*r.cfg.Workers)
	toEnqueue := make(chan prepared, 4*r.cfg.Enqueuers)
	rows := make(chan Row, 64)

	g.Go(func() error {
		defer close(jobs)
		err := walk(ctx, r.cfg.Paths, r.cfg.Filter, false, r.cfg.Objects, func(e entry) error {
			select {
			case jobs <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if ctx.Err() != nil {
			return nil // the cause is reported by whoever canceled
		}
		return err
	})
	stage(g, r.cfg.Workers, func() { close(toEnqueue) }, func() error { return r.prepareLoop(ctx, jobs, toEnqueue, rows) })
	stage(g, r.cfg.Enqueuers, func() { close(rows) }, func() error { return r.enqueueLoop(ctx, toEnqueue, rows) })

	// Rows of tasks still running, by task ID, when waiting.
	waiting := map[string][]Row{}
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	var heard <-chan struct{} // the early watch's signal, nil without one
	if r.early != nil {
		heard = r.early.w.Changed()
	}
	for open := true; open; {
		select {
		case <-heard:
			r.early.take()
		case row, ok := <-rows:
			if !ok {
				open = false
				break
			}
			r.cnt.files.Add(1)
			r.cnt.bytes.Add(row.Size)
			r.cnt.count(&row)
			if r.cfg.Wait && !row.State.Final() {
				if len(waiting[row.TaskID]) == 0 {
					r.cnt.waiting.Add(1)
					r.cnt.expect(row.TaskID, row.Path)
				}
				waiting[row.TaskID] = append(waiting[row.TaskID], row)
				continue
			}
			r.emit(row)
		case <-flush.C:
			_ = r.man.flush()
		}
	}
	// The rows are drained: the hashers and enqueuers have returned, and
	// the walker returns once they stopped taking jobs.
	stopCount()
	err := g.Wait()
	if perr := parent.Err(); perr != nil {
		err = perr
	}
	if err == nil && len(waiting) > 0 {
		r.cnt.startWait()
		err = r.wait(parent, waiting)
	}
	// Whatever is still waited for is reported as it stands.
	for _, rs := range waiting {
		for _, row := range rs {
			r.emit(row)
		}
	}
	return err
}

// stage runs n copies of f in g; the last one to return calls done (which
// closes the stage's output).
func stage(g *errgroup.Group, n int, done func(), f func() error) {
	var left atomic.Int64
	left.Store(int64(n))
	for range n {
		g.Go(func() error {
			defer func() {
				if left.Add(-1) == 0 {
					done()
				}
			}()
			return f()
		})
	}
}

func (r *run) emit(row Row) {
	r.man.write(&row)
	if r.cfg.OnRow != nil {
		r.cfg.OnRow(row)
	}
}

// preCount walks the paths a second time, cheaply (no opening, no
// hashing), to give the progress display its totals.
func (r *run) preCount(ctx context.Context) {
	var files, bytes int64
	err := walk(ctx, r.cfg.Paths, r.cfg.Filter, true, r.cfg.Objects, func(e entry) error {
		if e.Err == nil {
			files++
			bytes += e.Size
		}
		return nil
	})
	if err == nil {
		r.cnt.totalBytes.Store(bytes)
		r.cnt.totalFiles.Store(files)
	}
}

// prepareLoop checks and hashes the files of jobs; rejected ones go to rows
// at once, the others to out. It returns at the first fatal error, or when
// ctx is done.
func (r *run) prepareLoop(ctx context.Context, jobs <-chan entry, out chan<- prepared, rows chan<- Row) error {
	send := func(ch chan<- Row, row Row) {
		select {
		case ch <- row:
		case <-ctx.Done():
		}
	}
	for e := range jobs {
		if ctx.Err() != nil {
			return nil
		}
		row := Row{Path: e.Path, Size: e.Size}
		if e.Err != nil {
			row.State = StateRejected
			row.Reason = string(tasks.ReasonUnreadable)
			if errors.Is(e.Err, fs.ErrNotExist) {
				row.Reason = string(mediaroot.ReasonNotFound)
			}
			row.Error = e.Err.Error()
			send(rows, row)
			continue
		}
		row.ImageName = r.cfg.Name.Name(e.Rel)
		p, err := r.cfg.Client.Prepare(ctx, tasks.UploadRequest{
			Path:         e.Path,
			ImageName:    row.ImageName,
			ImageType:    r.cfg.ImageType,
			ImagePID:     r.cfg.ImagePID,
			Merchant:     r.cfg.Merchant,
			AppAuthToken: r.cfg.AppAuthToken,
			Convert:      r.cfg.Convert,
		})
		if err != nil {
			var rej *tasks.RejectError
			if !errors.As(err, &rej) {
				return err
			}
			row.State = StateRejected
			row.Reason = string(rej.Reason)
			row.Error = tasks.Explain(rej.Err)
			if rej.Size > 0 {
				row.Size = rej.Size
			}
			send(rows, row)
			continue
		}
		row.Size = p.Payload.Size
		row.SHA256 = p.Payload.SHA256
		row.ImageType = p.Payload.ImageType
		row.TaskID = p.TaskID
		select {
		case out <- prepared{p: p, row: row}:
		case <-ctx.Done():
		}
	}
	return nil
}

// enqueueLoop queues the checked files of in and sends their rows. It
// returns at the first fatal error, or when ctx is done.
func (r *run) enqueueLoop(ctx context.Context, in <-chan prepared, rows chan<- Row) error {
	for item := range in {
		if ctx.Err() != nil {
			return nil
		}
		row, err := r.enqueue(ctx, item)
		if err != nil {
			return err
		}
		select {
		case rows <- row:
		case <-ctx.Done():
			// The task is queued; report it even when interrupted (the
			// rows are read until they are closed).
			rows <- row
		}
	}
	return nil
}

func (r *run) enqueue(ctx context.Context, item prepared) (Row, error) {
	row := item.row
	c := r.cfg.Client
	if r.cfg.DryRun {
		st, err := c.Lookup(ctx, item.p.TaskID)
		if errors.Is(err, tasks.ErrNotFound) {
			row.State = StateWouldQueue
			return row, nil
		}
		if err != nil {
			return row, err
		}
		reuse(&row, item.p.Payload, st)
		if row.State == StateFailed && r.cfg.RequeueFailed {
			row.State = StateWouldQueue
			row.Requeued = true
			if gainsConvert(item.p.Payload, st.Payload) {
				row.Note = noteWouldReplace
			}
		}
		return row, nil
	}
	if r.early != nil {
		r.early.add(item.p.TaskID)
	}
	enq, err := c.EnqueuePrepared(ctx, item.p)
	if err != nil {
		return row, err
	}
	row.TaskID = enq.ID
	if !enq.Duplicate {
		row.State = StateQueued
		return row, nil
	}
	reuse(&row, item.p.Payload, *enq.Existing)
	if row.State == StateFailed && gainsConvert(item.p.Payload, enq.Existing.Payload) {
		if !r.cfg.RequeueFailed {
			row.Note = noteNotConverting
			return row, nil
		}
		return r.replace(ctx, item, row)
	}
	if row.State == StateFailed && r.cfg.RequeueFailed {
		st, err := c.Requeue(ctx, enq.ID)
		switch {
		case err == nil:
			row.Requeued = true
			applyStatus(&row, st)
			if !row.State.Final() {
				row.State = StateQueued
			}
		case errors.Is(err, tasks.ErrUnavailable):
			return row, err
		default:
			// Someone else re-ran it first; report it as it stands.
			if st, lerr := c.Lookup(ctx, enq.ID); lerr == nil {
				applyStatus(&row, st)
			}
		}
	}
	return row, nil
}

// Notes of a failed task that did not ask for conversion, met by an
// import asking for it.
const (
	noteNotConverting = "its task failed without asking for conversion, and asynq re-runs a task unchanged: " +
		"run the import again with --requeue-failed --convert to replace it with a job that asks for conversion"
	noteReplaced     = "its failed task did not ask for conversion: it was deleted and the file queued again with conversion, under the same task ID"
	noteWouldReplace = "its failed task did not ask for conversion: it would be deleted and the file queued again with conversion, under the same task ID"
)

// gainsConvert reports whether a job asking for conversion meets a task
// of the same content that did not ask for it: re-running that task would
// fail the same way.
func gainsConvert(asked, existing tasks.UploadPayload) bool {
	return asked.Convert && !existing.Convert
}

// replace queues item again, with conversion, in place of its archived
// task (--requeue-failed --convert): asynq re-runs an archived task with
// the payload it stored, which did not ask for conversion.
func (r *run) replace(ctx context.Context, item prepared, row Row) (Row, error) {
	c := r.cfg.Client
	enq, err := c.Replace(ctx, item.p)
	switch {
	case err == nil:
		row = item.row
		row.TaskID = enq.ID
		row.Requeued = true
		row.Note = noteReplaced
		row.State = StateQueued
		if enq.Duplicate {
			// Queued again by someone else between the deletion and ours.
			reuse(&row, item.p.Payload, *enq.Existing)
		}
		return row, nil
	case errors.Is(err, tasks.ErrNotArchived):
		// Someone else re-ran it first; report it as it stands.
		if st, lerr := c.Lookup(ctx, row.TaskID); lerr == nil {
			applyStatus(&row, st)
		}
		return row, nil
	default:
		return row, err
	}
}

// reuse marks row, whose file would have queued asked, as a duplicate of
// the existing task st: the row takes the task's state and result, and the
// image_name the task carries; Note says which job is reused when it was
// queued for another file or under another name ([tasks.ReuseNote]).
func reuse(row *Row, asked tasks.UploadPayload, st tasks.Status) {
	row.Duplicate = true
	applyStatus(row, st)
	row.ImageName = cmp.Or(st.Payload.ImageName, row.ImageName)
	row.Note = tasks.ReuseNote(asked, st.Payload)
}

// applyStatus sets a row's state and result from a task's status.
func applyStatus(row *Row, st tasks.Status) {
	switch st.State {
	case tasks.StateCompleted:
		row.State = StateCompleted
		row.Error = ""
		if st.Result != nil {
			row.ImageID = st.Result.ImageID
			row.ImageURL = st.Result.ImageURL
			row.Converted = st.Result.Converted
		}
	case tasks.StateArchived:
		row.State = StateFailed
		row.Error = st.LastError
	default:
		row.State = StatePending
		if w := st.Word(); w == StateRetrying || w == StateThrottled {
			row.State = w
		}
		row.Error = st.LastError
	}
}

// earlyWatch hears the workers' notices while the files are queued, so
// that the wait need not look every task up first: each task is watched
// before it is queued, so once the subscription is made none of its
// notices can be missed.
type earlyWatch struct {
	w *tasks.Watch

	mu    sync.Mutex
	added map[string]int // watched task IDs, in the order watched
	// confirmed is how many tasks were watched before the subscription
	// was made (-1: not made yet); missed says it was made again since
	// (notices may have been lost meanwhile).
	confirmed int
	missed    bool
	heard     map[string]struct{} // announced since the start
}

// add watches id, before its task is queued.
func (e *earlyWatch) add(id string) {
	e.mu.Lock()
	if _, ok := e.added[id]; !ok {
		e.added[id] = len(e.added)
	}
	e.mu.Unlock()
	e.w.Add(id)
}

// take reads what the watch has heard.
func (e *earlyWatch) take() {
	ended, all := e.w.Take()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ended {
		e.heard[id] = struct{}{}
	}
	switch {
	case !all:
	case e.confirmed < 0:
		e.confirmed = len(e.added)
	default:
		e.missed = true
	}
}

// first returns, for the tasks of waiting, those the wait must look up
// first (look: watched before the subscription was made; heard: announced
// already), and whether that is enough (ok false: look them all up); made
// says the subscription was made.
func (e *earlyWatch) first(waiting map[string][]Row) (look, heard []string, ok, made bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	made = e.confirmed >= 0
	if !made || e.missed {
		return nil, nil, false, made
	}
	for id := range waiting {
		i, watched := e.added[id]
		_, announced := e.heard[id]
		switch {
		case !watched:
			return nil, nil, false, made
		case announced:
			heard = append(heard, id)
		case i < e.confirmed:
			look = append(look, id)
		}
	}
	return look, heard, true, made
}

// answer is one finished task's status as looked up while waiting.
type answer struct {
	id string
	st tasks.Status
}

// lookupRound looks every task in waiting up once, Enqueuers at a time,
// and returns those that have finished (a task gone from Redis counts as
// archived). At the first failure (Redis down) it stops and returns that
// error with what finished until then, so that an outage is noticed after
// one failed lookup rather than after a failed lookup per task; lookups
// cut short by the stop are not failures of their own.
func (r *run) lookupRound(ctx context.Context, waiting map[string][]Row) ([]answer, error) {
	ids := make([]string, 0, len(waiting))
	for id := range waiting {
		ids = append(ids, id)
	}
	return r.lookupIDs(ctx, ids, r.completed, r.lookup)
}

// lookupIDs looks ids up with lookup as lookupRound does, after batch
// (when not nil) has read them all in one round trip: the tasks it finds
// completed need no lookup (most of them, once the worker has announced
// their end).
func (r *run) lookupIDs(ctx context.Context, ids []string, batch func(context.Context, ...string) (map[string]tasks.Status, error),
	lookup func(context.Context, string) (tasks.Status, error)) ([]answer, error) {
	var finished []answer
	if batch != nil && len(ids) > 0 {
		done, err := batch(ctx, ids...)
		if err != nil {
			return nil, err
		}
		for id, st := range done {
			finished = append(finished, answer{id, st})
		}
		if len(done) > 0 {
			ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { _, ok := done[id]; return ok })
		}
	}
	g, round := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Enqueuers)
	var mu sync.Mutex
	for _, id := range ids {
		if round.Err() != nil {
			break
		}
		g.Go(func() error {
			st, err := lookup(round, id)
			switch {
			case errors.Is(err, tasks.ErrNotFound):
				st = tasks.Status{State: tasks.StateArchived, LastError: "task no longer in Redis (deleted, or its retention ran out)"}
			case err != nil:
				return err
			case !st.State.Final():
				r.cnt.look(id, st)
				return nil
			}
			mu.Lock()
			finished = append(finished, answer{id, st})
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	return finished, err
}

// wait waits for the tasks in waiting until each is completed or
// archived, emitting their rows as they finish; rows left in waiting on
// return are still unfinished (interrupted, or Redis failing for longer
// than WaitOutage). It looks a task up as soon as the worker announces the
// end of an attempt at it (see tasks.Client.Watch), and looks every task
// up every PollInterval in case a notice was lost (every 4 while notices
// arrive). While Redis fails it
// keeps trying, with growing pauses.
func (r *run) wait(ctx context.Context, waiting map[string][]Row) error {
	var (
		outage, noticed time.Time // start of the current Redis outage; last notice
		outagePause     time.Duration
		heard, round    time.Time // when the worker last announced a waited task's end; the last full round
	)
	ids := make([]string, 0, len(waiting))
	for id := range waiting {
		ids = append(ids, id)
	}
	// announced tasks to look up, or nil: look up all. The first full
	// round waits for the subscription to be made (it marks every task
	// worth a look, notices having been missed until then), or for the
	// first poll: a round at once would be repeated a moment later.
	ended := []string{}
	var (
		watch       *tasks.Watch
		look, early []string // the first look, when the early watch covers the rest
		first       bool
	)
	if r.early != nil {
		watch = r.early.w
		r.early.take()
		var made bool
		look, early, first, made = r.early.first(waiting)
		if made && !first {
			ended = nil // made again while queueing: look at all at once
		}
	} else {
		watch = r.cfg.Client.Watch()
		defer watch.Close()
	}
	watch.Add(ids...)
	poll := time.NewTimer(r.cfg.PollInterval)
	defer poll.Stop()
	for len(waiting) > 0 {
		var (
			finished []answer
			firstErr error
		)
		switch {
		case first:
			// The subscription was made while the files were queued:
			// only the tasks queued before it, and those announced
			// meanwhile, need a look; the others' notices will come.
			first, round = false, r.cfg.Now()
			finished, firstErr = r.lookupIDs(ctx, look, r.completed, r.lookup)
			if firstErr == nil {
				var more []answer
				more, firstErr = r.lookupIDs(ctx, early, r.completed, r.recheck)
				finished = append(finished, more...)
			}
		case ended == nil:
			round = r.cfg.Now()
			finished, firstErr = r.lookupRound(ctx, waiting)
		default:
			finished, firstErr = r.lookupIDs(ctx, ended, r.recompleted, r.recheck)
		}
		for _, a := range finished {
			for _, row := range waiting[a.id] {
				from := row.State
				applyStatus(&row, a.st)
				r.cnt.settle(from, row.State)
				r.emit(row)
			}
			delete(waiting, a.id)
			r.cnt.forget(a.id)
			watch.Remove(a.id)
			r.cnt.waiting.Add(-1)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pause := r.cfg.PollInterval
		switch {
		case firstErr != nil:
			now := r.cfg.Now()
			if outage.IsZero() {
				outage, outagePause, noticed = now, r.cfg.PollInterval, now
				r.cfg.Logger.Debug("redis failing while waiting", "err", firstErr)
				if r.cfg.WaitOutage < 0 {
					return firstErr
				}
				r.notice("redis unavailable while waiting for %d task(s): %v; retrying for up to %v (the queued tasks are safe; Ctrl-C and re-run the same command with --wait to resume later)",
					len(waiting), firstErr, r.cfg.WaitOutage)
			} else if now.Sub(noticed) >= outageNoticeEvery {
				noticed = now
				r.notice("redis still unavailable after %v: %v", roundOutage(now.Sub(outage)), firstErr)
			}
			if now.Sub(outage) >= r.cfg.WaitOutage {
				return fmt.Errorf("%w for %v while %d task(s) were still running (re-run the same command with --wait once Redis is back: it resumes from the stored results): %w",
					ErrWaitAbandoned, roundOutage(now.Sub(outage)), len(waiting), firstErr)
			}
			// Grow the pause, but look again when the allowance ends.
			outagePause = min(2*outagePause, maxOutagePause)
			pause = min(outagePause, max(r.cfg.WaitOutage-now.Sub(outage), r.cfg.PollInterval))
		case !outage.IsZero():
			r.notice("redis is back after %v; waiting for %d task(s)", roundOutage(r.cfg.Now().Sub(outage)), len(waiting))
			outage = time.Time{}
		}
		if len(waiting) == 0 {
			return nil
		}
		// The poll keeps its own pace, whatever the notices: a full
		// round after every pause, and after every failed look-up.
		if ended == nil || firstErr != nil {
			poll.Reset(pause)
		}
	pick:
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
			// While notices arrive, the full round only catches a lost
			// one, and costs two Redis calls per waiting task (a batch
			// of 600 looked each task up about twice that way): it
			// comes every pollWhileHeard PollIntervals instead.
			now := r.cfg.Now()
			if next := round.Add(pollWhileHeard * r.cfg.PollInterval); firstErr == nil && now.Sub(heard) < r.cfg.PollInterval && now.Before(next) {
				poll.Reset(next.Sub(now))
				goto pick
			}
			ended = nil
		case <-watch.Changed():
			var all bool
			ended, all = watch.Take()
			ended = slices.DeleteFunc(ended, func(id string) bool { _, ok := waiting[id]; return !ok })
			if len(ended) > 0 {
				heard = r.cfg.Now()
			}
			if all {
				ended = nil
			} else if ended == nil {
				ended = []string{}
			}
		}
	}
	return nil
}
