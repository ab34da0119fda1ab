package tasks_test

import (
	"errors"
	"testing"

	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestStatusWord maps asynq's states, and the retry information, to the
// one vocabulary; a throttled attempt is told from a failed one by the
// error asynq keeps.
func TestStatusWord(t *testing.T) {
	t.Parallel()
	throttled := (&tasks.ThrottledError{Err: errors.New("alipay 40005: call frequency exceeded")}).Error()
	for _, c := range []struct {
		st   tasks.Status
		want tasks.Word
	}{
		{tasks.Status{State: tasks.StatePending}, tasks.WordQueued},
		{tasks.Status{State: tasks.StateScheduled}, tasks.WordQueued},
		{tasks.Status{State: tasks.StateActive}, tasks.WordUploading},
		{tasks.Status{State: tasks.StateRetry, Retried: 1, LastError: "upload: gateway answered HTTP 503"}, tasks.WordRetrying},
		{tasks.Status{State: tasks.StateRetry, LastError: throttled}, tasks.WordThrottled},
		{tasks.Status{State: tasks.StateCompleted}, tasks.WordCompleted},
		{tasks.Status{State: tasks.StateArchived, LastError: "corrupt: ..."}, tasks.WordFailed},
	} {
		if got := c.st.Word(); got != c.want {
			t.Errorf("%s (last error %q): %q, want %q", c.st.State, c.st.LastError, got, c.want)
		}
	}
	for _, w := range tasks.Words() {
		if w.Final() != (w == tasks.WordCompleted || w == tasks.WordFailed || w == tasks.WordRejected || w == tasks.WordWouldQueue) {
			t.Errorf("%q: Final() = %v", w, w.Final())
		}
	}
}
