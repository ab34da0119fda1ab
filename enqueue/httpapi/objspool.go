package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// ObjectSpool keeps the files sent to the API in a bucket, so that API
// hosts and worker hosts share no disk; *objstore.Store implements it.
type ObjectSpool interface {
	Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error
	Delete(ctx context.Context, bucket, key string) error
	List(ctx context.Context, bucket, prefix string, fn func(mediaroot.ObjectInfo) error) error
}

// A bucket has no file locks: the bookkeeping of a bucket spool is in
// Redis. Per spooled object s3://bucket/key, a hash
// <tasks.KeyPrefix>spool:<url> holds "used" (the last time it was sent,
// Unix milliseconds) and one "t:<task ID>" field per task given it; a
// lock <tasks.KeyPrefix>spool-lock:<url> (SET NX with an expiry, released
// only by its holder) keeps a request handing the object to a task and a
// sweep deciding about it apart, across every server of the fleet.
const (
	spoolRefsKey = tasks.KeyPrefix + "spool:"
	spoolLockKey = tasks.KeyPrefix + "spool-lock:"
	// spoolLockTTL bounds how long a dead holder keeps the lock; a
	// request holds it while it stores, checks and queues one file.
	spoolLockTTL = 2 * time.Minute
)

// unlockScript deletes the lock only when it still holds the holder's
// token.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// errLockBusy: the lock is held by someone else.
var errLockBusy = errors.New("spool object is locked by another request or sweep")

