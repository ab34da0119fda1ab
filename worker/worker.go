package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Worker is an assembled upload worker: an asynq server whose
// [tasks.Handler] runs [tasks.TypeUpload] jobs. Build it with [New], run it
// with [Worker.Run].
type Worker struct {
	cfg     Config
	log     *slog.Logger
	redis   asynq.RedisConnOpt
	handler *tasks.Handler
	mux     *asynq.ServeMux
}

// New checks cfg, loads the keys, opens the media roots, pings Redis and
// assembles the worker. Every problem found is reported, each naming the
// environment variable to fix; no message contains a key, a token or the
// Redis password. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Worker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("worker: configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	redisOpt, err := parseRedisURL(cfg.RedisURL)
	if err != nil { // checked above; kept for safety
		return nil, fmt.Errorf("worker: REDIS_URL: %w", err)
	}

	var errs []error
	keys, keyErrs := loadKeys(cfg)
	errs = append(errs, keyErrs...)
	val, err := validate.New(validate.Config{Allowed: cfg.AllowedTypes, MaxSize: cfg.MaxFileSize})
	if err != nil {
		errs = append(errs, fmt.Errorf("UPLOAD_ALLOWED_TYPES / UPLOAD_MAX_BYTES: %w", err))
	}
	roots, err := mediaroot.New(cfg.MediaRoots...)
	if err != nil {
		errs = append(errs, fmt.Errorf("MEDIA_ROOTS: %w", err))
	}
	if err := pingRedis(context.Background(), redisOpt, cfg.RedisPingTimeout); err != nil {
		errs = append(errs, fmt.Errorf("REDIS_URL: Redis at %s is unreachable: %w", redactedURL(cfg.RedisURL), err))
	}
	if len(errs) > 0 {
		return nil, &StartupError{Problems: errs}
	}

	ucfg := upload.Config{
		GatewayURL:  cfg.GatewayURL,
		AppID:       cfg.AppID,
		Timeout:     cfg.UploadTimeout,
		MaxFileSize: cfg.MaxFileSize,
		// One kept-alive connection per concurrent upload, so none is
		// closed and redialled between tasks.
		MaxIdleConnsPerHost: max(cfg.Concurrency, upload.DefaultMaxIdleConnsPerHost),
		Logger:              logger.With("component", "upload"),
	}
	keys.Apply(&ucfg)
	client, err := upload.New(ucfg)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	h, err := tasks.NewHandler(tasks.HandlerConfig{
		Uploader:  client,
		Validator: val,
		Roots:     roots,
		Logger:    logger.With("component", "tasks"),
		Observer:  cfg.Observer,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeUpload, h)
	return &Worker{cfg: cfg, log: logger, redis: redisOpt, handler: h, mux: mux}, nil
}

