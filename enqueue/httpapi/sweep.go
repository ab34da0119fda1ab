package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/storemedia/alipay-media-worker/tasks"
)

// refsDir is the hidden directory of the spool that records, for every
// spooled file, the IDs of the tasks that were given its path: one file
// per spooled file, of the same name, one task ID per line.
const refsDir = ".refs"

// DefaultSpoolGrace is the default [SweepOptions.Grace].
const DefaultSpoolGrace = time.Hour

// SweepOptions tune [Server.SweepSpool].
type SweepOptions struct {
	// Grace is how long a spooled file is left alone after it was last
	// sent (created, or sent again and reused). Default
	// [DefaultSpoolGrace].
	Grace time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	// Checked counts spooled files looked at; Removed those deleted
	// (Bytes their size); Kept those still needed by a task that is
	// queued, running, waiting for a retry or archived (it may be run
	// again); Unproven those kept because a task given the file is not
	// in Redis, so nothing proves it finished (Redis lost its data, or
	// the task was deleted); Young those inside the grace period;
	// Untracked those without a record of their tasks (spooled by an
	// older version, or the record could not be written), which are
	// kept.
	Checked, Removed, Kept, Unproven, Young, Untracked int
	Bytes                                              int64
}

// refLock is an open, exclusively locked (flock) refs file of one spooled
// file. It keeps a request handing the file to a task and a sweep deciding
// about it apart, in one process or in several sharing the spool.
type refLock struct{ f *os.File }

// lockRefs opens (creating it with create) and locks the refs file of the
// spooled file name. Without create, a missing refs file gives (nil, nil).
// A sweep may delete the refs file while this waits for the lock; the
// lock is then taken again on the file now at that path.
func (s *Server) lockRefs(name string, create bool) (*refLock, error) {
	path := filepath.Join(s.spool, refsDir, name)
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	for {
		f, err := os.OpenFile(path, flags, 0o640)
		if !create && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("spool refs: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool refs: lock: %w", err)
		}
		// Still the file at path, not one a sweep removed meanwhile?
		held, herr := f.Stat()
		cur, cerr := os.Stat(path)
		if herr == nil && cerr == nil && os.SameFile(held, cur) {
			return &refLock{f}, nil
		}
		f.Close()
		if herr != nil {
			return nil, fmt.Errorf("spool refs: %w", herr)
		}
		if !create && errors.Is(cerr, fs.ErrNotExist) {
			return nil, nil
		}
	}
}

// add records that task id was given the spooled file, once: a task
// given the same file again is not written twice. The refs file's
// modification time is then the file's last use.
func (l *refLock) add(id string) error {
	ids, err := l.ids()
	if err != nil {
		return err
	}
	if slices.Contains(ids, id) {
		now := time.Now()
		if err := os.Chtimes(l.f.Name(), now, now); err != nil {
			return fmt.Errorf("spool refs: %w", err)
		}
		return nil
	}
	if _, err := l.f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("spool refs: %w", err)
	}
	if _, err := l.f.WriteString(id + "\n"); err != nil {
		return fmt.Errorf("spool refs: %w", err)
	}
	return nil
}

// ids returns the distinct task IDs recorded.
func (l *refLock) ids() ([]string, error) {
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool refs: %w", err)
	}
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(l.f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}

// unlock releases the lock. A refs file that records no task (the request
// that created it was refused) is removed first, so that no record
// outlives the file it is about.
func (l *refLock) unlock() {
	if info, err := l.f.Stat(); err == nil && info.Size() == 0 {
		_ = os.Remove(l.f.Name())
	}
	l.f.Close()
}

// spoolName reports whether name is a committed spooled file:
// <64 hex digits><ext>.
func spoolName(name string) bool {
	if len(name) < 64 {
		return false
	}
	for _, c := range name[:64] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return name[64:] == safeExt(name)
}

