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
// application uploads for itself (no merchant, no token, no image_pid),
// and otherwise the first 16 hex digits of a SHA-256 over the identity and
// the image_pid:
//
//   - a version 2 job naming a merchant: its auth_app_id, so a refreshed
//     token never changes the ID and the same file is never uploaded twice
//     for the same merchant;
//   - a version 2 job with a sealed token: the token's [TokenDigest] (the
//     payload's token_digest), itself a one-way hash of the token;
//   - a version 1 job: its app_auth_token, hashed, as version 1 did, so
//     the IDs of queued version 1 jobs stay what they were.
//
// The plaintext token never enters an ID. Two jobs for the same content
// and merchant share an ID, whatever their path or image_name.
func TaskID(p UploadPayload) string {
	return "upload:" + p.SHA256 + ":" + merchantTag(p)
}

func merchantTag(p UploadPayload) string {
	h := sha256.New()
	// Length-prefixed fields, so ("ab","c") and ("a","bc") differ; a
	// domain per kind of identity, so that a merchant and a token digest
	// spelled alike differ too.
	switch {
	case p.Merchant != "":
		fmt.Fprintf(h, "alipay-media-worker/merchant/v2\x00auth_app_id\x00%d:%s\x00%d:%s", len(p.Merchant), p.Merchant, len(p.ImagePID), p.ImagePID)
	case p.TokenDigest != "":
		fmt.Fprintf(h, "alipay-media-worker/merchant/v2\x00token_digest\x00%d:%s\x00%d:%s", len(p.TokenDigest), p.TokenDigest, len(p.ImagePID), p.ImagePID)
	case p.AppAuthToken == "" && p.ImagePID == "":
		return "self"
	default:
		// Version 1 (and a job with only an image_pid, whose ID is the
		// same in both versions).
		fmt.Fprintf(h, "alipay-media-worker/merchant/v1\x00%d:%s\x00%d:%s", len(p.AppAuthToken), p.AppAuthToken, len(p.ImagePID), p.ImagePID)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// tokenDigestLen is the length of a [TokenDigest].
const tokenDigestLen = 32

// TokenDigest names an app_auth_token without revealing it: 32 lowercase
// hex digits (128 bits) of a SHA-256 over a fixed prefix and the token.
// A version 2 payload with a sealed token carries it as token_digest, and
// its task ID hashes it (see [TaskID]). A token is a long random string,
// so its digest cannot be turned back into it.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte("alipay-media-worker/app_auth_token/v1\x00" + token))
	return hex.EncodeToString(sum[:])[:tokenDigestLen]
}
