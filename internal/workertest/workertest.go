package workertest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker"
)

// Config says what the worker serves. Zero values take the defaults.
type Config struct {
	// RedisURL is the Redis of the queue, in any form the worker's
	// REDIS_URL accepts (redis-cluster:// included). Required.
	RedisURL string
	// MediaRoots are the directories the worker may read, and
	// s3://bucket/prefix/ roots (with ObjectStore). Required.
	MediaRoots []string
	// ObjectStore reads the objects of bucket roots. Default: none.
	ObjectStore *objstore.Store
	// Queue is the queue served. Default tasks.QueueDefault.
	Queue string
	// Concurrency is the number of uploads at a time. Default 4.
	Concurrency int
	// Convert turns conversion on (worker.Config.Convert); it needs the
	// vips build tag. Default nil: off.
	Convert *convert.Config
	// Logger receives the worker's and the emulator's records. Default:
	// discard.
	Logger *slog.Logger
	// Retry is the worker's retry policy (e.g. a short BaseDelay without
	// jitter, for a test that watches a job retry). Default: the worker's.
	Retry tasks.RetryPolicy
	// DelayedTaskCheckInterval is how often due retries go back to their
	// queue. Default: the worker's (5s).
	DelayedTaskCheckInterval time.Duration
	// MerchantKeys is the merchant key file's keyring
	// (worker.Config.MerchantKeys). Default nil: no merchant jobs.
	MerchantKeys *merchant.Keyring
	// Auth sets the emulator's merchant authorizations (token lifetimes,
	// grace after a refresh). Default: the emulator's.
	Auth alipaytest.AuthConfig
}

// Worker is a running worker and its gateway emulator.
type Worker struct {
	// Gateway is the emulator the worker uploads to.
	Gateway *alipaytest.Server
	w       *worker.Worker
	done    chan error
	stop    sync.Once
}

// Start runs a worker until the test ends; failures end the test.
func Start(tb testing.TB, cfg Config) *Worker {
	tb.Helper()
	w, err := New(cfg)
	if err != nil {
		tb.Fatalf("workertest: %v", err)
	}
	tb.Cleanup(w.Stop)
	return w
}

// New runs a worker until Stop, for a TestMain or an example.
func New(cfg Config) (*Worker, error) {
	if cfg.Queue == "" {
		cfg.Queue = tasks.QueueDefault
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	redis, err := redisurl.Parse(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("workertest: %w", err)
	}
	keys := alipaytest.TestKeys()
	gw, err := alipaytest.NewServer(alipaytest.Config{
		AppID:        alipaytest.TestAppID,
		AppPublicKey: &keys.App.PublicKey,
		GatewayKey:   keys.Gateway,
		Logger:       cfg.Logger,
		Auth:         cfg.Auth,
	})
	if err != nil {
		return nil, err
	}
	w, err := worker.New(context.Background(), worker.Config{
		Redis:       redis,
		GatewayURL:  gw.URL,
		AppID:       alipaytest.TestAppID,
		Keys:        upload.Keys{Signer: sign.RSA2{Key: keys.App}, AlipayPublicKey: gw.PublicKey()},
		HTTPClient:  gw.Client(),
		MediaRoots:  cfg.MediaRoots,
		ObjectStore: cfg.ObjectStore,
		Queues:      map[string]int{cfg.Queue: 1},
		Concurrency: cfg.Concurrency,
		Convert:     cfg.Convert,
		Retry:       cfg.Retry,

		DelayedTaskCheckInterval: cfg.DelayedTaskCheckInterval,
		MerchantKeys:             cfg.MerchantKeys,
	}, cfg.Logger)
	if err != nil {
		gw.Close()
		return nil, err
	}
	tw := &Worker{Gateway: gw, w: w, done: make(chan error, 1)}
	go func() { tw.done <- w.Run(context.Background()) }()
	return tw, nil
}

// Stop shuts the worker (as SIGTERM does: in-flight uploads finish) and
// the emulator down. A test may stop a worker before its cleanup does:
// calls after the first return at once.
func (w *Worker) Stop() {
	w.stop.Do(func() {
		_ = w.w.Close() // stops Run and waits for it
		<-w.done
		w.Gateway.Close()
	})
}

// WaitWorkers waits until c lists n running workers ([tasks.Client.Workers]):
// a worker announces itself once its Run has started, a moment after
// [Start] returns. It fails the test after 10 seconds.
func WaitWorkers(tb testing.TB, c *tasks.Client, n int) {
	tb.Helper()
	var list []tasks.WorkerInfo
	var err error
	if !testproc.Poll(context.Background(), 10*time.Second, 10*time.Millisecond, func() bool {
		list, err = c.Workers(context.Background())
		return err == nil && len(list) == n
	}) {
		tb.Fatalf("workertest: %d workers announced (%v), want %d", len(list), err, n)
	}
}
