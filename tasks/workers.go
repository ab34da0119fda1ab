package tasks

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/mediaroot"
)

// workersKey is the Redis hash where each running worker process keeps
// its [WorkerInfo], one field per process ("host:pid"). One key, so it
// works on a Redis Cluster too; a field whose Expires has passed belongs
// to a process that died without removing it, and readers drop it.
const workersKey = "alipay-media:workers"

// Announcement timing: a worker rewrites its field every announceEvery,
// and the field is valid for announceTTL, so one or two missed rewrites
// (a Redis blip) do not make a live worker look gone.
const (
	announceEvery = 15 * time.Second
	announceTTL   = time.Minute
)

// WorkerInfo is what a running worker process says of itself in Redis, so
// that the programs queueing jobs can tell whether any live worker would
// read their files.
type WorkerInfo struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Queues are the queues the worker serves.
	Queues []string `json:"queues"`
	// MediaRoots are the directories its jobs may read files from,
	// absolute and cleaned, then its bucket roots (s3://bucket/prefix/).
	MediaRoots []string  `json:"media_roots"`
	Started    time.Time `json:"started"`
	// Expires is when the announcement lapses unless renewed.
	Expires time.Time `json:"expires"`
}

// Serves reports whether the worker takes jobs from queue.
func (w WorkerInfo) Serves(queue string) bool { return slices.Contains(w.Queues, queue) }

// Reads reports whether path (absolute) lies, by its spelling, in one of
// the worker's media roots. A path it accepts may still be refused when
// the job runs (a missing file, a link leading out of the roots).
func (w WorkerInfo) Reads(path string) bool {
	if mediaroot.IsObjectURL(path) {
		// Bucket roots are announced as s3://bucket/prefix/.
		for _, root := range w.MediaRoots {
			if mediaroot.IsObjectURL(root) && (strings.HasPrefix(path, root) || path+"/" == root) {
				return true
			}
		}
		return false
	}
	clean := filepath.Clean(path)
	for _, dir := range w.MediaRoots {
		if clean == dir || strings.HasPrefix(clean, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// AnnounceWorker keeps info (Host, PID and Started filled in when empty)
// in Redis until ctx ends, renewing it every 15 seconds, then removes it.
// A failed write is logged at debug level and tried again at the next
// renewal: the announcement only informs, and never stops the worker.
func AnnounceWorker(ctx context.Context, rdb redis.UniversalClient, info WorkerInfo, log *slog.Logger) {
	if info.Host == "" {
		info.Host, _ = os.Hostname()
	}
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Started.IsZero() {
		info.Started = time.Now()
	}
	field := info.Host + ":" + strconv.Itoa(info.PID)
	write := func() {
		info.Expires = time.Now().Add(announceTTL)
		data, err := json.Marshal(info)
		if err == nil {
			err = rdb.HSet(ctx, workersKey, field, data).Err()
		}
		if err != nil && ctx.Err() == nil {
			log.Debug("cannot announce the worker in Redis; trying again", "err", err.Error())
		}
	}
	write()
	tick := time.NewTicker(announceEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			write()
		case <-ctx.Done():
			// The worker's context is done: remove the field on a fresh one.
			bye, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			rdb.HDel(bye, workersKey, field)
			cancel()
			return
		}
	}
}

// Workers returns the worker processes announced in Redis whose
// announcement has not lapsed, ordered by host and PID. Lapsed entries
// (processes that died) are removed on the way.
func (c *Client) Workers(ctx context.Context) ([]WorkerInfo, error) {
	all, err := c.rdb.HGetAll(ctx, workersKey).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list workers: %w", ErrUnavailable, err)
	}
	now := time.Now()
	var live []WorkerInfo
	var lapsed []string
	for field, data := range all {
		var w WorkerInfo
		if json.Unmarshal([]byte(data), &w) != nil || now.After(w.Expires) {
			lapsed = append(lapsed, field)
			continue
		}
		live = append(live, w)
	}
	if len(lapsed) > 0 {
		c.rdb.HDel(ctx, workersKey, lapsed...)
	}
	slices.SortFunc(live, func(a, b WorkerInfo) int {
		return cmp.Or(strings.Compare(a.Host, b.Host), a.PID-b.PID)
	})
	return live, nil
}
