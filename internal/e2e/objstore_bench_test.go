package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// BenchmarkUploadSource queues and uploads batches of store photos from
// the object store (a private versitygw on loopback) next to the same
// from local disk, in one run, through one worker (what worker.New builds,
// 8 uploads at once) and the gateway emulator: each iteration checks,
// hashes and queues 32 new 512 KiB JPEGs with tasks.Client and waits
// until all are completed. Placing the files (writing them to disk, or
// PUTting them to the bucket) is not timed.
func BenchmarkUploadSource(b *testing.B) {
	const (
		files = 32
		size  = 512 << 10
	)
	ctx := context.Background()
	redis := testproc.StartRedis(b)
	srv := testproc.StartS3(b, testproc.S3Options{Buckets: []string{"media"}})
	store, err := objstore.New(ctx, objstore.Config{Endpoint: srv.URL(), PathStyle: true, AccessKeyID: srv.AccessKey(), SecretAccessKey: srv.SecretKey()})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	const bucketRoot = "s3://media/bench/"
	workertest.Start(b, workertest.Config{RedisURL: redis.URL(), MediaRoots: []string{dir, bucketRoot}, ObjectStore: store, Concurrency: 8})
	roots, err := mediaroot.New(dir, bucketRoot)
	if err != nil {
		b.Fatal(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: redis.URL(), Roots: roots.WithStore(store)})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	seed := uint64(1)
	for _, source := range []string{"local", "object"} {
		b.Run(source, func(b *testing.B) {
			b.SetBytes(files * size)
			for range b.N {
				b.StopTimer()
				paths := make([]string, files)
				for i := range paths {
					seed++
					data, err := mediagen.JPEGOfSize(size, seed)
					if err != nil {
						b.Fatal(err)
					}
					name := fmt.Sprintf("p%d.jpg", seed)
					if source == "local" {
						paths[i] = filepath.Join(dir, name)
						err = os.WriteFile(paths[i], data, 0o644)
					} else {
						paths[i] = bucketRoot + name
						err = store.Put(ctx, "media", "bench/"+name, bytes.NewReader(data), size)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				ids := make([]string, files)
				for i, p := range paths {
					enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: p})
					if err != nil {
						b.Fatal(err)
					}
					ids[i] = enq.ID
				}
				for _, id := range ids {
					st, err := client.Wait(ctx, id)
					if err != nil || st.State != tasks.StateCompleted {
						b.Fatalf("task %s: %v %s", id, err, st.LastError)
					}
				}
			}
			b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
