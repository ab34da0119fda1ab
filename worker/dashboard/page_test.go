package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// fillQueue queues n pending upload tasks in queue.
func fillQueue(t *testing.T, f fixture, queue string, n int) {
	t.Helper()
	client := asynq.NewClient(f.opt)
	defer client.Close()
	for i := range n {
		if _, err := client.Enqueue(asynq.NewTask(uploadType, payload(fmt.Sprint(i))), asynq.Queue(queue)); err != nil {
			t.Fatal(err)
		}
	}
}

// listed is the number of tasks in a list answer.
func listed(t *testing.T, body string) int {
	t.Helper()
	var v struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("list answer %.200q: %v", body, err)
	}
	return len(v.Tasks)
}

// TestHugePageSizeIsCapped (issue 12, item 3): a list request asking for a
// million rows, or for size 0 (which asynq reads as "all"), gets at most
// 100 (the largest page the dashboard's own pages ask for); before, it got
// the whole queue.
func TestHugePageSizeIsCapped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	fillQueue(t, f, "bulk", 150)
	hs := newServer(t, dashboard.Config{Redis: f.rdb})
	for query, want := range map[string]int{
		"size=1000000":                100,
		"size=101":                    100,
		"size=100&page=2":             50,
		"size=30":                     30,
		"size=0":                      20,
		"size=-5":                     20,
		"size=lots":                   20,
		"":                            20,
		"size=1000000&size=1":         100,
		"size=100&page=0":             100,
		"size=100&page=9999999999999": 0,
	} {
		code, body := get(t, hs, "/monitoring/api/queues/bulk/pending_tasks?"+query)
		if code != http.StatusOK {
			t.Errorf("?%s: status %d: %.200s", query, code, body)
			continue
		}
		if n := listed(t, body); n != want {
			t.Errorf("?%s: %d tasks, want %d", query, n, want)
		}
	}
}

// TestPageMemoryIsBounded (issue 12, item 3): on a queue of 1,000 tasks, a
// request asking for a million rows allocates about what one asking for
// 100 does, because both answer 100; before, it allocated for the whole
// queue, and the scrubber held the answer and a copy besides. It does not
// run in parallel, so the allocation figures are its own.
func TestPageMemoryIsBounded(t *testing.T) {
	f := setup(t)
	fillQueue(t, f, "bulk", 1000)
	s, err := dashboard.New(dashboard.Config{Redis: f.rdb})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	alloc := func(size string) uint64 {
		t.Helper()
		least := uint64(0)
		for range 3 {
			req := httptest.NewRequest("GET", "http://127.0.0.1/monitoring/api/queues/bulk/pending_tasks?size="+size, nil)
			rec := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			h.ServeHTTP(rec, req)
			runtime.ReadMemStats(&after)
			if rec.Code != http.StatusOK {
				t.Fatalf("size=%s: status %d", size, rec.Code)
			}
			if n := after.TotalAlloc - before.TotalAlloc; least == 0 || n < least {
				least = n
			}
		}
		return least
	}
	page, huge := alloc("100"), alloc("1000000")
	t.Logf("allocated per request: size=100 %d bytes, size=1000000 %d bytes", page, huge)
	if huge > page+page/2 {
		t.Errorf("size=1000000 allocated %d bytes, size=100 %d: the answer grows with the size asked", huge, page)
	}
}
