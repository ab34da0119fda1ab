package tasks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/mediaroot"
)

// MinFindPrefix is the fewest hex digits of a SHA-256 that [Client.Find]
// takes: shorter prefixes would match too many files to be useful.
const MinFindPrefix = 8

// ErrBadRef: a reference given to [Client.Find] is neither a task ID nor a
// SHA-256 or a prefix of one.
var ErrBadRef = errors.New("tasks: not an absolute file path, an s3://bucket/key URL, a task ID (upload:...), a SHA-256, or a SHA-256 prefix of 8 or more hex digits")

// Find looks in every queue for the upload tasks ref names, and returns
// their states and results, ordered by queue and task ID:
//
//   - a task ID ("upload:<sha256>:<merchant tag>", see [TaskID]): that
//     task, in whichever queue holds it;
//   - a file's SHA-256 (64 hex digits) or a prefix of one (at least
//     [MinFindPrefix] hex digits, either case): every task of that content,
//     for every merchant;
//   - an absolute path beneath the client's media roots: the tasks of that
//     file's content, as its SHA-256 would find them. The file is only
//     hashed, not checked, so a photo queued for conversion is found too; a
//     path the roots refuse gives a [*RejectError];
//   - an s3://bucket/key URL beneath the client's bucket media roots: the
//     tasks of that object's content, read once from the store.
//
// asynq keeps no index by content, and Find keeps none of its own either
// (an index written at enqueue would miss tasks queued by other-language
// clients, and would grow without bound): a SHA-256 or a prefix is found
// by scanning the Redis keyspace for task keys whose ID starts with
// "upload:" and the digits (SCAN with MATCH, 1,000 keys a call, on every
// master of a Cluster). Its cost grows with the number of keys in the
// database, about one round trip per 1,000 keys, and it blocks nothing. A
// task ID costs one lookup per queue.
//
// No task found gives an error matching [ErrNotFound]; a ref of another
// form, [ErrBadRef].
func (c *Client) Find(ctx context.Context, ref string) ([]Status, error) {
	var found []Status
	var err error
	switch {
	case strings.HasPrefix(ref, idPrefix):
		found, err = c.findID(ctx, ref)
	case isHexPrefix(ref):
		found, err = c.findContent(ctx, strings.ToLower(ref))
	case filepath.IsAbs(ref):
		found, err = c.findFile(ctx, ref)
	case mediaroot.IsObjectURL(ref):
		found, err = c.findObject(ctx, ref)
	default:
		return nil, fmt.Errorf("%w: %q", ErrBadRef, ref)
	}
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %q in any queue", ErrNotFound, ref)
	}
	slices.SortFunc(found, func(a, b Status) int {
		return cmp.Or(strings.Compare(a.Queue, b.Queue), strings.Compare(a.ID, b.ID))
	})
	return found, nil
}

// idPrefix starts every upload task ID ([TaskID]).
const idPrefix = "upload:"

func isHexPrefix(s string) bool {
	if len(s) < MinFindPrefix || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// findFile finds the tasks of the content of the file at path, opened
// through the media roots and hashed as Prepare hashes it.
func (c *Client) findFile(ctx context.Context, path string) ([]Status, error) {
	f, st, err := c.roots.Open(path)
	if err != nil {
		return nil, openRejected(path, err)
	}
	defer f.Close()
	sum, err := hashAndCheck(io.NewSectionReader(f, 0, st.Size()), st.Size(), nil)
	if err != nil {
		return nil, &RejectError{Path: path, Reason: ReasonUnreadable, Size: st.Size(), Err: err}
	}
	return c.findContent(ctx, sum)
}

// findObject finds the tasks of the content of the object u, read once
// through the bucket media roots.
func (c *Client) findObject(ctx context.Context, u string) ([]Status, error) {
	obj, err := c.roots.OpenObject(ctx, u)
	if err != nil {
		return nil, openRejected(u, err)
	}
	defer obj.Close()
	sum, err := hashAndCheck(obj, obj.Info.Size, nil)
	if err != nil {
		return nil, &RejectError{Path: u, Reason: ReasonUnreadable, Size: obj.Info.Size, Err: err}
	}
	return c.findContent(ctx, sum)
}

// findID looks for the task id in every queue.
func (c *Client) findID(ctx context.Context, id string) ([]Status, error) {
	queues, err := c.inspector.Queues()
	if err != nil {
		return nil, c.unavailable("listing the queues", err)
	}
	places := make([]place, len(queues))
	for i, q := range queues {
		places[i] = place{q, id}
	}
	return c.statuses(ctx, places)
}

// place is a task ID in a queue.
type place struct{ queue, id string }

// statuses looks up the task of every place, leaving out those not there.
func (c *Client) statuses(ctx context.Context, places []place) ([]Status, error) {
	var found []Status
	for _, p := range places {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := c.inspector.GetTaskInfo(p.queue, p.id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			continue // e.g. a task deleted since the scan
		case err != nil:
			return nil, c.unavailable("looking up a task", err)
		}
		found = append(found, statusOf(info))
	}
	return found, nil
}

// findContent scans for the task keys of every upload whose SHA-256
// starts with hex. asynq stores a task under "asynq:{<queue>}:t:<id>"; a
// key that disappears between the scan and the lookup (a task deleted
// meanwhile) is left out.
func (c *Client) findContent(ctx context.Context, hex string) ([]Status, error) {
	match := "asynq:{*}:t:" + idPrefix + hex + "*"
	var (
		mu   sync.Mutex // a Cluster's masters are scanned concurrently
		keys []string
	)
	scan := func(ctx context.Context, rdb redis.Cmdable) error {
		var mine []string
		iter := rdb.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			mine = append(mine, iter.Val())
		}
		mu.Lock()
		keys = append(keys, mine...)
		mu.Unlock()
		return iter.Err()
	}
	var err error
	if cluster, ok := c.rdb.(*redis.ClusterClient); ok {
		err = cluster.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return scan(ctx, m) })
	} else {
		err = scan(ctx, c.rdb)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.unavailable("scanning for the tasks of "+hex, err)
	}
	var places []place
	for _, k := range keys {
		if q, id, ok := splitTaskKey(k); ok {
			places = append(places, place{q, id})
		}
	}
	return c.statuses(ctx, places)
}

// taskKey is asynq's key of a task, "asynq:{<queue>}:t:<id>", where its
// ResultWriter writes the result (field "result").
func taskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// splitTaskKey splits asynq's "asynq:{<queue>}:t:<id>" into queue and ID.
func splitTaskKey(key string) (queue, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, "asynq:{")
	if !ok {
		return "", "", false
	}
	queue, id, ok = strings.Cut(rest, "}:t:")
	return queue, id, ok
}

// ReuseNote tells whoever asked to queue asked, a duplicate of the task
// already queued with known, which job is reused and the name it
// carries: "" when the request names the same file and image_name, which
// needs no word.
func ReuseNote(asked, known UploadPayload) string {
	var note string
	if known.Path != "" && known.Path != asked.Path {
		note = "same content as " + known.Path + ": its task is reused and nothing new is queued"
	} else if known.ImageName != asked.ImageName {
		note = "the same content is already queued: its task is reused and nothing new is queued"
	} else {
		return ""
	}
	if known.ImageName != asked.ImageName {
		return note + fmt.Sprintf("; it carries image_name %q, not %q", known.ImageName, asked.ImageName)
	}
	return note + fmt.Sprintf("; it carries image_name %q", known.ImageName)
}
