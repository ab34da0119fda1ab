package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Queue names a worker listens on. [NewUploadTask] uses [QueueDefault]; pass
// asynq.Queue(QueueCritical) or asynq.Queue(QueueLow) to change it.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Defaults [NewUploadTask] applies. Options given to it, or to
// asynq.Client.Enqueue, override them.
const (
	// DefaultMaxRetry is the retry budget for transient failures. Throttled
	// attempts do not spend it.
	DefaultMaxRetry = 10
	// DefaultTimeout bounds one attempt: open, validate and upload.
	DefaultTimeout = 5 * time.Minute
	// DefaultRetention keeps a finished task, and so its result and its
	// task ID, readable for a week.
	DefaultRetention = 7 * 24 * time.Hour
)

// NewUploadTask builds a [TypeUpload] task from a payload. It sets the
// payload version when it is zero, validates the payload, and applies the
// defaults: queue [QueueDefault], asynq.MaxRetry([DefaultMaxRetry]),
// asynq.Timeout([DefaultTimeout]), asynq.Retention([DefaultRetention]) and
// asynq.TaskID([TaskID](p)). Options in opts come after the defaults and so
// replace them.
//
// Because the task ID is derived from the content and the merchant,
// enqueueing the same file for the same merchant again fails with
// asynq.ErrTaskIDConflict for as long as the first task is queued, retrying,
// archived or retained.
func NewUploadTask(p UploadPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if p.Version == 0 {
		p.Version = PayloadVersion
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("tasks: encode payload: %w", err)
	}
	all := []asynq.Option{
		asynq.Queue(QueueDefault),
		asynq.MaxRetry(DefaultMaxRetry),
		asynq.Timeout(DefaultTimeout),
		asynq.Retention(DefaultRetention),
		asynq.TaskID(TaskID(p)),
	}
	all = append(all, opts...)
	return asynq.NewTask(TypeUpload, data, all...), nil
}

// TaskID returns the task ID of an upload: "upload:" followed by the file's
// SHA-256 and a tag of the merchant identity. The tag is "self" when the
// application uploads for itself (no app_auth_token, no image_pid), and
// otherwise the first 16 hex digits of a SHA-256 over the token and the
// image_pid, so the ID never reveals the token. Two jobs for the same
// content and merchant share an ID, whatever their path or image_name.
func TaskID(p UploadPayload) string {
	return "upload:" + p.SHA256 + ":" + merchantTag(p.AppAuthToken, p.ImagePID)
}

func merchantTag(token, pid string) string {
	if token == "" && pid == "" {
		return "self"
	}
	h := sha256.New()
	// Length-prefixed fields, so ("ab","c") and ("a","bc") differ.
	fmt.Fprintf(h, "alipay-media-worker/merchant/v1\x00%d:%s\x00%d:%s", len(token), token, len(pid), pid)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
