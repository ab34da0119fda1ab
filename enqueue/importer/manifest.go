package importer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// State is the outcome of one file in a [Row], in the one vocabulary of
// [tasks.Word] that the command's tables, the HTTP API's "status" and the
// docs share.
type State = tasks.Word

// Row states. A run without --wait leaves new files "queued"; with --wait
// every row that was not rejected ends "completed" or "failed" (or keeps
// its state when the wait was interrupted).
const (
	// StateQueued: this run queued the file's task.
	StateQueued = tasks.WordQueued
	// StatePending: the task already existed (queued by an earlier run, by
	// another file of the same content in this run, or by another
	// application) and has not finished:
	// it waits for a worker or is being uploaded. It was not queued again.
	// Duplicate is true.
	StatePending = tasks.WordPending
	// StateRetrying: as pending, but the task's last attempt failed and it
	// waits for the next one; Error holds the last error.
	StateRetrying = tasks.WordRetrying
	// StateThrottled: as pending, but the gateway throttled the last
	// attempt and the task waits for the throttle delay.
	StateThrottled = tasks.WordThrottled
	// StateCompleted: the upload succeeded; ImageID and ImageURL are set.
	StateCompleted = tasks.WordCompleted
	// StateFailed: the task was archived after failing (Error holds the
	// last error), or it vanished from Redis while being waited for.
	StateFailed = tasks.WordFailed
	// StateRejected: the file failed the local check and was never queued;
	// Reason and Error say why.
	StateRejected = tasks.WordRejected
	// StateWouldQueue: --dry-run only; the file passed the check and would
	// be queued.
	StateWouldQueue = tasks.WordWouldQueue
)

// Row is one line of the manifest (JSON Lines), describing one file. path,
// size, state and duplicate are always written; other fields only when
// they have a value.
type Row struct {
	// Path is the file's path as found (the argument joined with the path
	// below it).
	Path string `json:"path"`
	// Size in bytes (0 when the file could not be read).
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex digest of the content ("" when rejected
	// before hashing).
	SHA256 string `json:"sha256,omitempty"`
	// ImageType is the declared or detected type, e.g. "jpg".
	ImageType string `json:"image_type,omitempty"`
	// ImageName is the image_name the task carries: for a duplicate, the
	// name the existing task was queued with (see Note).
	ImageName string `json:"image_name,omitempty"`
	// TaskID is the asynq task ID ("" when rejected).
	TaskID string `json:"task_id,omitempty"`
	// State is the outcome; see the State constants.
	State State `json:"state"`
	// Duplicate is true when the task already existed before this file
	// was offered, so nothing new was queued for it.
	Duplicate bool `json:"duplicate"`
	// Requeued is true when --requeue-failed ran an archived task again.
	Requeued bool `json:"requeued,omitempty"`
	// Note says, for a duplicate whose task was queued for another file or
	// under another image_name, which job is reused and the name it
	// carries.
	Note string `json:"note,omitempty"`
	// ImageID and ImageURL are Alipay's answer once completed.
	ImageID  string `json:"image_id,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	// Converted says what was sent instead of the file when the worker
	// converted it (completed tasks of imports with Convert): from which
	// type and why, bytes and pixel size before and after, the quality.
	// Size and SHA256 stay the original's.
	Converted *convert.Record `json:"converted,omitempty"`
	// Reason is a stable code for a rejection: a tasks.RejectError's
	// Reason (e.g. "unsupported_type", "too_large", "outside_roots"), or
	// for a file or directory the walk could not read, "not_found" or
	// "unreadable".
	Reason string `json:"reason,omitempty"`
	// Error is a human-readable error ("" on success).
	Error string `json:"error,omitempty"`
}

// manifest writes rows as JSON Lines. It is safe for concurrent use.
type manifest struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

func newManifest(w io.Writer) *manifest {
	if w == nil {
		return nil
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &manifest{w: bw, enc: enc}
}

func (m *manifest) write(r *Row) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	if err := m.enc.Encode(r); err != nil {
		m.err = fmt.Errorf("importer: write manifest: %w", err)
	}
}

func (m *manifest) flush() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if err := m.w.Flush(); err != nil {
		m.err = fmt.Errorf("importer: write manifest: %w", err)
	}
	return m.err
}