// lockObject takes the lock of the spooled object u, waiting for it up to
// wait (0: not at all). The returned func releases it.
func (s *Server) lockObject(ctx context.Context, u string, wait time.Duration) (func(), error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	deadline := time.Now().Add(wait)
	for {
		ok, err := s.rdb.SetNX(ctx, spoolLockKey+u, token, spoolLockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("spool lock: %w", err)
		}
		if ok {
			return func() {
				_ = unlockScript.Run(context.WithoutCancel(ctx), s.rdb, []string{spoolLockKey + u}, token).Err()
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, errLockBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// objectURL is the s3:// URL of the spooled object key.
func (s *Server) objectURL(key string) string {
	return mediaroot.ObjectScheme + s.spoolBucket + "/" + key
}

// createFromObject stores the spooled file sp (a temporary file of this
// host) in the bucket spool under its content-addressed name, checks it
// there as a worker will read it, records the task beside it in Redis and
// queues it. An object this request stored is deleted again if it is
// rejected or cannot be queued.
func (s *Server) createFromObject(w http.ResponseWriter, r *http.Request, req tasks.UploadRequest, sp *spooled) {
	ctx := r.Context()
	key := s.spoolPrefix + sp.sum + sp.ext
	u := s.objectURL(key)
	unlock, err := s.lockObject(ctx, u, 30*time.Second)
	if err != nil {
		s.log.Error("spool lock failed", "err", err, "object", u)
		writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
		return
	}
	defer unlock()
	refs := spoolRefsKey + u
	n, err := s.rdb.Exists(ctx, refs).Result()
	if err != nil {
		s.log.Error("spool bookkeeping failed", "err", err, "object", u)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the queue is unavailable")
		return
	}
	created := n == 0
	// Recorded first: a request that dies after the object is stored
	// leaves a record a sweep removes with the object.
	if err := s.rdb.HSet(ctx, refs, "used", strconv.FormatInt(time.Now().UnixMilli(), 10)).Err(); err != nil {
		s.log.Error("spool bookkeeping failed", "err", err, "object", u)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the queue is unavailable")
		return
	}
	kept := false
	defer func() {
		if created && !kept {
			c := context.WithoutCancel(ctx)
			if err := s.objects.Delete(c, s.spoolBucket, key); err != nil {
				s.log.Warn("spooled object not deleted; a sweep will", "err", err, "object", u)
				return
			}
			_ = s.rdb.Del(c, refs).Err()
		}
	}()
	f, err := os.Open(sp.tmp)
	if err != nil {
		s.log.Error("spool read failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
		return
	}
	err = s.objects.Put(ctx, s.spoolBucket, key, f, sp.size)
	f.Close()
	if err != nil {
		s.log.Error("spool store failed", "err", err, "object", u)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "could not store the file in the object store")
		return
	}
	req.Path = u
	p, err := s.client.Prepare(ctx, req)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	if p.Payload.SHA256 != sp.sum {
		s.log.Error("spooled object changed before it was queued", "object", u)
		writeError(w, http.StatusInternalServerError, "internal", "the stored file changed before it was queued")
		return
	}
	enq, ok := s.recordAndEnqueue(ctx, w, u, p, "t:"+p.TaskID, "1")
	if !ok {
		return
	}
	if !enq.Duplicate || (enq.Existing != nil && enq.Existing.Payload.Path == u) {
		kept = true
	}
	s.writeEnqueued(w, enq)
}

// sweepObjects is SweepSpool for a bucket spool: it lists the spool
// prefix and deletes the objects no task needs any more, by the same rule
// as files, with the bookkeeping in Redis.
func (s *Server) sweepObjects(ctx context.Context, opt SweepOptions) (SweepResult, error) {
	var res SweepResult
	var names []string
	err := s.objects.List(ctx, s.spoolBucket, s.spoolPrefix, func(o mediaroot.ObjectInfo) error {
		name := strings.TrimPrefix(o.Key, s.spoolPrefix)
		if spoolName(name) {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("httpapi: sweep: %w", err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Checked++
		if err := s.sweepObject(ctx, name, opt, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *Server) sweepObject(ctx context.Context, name string, opt SweepOptions, res *SweepResult) error {
	key := s.spoolPrefix + name
	u := s.objectURL(key)
	unlock, err := s.lockObject(ctx, u, 0)
	if errors.Is(err, errLockBusy) {
		res.Young++ // a request is handing it to a task right now
		return nil
	}
	if err != nil {
		return fmt.Errorf("httpapi: sweep %s: %w", u, err)
	}
	defer unlock()
	refs := spoolRefsKey + u
	fields, err := s.rdb.HGetAll(ctx, refs).Result()
	if err != nil {
		return fmt.Errorf("httpapi: sweep %s: %w", u, err)
	}
	if len(fields) == 0 {
		res.Untracked++ // no record of its tasks: cannot tell, keep it
		return nil
	}
	used, _ := strconv.ParseInt(fields["used"], 10, 64)
	if opt.Now().Sub(time.UnixMilli(used)) < opt.Grace {
		res.Young++
		return nil
	}
	var ids []string
	for f := range fields {
		if id, ok := strings.CutPrefix(f, "t:"); ok {
			ids = append(ids, id)
		}
	}
	// No task: left by a request that died between storing the object
	// and queueing its task, past the grace period.
	if len(ids) > 0 {
		keep, err := s.tasksNeed(ctx, ids, u, res)
		if err != nil || keep {
			return err
		}
	}
	if err := s.objects.Delete(ctx, s.spoolBucket, key); err != nil {
		return fmt.Errorf("httpapi: sweep: %w", err)
	}
	_ = s.rdb.Del(ctx, refs).Err()
	res.Removed++
	return nil
}

// enqueueSpooledObject queues an object already in the bucket spool (a
// path request naming one, e.g. the path of an earlier upload's task),
// recording the task beside it under its lock, as a file sent in the
// request is.
func (s *Server) enqueueSpooledObject(w http.ResponseWriter, r *http.Request, req tasks.UploadRequest) {
	ctx := r.Context()
	unlock, err := s.lockObject(ctx, req.Path, 30*time.Second)
	if err != nil {
		s.log.Error("spool lock failed", "err", err, "object", req.Path)
		writeError(w, http.StatusInternalServerError, "internal", "could not queue the upload")
		return
	}
	defer unlock()
	p, err := s.client.Prepare(ctx, req)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	enq, ok := s.recordAndEnqueue(ctx, w, req.Path, p, "used", strconv.FormatInt(time.Now().UnixMilli(), 10), "t:"+p.TaskID, "1")
	if ok {
		s.writeEnqueued(w, enq)
	}
}

// recordAndEnqueue records fields (with the task given the object u) in
// u's spool hash, then queues the prepared task p. On failure it has
// written the error response and returns false.
func (s *Server) recordAndEnqueue(ctx context.Context, w http.ResponseWriter, u string, p *tasks.Prepared, fields ...any) (tasks.Enqueued, bool) {
	if err := s.rdb.HSet(ctx, spoolRefsKey+u, fields...).Err(); err != nil {
		s.log.Error("spool reference not recorded", "err", err, "object", u)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the queue is unavailable")
		return tasks.Enqueued{}, false
	}
	enq, err := s.client.EnqueuePrepared(ctx, p)
	if err != nil {
		s.enqueueError(w, err)
		return tasks.Enqueued{}, false
	}
	return enq, true
}
