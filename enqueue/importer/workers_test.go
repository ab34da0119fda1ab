package importer_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
)

// TestImportWarnsWhenNoRunningWorkerReadsThePaths: with no worker running
// the import says nothing will take its jobs yet; with a worker whose
// media roots hold one of two directories it names the other, the roots it
// would need, and the reason its jobs would get; a worker reading both
// silences it. The import goes on in every case.
func TestImportWarnsWhenNoRunningWorkerReadsThePaths(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	inside, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(inside, "a.jpg"), sample(t, "photo.jpg"))
	write(t, filepath.Join(outside, "b.png"), sample(t, "photo.png"))
	client := newClient(t, srv.URL(), inside, outside)

	run := func() (importer.Summary, string) {
		var notices []string
		sum, err := importer.Run(context.Background(), importer.Config{Client: client, Paths: []string{inside, outside},
			DryRun: true, OnNotice: func(s string) { notices = append(notices, s) }})
		if err != nil {
			t.Fatal(err)
		}
		return sum, strings.Join(notices, "\n")
	}

	sum, notes := run()
	if sum.WouldQueue != 2 || !strings.Contains(notes, `no running worker serves queue "default"`) {
		t.Errorf("no worker: %+v, notices %q", sum, notes)
	}

	w := workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{inside}})
	workertest.WaitWorkers(t, client, 1)
	sum, notes = run()
	if sum.WouldQueue != 2 || strings.Contains(notes, "reads "+inside+" ") ||
		!strings.Contains(notes, "reads "+outside+" (their media roots: "+inside+")") || !strings.Contains(notes, "outside_roots") {
		t.Errorf("worker reading %s only: %+v, notices %q", inside, sum, notes)
	}
	w.Stop()

	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{inside, outside}})
	workertest.WaitWorkers(t, client, 1)
	if sum, notes = run(); sum.WouldQueue != 2 || notes != "" {
		t.Errorf("worker reading both: %+v, notices %q", sum, notes)
	}
}