// loadKeys reads the key files of the configured mode. In public key mode
// both files are checked, so both problems are reported at once.
func loadKeys(cfg Config) (upload.Keys, []error) {
	priv, err := sign.LoadPrivateKeyFile(cfg.PrivateKeyFile)
	if err != nil {
		err = fmt.Errorf("ALIPAY_PRIVATE_KEY_FILE: %w", err)
	}
	if cfg.AppCertFile == "" {
		pub, perr := sign.LoadPublicKeyFile(cfg.AlipayPublicKeyFile)
		if perr != nil {
			perr = fmt.Errorf("ALIPAY_PUBLIC_KEY_FILE: %w", perr)
		}
		if errs := nonNil(err, perr); len(errs) > 0 {
			return upload.Keys{}, errs
		}
		return upload.Keys{Signer: sign.RSA2{Key: priv}, AlipayPublicKey: pub}, nil
	}
	errs := nonNil(err)
	for _, f := range []struct{ name, path string }{
		{"ALIPAY_APP_CERT_FILE", cfg.AppCertFile},
		{"ALIPAY_PUBLIC_CERT_FILE", cfg.AlipayPublicCertFile},
		{"ALIPAY_ROOT_CERT_FILE", cfg.AlipayRootCertFile},
	} {
		if _, err := os.ReadFile(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if len(errs) > 0 {
		return upload.Keys{}, errs
	}
	keys, err := upload.CertKeysFromFiles(cfg.PrivateKeyFile, cfg.AppCertFile, cfg.AlipayPublicCertFile, cfg.AlipayRootCertFile)
	if err != nil {
		return upload.Keys{}, []error{fmt.Errorf("ALIPAY_*_CERT_FILE: %w", err)}
	}
	return keys, nil
}

func nonNil(errs ...error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// StartupError lists every problem [New] found. Each problem names the
// environment variable to fix.
type StartupError struct {
	Problems []error
}

func (e *StartupError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "worker: start-up checks failed: " + strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *StartupError) Unwrap() []error { return e.Problems }

// RedisConnOpt returns the Redis connection options, for an
// asynq.Inspector, an asynq.Client or a dashboard sharing the worker's
// Redis.
func (w *Worker) RedisConnOpt() asynq.RedisConnOpt { return w.redis }

// Config returns the configuration in use, defaults applied.
func (w *Worker) Config() Config { return w.cfg }

// Handler returns the upload task handler.
func (w *Worker) Handler() *tasks.Handler { return w.handler }

// Ping checks that Redis answers within the configured ping timeout; a
// readiness probe can call it.
func (w *Worker) Ping(ctx context.Context) error {
	if err := pingRedis(ctx, w.redis, w.cfg.RedisPingTimeout); err != nil {
		return fmt.Errorf("worker: Redis at %s: %w", redactedURL(w.cfg.RedisURL), err)
	}
	return nil
}

// asynqConfig is the asynq server configuration of the worker.
func (w *Worker) asynqConfig() asynq.Config {
	lvl, _ := command.ParseLevel(w.cfg.LogLevel)
	return asynq.Config{
		Concurrency:    w.cfg.Concurrency,
		Queues:         w.cfg.Queues,
		StrictPriority: w.cfg.StrictPriority,
		// Handlers keep running on shutdown until ShutdownTimeout: their
		// context is not the one Run was given.
		BaseContext:              context.Background,
		RetryDelayFunc:           w.cfg.Retry.Delay,
		IsFailure:                tasks.IsFailure,
		ShutdownTimeout:          w.cfg.ShutdownTimeout,
		DelayedTaskCheckInterval: w.cfg.DelayedTaskCheckInterval,
		TaskCheckInterval:        w.cfg.TaskCheckInterval,
		Logger:                   asynqLogger{w.log.With("component", "asynq")},
		LogLevel:                 asynqLevel(lvl),
		HealthCheckFunc: func(err error) {
			if err != nil {
				w.log.Error("Redis health check failed", "redis", redactedURL(w.cfg.RedisURL), "err", err)
			}
		},
	}
}

// Run processes tasks until ctx is cancelled (cmd/worker cancels it on
// SIGTERM or SIGINT). It then stops taking tasks, gives in-flight uploads
// ShutdownTimeout to finish, puts the unfinished ones back in their queue,
// and returns nil. It returns an error if the server cannot start.
func (w *Worker) Run(ctx context.Context) error {
	srv := asynq.NewServer(w.redis, w.asynqConfig())
	if err := srv.Start(w.mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	queues := make([]any, 0, 2*len(w.cfg.Queues))
	for q, weight := range w.cfg.Queues {
		queues = append(queues, q, weight)
	}
	w.log.Info("worker started",
		"redis", redactedURL(w.cfg.RedisURL),
		"gateway", redactedURL(w.cfg.GatewayURL),
		"concurrency", w.cfg.Concurrency,
		slog.Group("queues", queues...),
		"media_roots", w.cfg.MediaRoots,
	)
	<-ctx.Done()
	w.log.Info("shutting down: waiting for in-flight uploads", "timeout", w.cfg.ShutdownTimeout)
	srv.Shutdown()
	w.log.Info("worker stopped")
	return nil
}
