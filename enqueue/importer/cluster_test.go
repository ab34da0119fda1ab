package importer_test

import (
	"testing"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
)

// TestImportOnRedisCluster imports a tree through a redis-cluster:// URL
// and waits for a worker on the same cluster to upload it.
func TestImportOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := testproc.StartCluster(t)
	root, want := mixedTree(t)
	client := newClient(t, cluster.URL(), root)
	w := workertest.Start(t, workertest.Config{RedisURL: cluster.URL(), MediaRoots: []string{root}})
	sum, rows, err := runImport(t, t.Context(), importer.Config{Client: client, Paths: []string{root}, Wait: true}, root)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for rel, wt := range want {
		r := rows[rel]
		if wt.state == importer.StateRejected {
			if r.State != importer.StateRejected {
				t.Errorf("%s: state %q, want rejected", rel, r.State)
			}
			continue
		}
		if r.State != importer.StateCompleted || r.ImageID == "" {
			t.Errorf("%s: %+v, want completed with an image_id", rel, r)
		}
	}
	// Six distinct contents, the seventh file a twin.
	if sum.Completed != 7 || len(w.Gateway.Uploads()) != 6 {
		t.Errorf("summary %+v, %d uploads at the gateway; want 7 completed, 6 uploads", sum, len(w.Gateway.Uploads()))
	}
}
