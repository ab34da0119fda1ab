package importer_test

import (
	"context"
	"os"
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

// TestReimportByRelativePathHasNoNote: importing a directory again under a
// relative spelling meets the same tasks; a file meeting its own task
// needs no note, however its path was spelt.
func TestReimportByRelativePathHasNoNote(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "shop", "a.jpg"), sample(t, "photo.jpg"))
	client := newClient(t, srv.URL(), root)
	if _, err := importer.Run(context.Background(), importer.Config{Client: client, Paths: []string{filepath.Join(root, "shop")}}); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(root, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []importer.Row
	if _, err := importer.Run(context.Background(), importer.Config{Client: client, Paths: []string{rel},
		OnRow: func(r importer.Row) { rows = append(rows, r) }}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !rows[0].Duplicate || rows[0].Note != "" {
		t.Errorf("re-import by %s: %+v; want a duplicate without a note", rel, rows)
	}
}
