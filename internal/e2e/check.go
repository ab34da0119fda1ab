package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// Outcome is what a run left behind: the files, the importer's manifest,
// the tasks in Redis and the uploads the gateway recorded.
type Outcome struct {
	Samples []Sample
	// Manifest holds the rows of the importer's last (complete) run.
	Manifest []importer.Row
	// Tasks maps task IDs to their state in Redis ([Gather]).
	Tasks map[string]*asynq.TaskInfo
	// Queue is the queue's summary ([Gather]).
	Queue *asynq.QueueInfo
	// Uploads are the gateway's records.
	Uploads []alipaytest.Upload
}

// Report is the verdict of [Check].
type Report struct {
	// Valid, Rejected and Archived count the files found as expected:
	// completed with their result, rejected by the importer with their
	// reason, archived by a worker with their reason.
	Valid, Rejected, Archived int
	// Problems lists every file that did not end as expected, and every
	// other inconsistency. Empty means nothing was lost.
	Problems []string
	// DuplicateFiles counts files (content and merchant) the gateway
	// recorded more than once; ExtraUploads counts the uploads beyond the
	// first of each.
	DuplicateFiles, ExtraUploads int
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r Report) String() string {
	s := fmt.Sprintf("%d valid completed, %d rejected by the importer, %d archived by a worker; gateway received %d file(s) twice or more (%d extra upload(s))",
		r.Valid, r.Rejected, r.Archived, r.DuplicateFiles, r.ExtraUploads)
	if len(r.Problems) > 0 {
		s += fmt.Sprintf("; %d problem(s):\n  %s", len(r.Problems), strings.Join(r.Problems, "\n  "))
	}
	return s
}

// TaskIDOf is the task ID of a sample queued for the application itself
// (no app_auth_token, no image_pid), as tasks.TaskID computes it.
func TaskIDOf(s Sample) string {
	return tasks.TaskID(tasks.UploadPayload{SHA256: s.SHA256})
}

// Gather reads the queue summary and the task of every valid or direct
// sample from Redis.
func Gather(insp *asynq.Inspector, queue string, samples []Sample) (map[string]*asynq.TaskInfo, *asynq.QueueInfo, error) {
	qi, err := insp.GetQueueInfo(queue)
	if err != nil {
		return nil, nil, fmt.Errorf("chaos: queue info: %w", err)
	}
	out := map[string]*asynq.TaskInfo{}
	for _, s := range samples {
		if !s.Valid && !s.Direct {
			continue
		}
		id := TaskIDOf(s)
		info, err := insp.GetTaskInfo(queue, id)
		if errors.Is(err, asynq.ErrTaskNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("chaos: task %s: %w", id, err)
		}
		out[id] = info
	}
	return out, qi, nil
}

// ReadManifest parses an importer manifest (JSON Lines).
func ReadManifest(r io.Reader) ([]importer.Row, error) {
	var rows []importer.Row
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var row importer.Row
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("chaos: manifest line %q: %w", sc.Text(), err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("chaos: manifest: %w", err)
	}
	return rows, nil
}

