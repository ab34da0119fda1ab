package tasks

import "strings"

// Word is a file's or a task's state in the one vocabulary a person reads:
// the import manifest's "state", the enqueue command's tables and progress,
// the HTTP API's "status" (beside asynq's "state", kept as it is) and the
// docs all use these words. [Status.Word] maps asynq's state and the retry
// information to it.
type Word string

// The words. A task has one of queued, uploading, retrying, throttled,
// completed or failed; pending, rejected and would-queue only describe a
// file of an import.
const (
	// WordQueued: waiting for a worker (asynq's pending or scheduled).
	WordQueued Word = "queued"
	// WordPending: an import found the file's task already queued (an
	// earlier run, a file with the same content, another application),
	// not finished; it queued nothing new.
	WordPending Word = "pending"
	// WordUploading: a worker is sending the file (asynq's active).
	WordUploading Word = "uploading"
	// WordRetrying: an attempt failed for a reason that may pass; the task
	// waits for its next attempt (asynq's retry).
	WordRetrying Word = "retrying"
	// WordThrottled: the gateway said the calls are too frequent (40005);
	// the task waits for the throttle delay without spending its retry
	// budget (asynq's retry, after a throttled attempt).
	WordThrottled Word = "throttled"
	// WordCompleted: uploaded; the result holds image_id and image_url.
	WordCompleted Word = "completed"
	// WordFailed: archived after a permanent failure or its last retry;
	// the last error says why (asynq's archived).
	WordFailed Word = "failed"
	// WordRejected: the file failed the check before queueing and was
	// never queued.
	WordRejected Word = "rejected"
	// WordWouldQueue: a dry run found the file fit to be queued.
	WordWouldQueue Word = "would-queue"
)

// Words lists every word, in the order above.
func Words() []Word {
	return []Word{WordQueued, WordPending, WordUploading, WordRetrying, WordThrottled, WordCompleted, WordFailed, WordRejected, WordWouldQueue}
}

// Final reports whether the word will not change any more by itself.
func (w Word) Final() bool {
	return w == WordCompleted || w == WordFailed || w == WordRejected || w == WordWouldQueue
}

// throttledPrefix starts the message of a [*ThrottledError], the last
// error asynq keeps for a throttled attempt.
const throttledPrefix = "throttled: "

// Word is the task's state in the one vocabulary (see [Word]).
func (s Status) Word() Word {
	switch s.State {
	case StateCompleted:
		return WordCompleted
	case StateArchived:
		return WordFailed
	case StateActive:
		return WordUploading
	case StateRetry:
		if strings.HasPrefix(s.LastError, throttledPrefix) {
			return WordThrottled
		}
		return WordRetrying
	}
	return WordQueued
}
