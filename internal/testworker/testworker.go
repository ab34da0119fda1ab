package testworker

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Config says what the worker serves. Zero values take the defaults.
type Config struct {
	// RedisURL is the Redis of the queue, in any form the worker's
	// REDIS_URL accepts (redis-cluster:// included). Required.
	RedisURL string
	// MediaRoots are the directories the worker may read. Required.
	MediaRoots []string
	// Queue is the queue served. Default tasks.QueueDefault.
	Queue string
	// Concurrency is the number of uploads at a time. Default 4.
	Concurrency int
	// Logger receives the worker's and the emulator's records. Default:
	// discard.
	Logger *slog.Logger
}

// Worker is a running worker and its gateway emulator.
type Worker struct {
	// Gateway is the emulator the worker uploads to.
	Gateway *alipaytest.Server
	srv     *asynq.Server
}

// Start runs a worker until the test ends; failures end the test.
func Start(tb testing.TB, cfg Config) *Worker {
	tb.Helper()
	w, err := New(cfg)
	if err != nil {
		tb.Fatalf("testworker: %v", err)
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
	keys := alipaytest.TestKeys()
	gw, err := alipaytest.NewServer(alipaytest.Config{
		AppID:        alipaytest.TestAppID,
		AppPublicKey: &keys.App.PublicKey,
		GatewayKey:   keys.Gateway,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	up, err := upload.New(upload.Config{
		GatewayURL:      gw.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: gw.PublicKey(),
		HTTPClient:      gw.Client(),
		Timeout:         30 * time.Second,
	})
	if err != nil {
		gw.Close()
		return nil, err
	}
	roots, err := mediaroot.New(cfg.MediaRoots...)
	if err != nil {
		gw.Close()
		return nil, err
	}
	val, err := validate.New(validate.Config{})
	if err != nil {
		gw.Close()
		return nil, err
	}
	h, err := tasks.NewHandler(tasks.HandlerConfig{Uploader: up, Validator: val, Roots: roots, Logger: cfg.Logger})
	if err != nil {
		gw.Close()
		return nil, err
	}
	redis, err := redisurl.Parse(cfg.RedisURL)
	if err != nil {
		gw.Close()
		return nil, fmt.Errorf("testworker: redis url: %w", err)
	}
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeUpload, h)
	srv := asynq.NewServer(redis, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues:      map[string]int{cfg.Queue: 1},
		IsFailure:   tasks.IsFailure,
		LogLevel:    asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		gw.Close()
		return nil, fmt.Errorf("testworker: start asynq server: %w", err)
	}
	return &Worker{Gateway: gw, srv: srv}, nil
}

// Stop shuts the worker and the emulator down.
func (w *Worker) Stop() {
	w.srv.Shutdown()
	w.Gateway.Close()
}