// Check compares an outcome with what the samples say should have
// happened:
//   - every valid file has one manifest row, completed with an image_id;
//     its task is completed with a result naming the same image_id and the
//     file's SHA-256, and the gateway recorded that image_id for that
//     content;
//   - every invalid file the importer saw has one row, rejected with the
//     file's reason, and no task;
//   - every invalid file queued directly has an archived task whose error
//     names the reason;
//   - the queue holds nothing pending, active, scheduled or retrying, and
//     its completed and archived counts match;
//   - the gateway never received an invalid file.
//
// Uploads recorded more than once for the same content and merchant are
// counted, not reported as problems: the upload is not idempotent, so
// when a worker dies between the gateway's answer and storing the result,
// the file is uploaded again (the redis-outage scenario requires none,
// since its workers stay alive).
func Check(o Outcome) Report {
	var r Report
	bad := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	rows := map[string][]importer.Row{}
	for _, row := range o.Manifest {
		rows[row.Path] = append(rows[row.Path], row)
	}
	byImageID := map[string]alipaytest.Upload{}
	type key struct{ sha, token, pid string }
	perFile := map[key]int{}
	for _, u := range o.Uploads {
		byImageID[u.ImageID] = u
		perFile[key{u.SHA256, u.AppAuthToken, u.ImagePID}]++
	}
	validSHA := map[string]bool{}
	var wantCompleted, wantArchived int
	for _, s := range o.Samples {
		if s.Valid {
			validSHA[s.SHA256] = true
		}
		if s.Direct {
			wantArchived++
			if _, ok := rows[s.Path]; ok {
				bad("%s: queued directly, yet the importer reported it", s.Path)
			}
			info := o.Tasks[TaskIDOf(s)]
			switch {
			case info == nil:
				bad("%s: direct task %s is missing", s.Path, TaskIDOf(s))
			case info.State != asynq.TaskStateArchived:
				bad("%s: direct task is %v, want archived", s.Path, info.State)
			case !strings.Contains(info.LastErr, string(s.Reason)):
				bad("%s: archived with %q, which does not name %q", s.Path, info.LastErr, s.Reason)
			default:
				r.Archived++
			}
			continue
		}
		rs := rows[s.Path]
		if len(rs) != 1 {
			bad("%s: %d manifest rows, want 1", s.Path, len(rs))
			continue
		}
		row := rs[0]
		if !s.Valid {
			switch {
			case row.State != importer.StateRejected:
				bad("%s: manifest state %q, want rejected (%s)", s.Path, row.State, s.Reason)
			case row.Reason != string(s.Reason):
				bad("%s: rejected with reason %q, want %q", s.Path, row.Reason, s.Reason)
			case row.TaskID != "":
				bad("%s: rejected, yet has task %s", s.Path, row.TaskID)
			default:
				r.Rejected++
			}
			continue
		}
		wantCompleted++
		id := TaskIDOf(s)
		if row.State != importer.StateCompleted || row.ImageID == "" {
			bad("%s: manifest state %q image_id %q error %q, want completed", s.Path, row.State, row.ImageID, row.Error)
			continue
		}
		if row.TaskID != id {
			bad("%s: manifest task %s, want %s", s.Path, row.TaskID, id)
		}
		info := o.Tasks[id]
		if info == nil {
			bad("%s: task %s missing from Redis", s.Path, id)
			continue
		}
		if info.State != asynq.TaskStateCompleted {
			bad("%s: task %s is %v (%s), want completed", s.Path, id, info.State, info.LastErr)
			continue
		}
		var res tasks.Result
		if err := json.Unmarshal(info.Result, &res); err != nil {
			bad("%s: task result %q: %v", s.Path, info.Result, err)
			continue
		}
		if res.ImageID != row.ImageID || res.SHA256 != s.SHA256 || res.Bytes != s.Size {
			bad("%s: result %+v disagrees with manifest image_id %s / file sha256 %s size %d", s.Path, res, row.ImageID, s.SHA256, s.Size)
			continue
		}
		up, ok := byImageID[res.ImageID]
		if !ok || up.SHA256 != s.SHA256 {
			bad("%s: the gateway has no upload %s of this content", s.Path, res.ImageID)
			continue
		}
		r.Valid++
	}
	for _, u := range o.Uploads {
		if !validSHA[u.SHA256] {
			bad("the gateway received content %s (%s) that is not a valid sample", u.SHA256, u.ImageName)
		}
	}
	for _, n := range perFile {
		if n > 1 {
			r.DuplicateFiles++
			r.ExtraUploads += n - 1
		}
	}
	if q := o.Queue; q == nil {
		bad("no queue information")
	} else {
		if q.Pending+q.Active+q.Scheduled+q.Retry != 0 {
			bad("queue %s not drained: %d pending, %d active, %d scheduled, %d retry", q.Queue, q.Pending, q.Active, q.Scheduled, q.Retry)
		}
		if q.Completed != wantCompleted || q.Archived != wantArchived {
			bad("queue %s: %d completed, %d archived; want %d and %d", q.Queue, q.Completed, q.Archived, wantCompleted, wantArchived)
		}
	}
	sort.Strings(r.Problems)
	return r
}
