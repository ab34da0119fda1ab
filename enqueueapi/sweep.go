package enqueueapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	// again); Young those inside the grace period; Untracked those
	// without a record of their tasks (spooled by an older version, or
	// the record could not be written), which are kept.
	Checked, Removed, Kept, Young, Untracked int
	Bytes                                    int64
}

// stripes serialise, per spooled file name, a request giving a task the
// file and a sweep deciding to delete it.
type stripes [64]sync.Mutex

func (s *stripes) lock(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &s[h.Sum32()%uint32(len(s))]
	m.Lock()
	return m
}

// addRef records that task id was given the spooled file at path.
func (s *Server) addRef(path, id string) error {
	dir := filepath.Join(s.spool, refsDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("spool refs: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, filepath.Base(path)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("spool refs: %w", err)
	}
	_, err = f.WriteString(id + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool refs: %w", err)
	}
	return nil
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
// given the file is completed or gone from Redis (deleted, or its
// retention ran out), and the file was last sent more than the grace
// period ago. Files of tasks that are queued, running, waiting for a
// retry or archived stay; so do files inside the grace period, files
// without a record of their tasks, and any name the server did not write. Left-over temporary files of requests
// that died are removed after the grace period too.
//
// A request that is handing a file to a task and a sweep of this server
// never overlap on the same file; run one sweeper per spool directory. A
// Redis failure stops the sweep with an error, having removed nothing it
// could not check.
func (s *Server) SweepSpool(ctx context.Context, opt SweepOptions) (SweepResult, error) {
	var res SweepResult
	if s.spool == "" {
		return res, nil
	}
	if opt.Grace <= 0 {
		opt.Grace = DefaultSpoolGrace
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	ents, err := os.ReadDir(s.spool)
	if err != nil {
		return res, fmt.Errorf("enqueueapi: sweep: %w", err)
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
			if info, err := e.Info(); err == nil && opt.Now().Sub(info.ModTime()) > opt.Grace {
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
	mu := s.locks.lock(name)
	defer mu.Unlock()
	path := filepath.Join(s.spool, name)
	refs := filepath.Join(s.spool, refsDir, name)
	info, err := os.Lstat(path)
	if err != nil {
		return nil // gone meanwhile
	}
	last := info.ModTime()
	if ri, err := os.Stat(refs); err == nil && ri.ModTime().After(last) {
		last = ri.ModTime()
	}
	if opt.Now().Sub(last) < opt.Grace {
		res.Young++
		return nil
	}
	ids, err := readRefs(refs)
	if err != nil {
		return fmt.Errorf("enqueueapi: sweep %s: %w", name, err)
	}
	if len(ids) == 0 {
		res.Untracked++ // no record of its tasks: cannot tell, keep it
		return nil
	}
	for _, id := range ids {
		st, err := s.client.Lookup(ctx, id)
		switch {
		case errors.Is(err, tasks.ErrNotFound):
			continue
		case err != nil:
			return fmt.Errorf("enqueueapi: sweep %s: %w", name, err)
		case st.State == tasks.StateCompleted:
			continue
		case st.Payload.Path != "" && st.Payload.Path != path:
			continue // the task now names another file
		}
		res.Kept++
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("enqueueapi: sweep: %w", err)
	}
	_ = os.Remove(refs)
	res.Removed++
	res.Bytes += info.Size()
	return nil
}

// readRefs returns the distinct task IDs of a refs file; none if it does
// not exist.
func readRefs(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}