// SweepSpool deletes the spooled files no task needs any more: every task
// given the file is completed, and the file was last sent more than the
// grace period ago. Files of tasks that are queued, running, waiting for a
// retry or archived stay; so do files whose task is not in Redis at all
// (nothing proves it finished: Redis may have lost its data, see
// [tasks.RedisWatch]; each is logged with its task, for an operator to
// queue again or remove), files inside the grace period, files without a
// record of their tasks, and any name the server did not write. Left-over temporary files of requests that died are removed
// after the grace period too, and never while a request may still be
// writing them.
//
// A request that is handing a file to a task and a sweep never overlap on
// the same file (a flock on its refs file), even across servers sharing
// the spool directory; one sweeping server per directory is enough. A
// Redis failure stops the sweep with an error, having removed nothing it
// could not check.
func (s *Server) SweepSpool(ctx context.Context, opt SweepOptions) (SweepResult, error) {
	var res SweepResult
	if s.spool == "" && s.objects == nil {
		return res, nil
	}
	if opt.Grace <= 0 {
		opt.Grace = DefaultSpoolGrace
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	// A Redis that lost its data is said loudly (by the watch) before
	// the files of its lost tasks are counted.
	if _, err := s.client.RedisWatch().Check(ctx); err != nil {
		return res, fmt.Errorf("httpapi: sweep: %w", err)
	}
	if s.objects != nil {
		return s.sweepObjects(ctx, opt)
	}
	ents, err := os.ReadDir(s.spool)
	if err != nil {
		return res, fmt.Errorf("httpapi: sweep: %w", err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if strings.HasPrefix(name, ".upload-") && strings.HasSuffix(name, ".part") {
			// A request may still be writing it until its time is up,
			// whatever the grace period.
			if info, err := e.Info(); err == nil && opt.Now().Sub(info.ModTime()) > max(opt.Grace, limits.WriteTimeout) {
				_ = os.Remove(filepath.Join(s.spool, name))
			}
			continue
		}
		if !spoolName(name) {
			continue
		}
		res.Checked++
		if err := s.sweepOne(ctx, name, opt, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *Server) sweepOne(ctx context.Context, name string, opt SweepOptions, res *SweepResult) error {
	lock, err := s.lockRefs(name, false)
	if err != nil {
		return fmt.Errorf("httpapi: sweep %s: %w", name, err)
	}
	if lock == nil {
		res.Untracked++ // no record of its tasks: cannot tell, keep it
		return nil
	}
	defer lock.unlock()
	path := filepath.Join(s.spool, name)
	info, err := os.Lstat(path)
	if err != nil {
		return nil // gone meanwhile
	}
	last := info.ModTime()
	if ri, err := lock.f.Stat(); err == nil && ri.ModTime().After(last) {
		last = ri.ModTime()
	}
	if opt.Now().Sub(last) < opt.Grace {
		res.Young++
		return nil
	}
	ids, err := lock.ids()
	if err != nil {
		return fmt.Errorf("httpapi: sweep %s: %w", name, err)
	}
	if len(ids) == 0 {
		res.Untracked++
		return nil
	}
	if keep, err := s.tasksNeed(ctx, ids, path, res); err != nil || keep {
		if err != nil {
			return fmt.Errorf("httpapi: sweep %s: %w", name, err)
		}
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("httpapi: sweep: %w", err)
	}
	_ = os.Remove(filepath.Join(s.spool, refsDir, name))
	res.Removed++
	res.Bytes += info.Size()
	return nil
}

// tasksNeed reports whether a spooled file (or object) at path must be
// kept for the tasks ids given it, counting why in res: a task queued,
// running, waiting for a retry or archived (it may be run again) still
// needs it (Kept); a task not in Redis proves nothing (Unproven: Redis may
// have lost it, and the file is then the only copy of an accepted upload).
// Completed tasks, and tasks that now name another file, do not need it.
func (s *Server) tasksNeed(ctx context.Context, ids []string, path string, res *SweepResult) (bool, error) {
	var missing []string
	for _, id := range ids {
		st, err := s.client.Lookup(ctx, id)
		switch {
		case errors.Is(err, tasks.ErrNotFound):
			missing = append(missing, id)
			continue
		case err != nil:
			return false, err
		case st.State == tasks.StateCompleted:
			continue
		case st.Payload.Path != "" && st.Payload.Path != path:
			continue // the task now names another file
		}
		res.Kept++
		return true, nil
	}
	if len(missing) > 0 {
		s.log.Warn("spooled file kept: its task is not in Redis, so nothing proves it finished (Redis lost its data, or the task was deleted); queue it again or remove it by hand",
			"file", path, "task_ids", missing)
		res.Unproven++
		return true, nil
	}
	return false, nil
}
