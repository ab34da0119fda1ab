package tasks_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestClientReplaceArchived: a task archived without asking for
// conversion, which asynq would re-run unchanged, is replaced by the same
// file's job asking for it, under the same task ID; a task not archived is
// left as it is.
func TestClientReplaceArchived(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.png")
	ctx := t.Context()
	path := filepath.Join(s.root, "photo.png")
	first, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: path})
	if err != nil || first.Payload.Convert {
		t.Fatalf("Enqueue: %+v, %v", first, err)
	}
	p, err := s.client.Prepare(ctx, tasks.UploadRequest{Path: path, Convert: true})
	if err != nil || p.TaskID != first.ID {
		t.Fatalf("Prepare: %+v, %v (first task %s)", p, err, first.ID)
	}
	if _, err := s.client.Replace(ctx, p); !errors.Is(err, tasks.ErrNotArchived) {
		t.Fatalf("Replace of a pending task: %v, want ErrNotArchived", err)
	}
	if st, err := s.client.Lookup(ctx, first.ID); err != nil || st.Payload.Convert {
		t.Fatalf("the pending task changed: %+v, %v", st, err)
	}

	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.redis.Addr()})
	defer insp.Close()
	if err := insp.ArchiveTask(first.Queue, first.ID); err != nil {
		t.Fatal(err)
	}
	enq, err := s.client.Replace(ctx, p)
	if err != nil || enq.ID != first.ID || enq.Duplicate || !enq.Payload.Convert {
		t.Fatalf("Replace: %+v, %v", enq, err)
	}
	st, err := s.client.Lookup(ctx, first.ID)
	if err != nil || st.State != tasks.StatePending || !st.Payload.Convert || st.Payload.SHA256 != first.Payload.SHA256 {
		t.Fatalf("after Replace: %+v, %v", st, err)
	}
	// Not archived any more: a second replacement changes nothing.
	if _, err := s.client.Replace(ctx, p); !errors.Is(err, tasks.ErrNotArchived) {
		t.Fatalf("second Replace: %v, want ErrNotArchived", err)
	}
}
