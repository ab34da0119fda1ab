package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// benchFiles is the number of files of the import benchmarks.
const benchFiles = 10_000

// The benchmarks share one Redis and one directory of files, so that both
// measure the same server in the same run; the examples use that Redis too
// (they cannot take a *testing.T to start their own).
var (
	sharedRedisURL string
	benchDir       string
	benchSetup     sync.Once
	benchErr       error
)

func TestMain(m *testing.M) {
	code := testproc.RunWithRedis(m, &sharedRedisURL)
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// makeBenchFiles writes benchFiles distinct, valid PNG images of ~100 bytes
// into 100 subdirectories.
func makeBenchFiles() (string, error) {
	dir, err := os.MkdirTemp("", "importer-bench-")
	if err != nil {
		return "", err
	}
	for i := range benchFiles {
		data, err := mediagen.Encode("png", mediagen.Noise(4, 4, uint64(i)))
		if err != nil {
			return dir, err
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return dir, err
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.png", i)), data, 0o644); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

func benchPrepare(b *testing.B) (*tasks.Client, *redis.Client) {
	b.Helper()
	benchSetup.Do(func() { benchDir, benchErr = makeBenchFiles() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	c, err := tasks.NewClient(tasks.ClientConfig{RedisURL: sharedRedisURL, MediaRoots: []string{benchDir}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	opt, err := redis.ParseURL(sharedRedisURL)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	b.Cleanup(func() { rdb.Close() })
	return c, rdb
}

func flush(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImport10k imports 10,000 small files: walk, pre-count, open
// inside the media root, validate, hash and enqueue, as "enqueue DIR" does.
func BenchmarkImport10k(b *testing.B) {
	client, rdb := benchPrepare(b)
	for b.Loop() {
		b.StopTimer()
		flush(b, rdb)
		b.StartTimer()
		sum, err := importer.Run(context.Background(), importer.Config{Client: client, Paths: []string{benchDir}})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Queued != benchFiles {
			b.Fatalf("queued %d files, want %d (%+v)", sum.Queued, benchFiles, sum)
		}
	}
	b.ReportMetric(float64(benchFiles*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkPlainEnqueue10k is the baseline: a plain loop of
// asynq.Client.Enqueue calls for the same 10,000 tasks (payloads computed
// beforehand, so only the enqueueing is measured).
func BenchmarkPlainEnqueue10k(b *testing.B) {
	client, rdb := benchPrepare(b)
	payloads := make([]tasks.UploadPayload, 0, benchFiles)
	sum, err := importer.Run(context.Background(), importer.Config{Client: client, Paths: []string{benchDir}, DryRun: true,
		OnRow: func(r importer.Row) {
			payloads = append(payloads, tasks.UploadPayload{Path: r.Path, ImageName: r.ImageName, ImageType: r.ImageType, SHA256: r.SHA256, Size: r.Size})
		}})
	if err != nil || sum.WouldQueue != benchFiles {
		b.Fatalf("collecting payloads: %+v, %v", sum, err)
	}
	ac := asynq.NewClient(asynq.RedisClientOpt{Addr: rdb.Options().Addr})
	defer ac.Close()
	for b.Loop() {
		b.StopTimer()
		flush(b, rdb)
		b.StartTimer()
		for _, p := range payloads {
			task, err := tasks.NewUploadTask(p)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ac.Enqueue(task); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(benchFiles*b.N)/b.Elapsed().Seconds(), "files/s")
}
