package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
	"github.com/storemedia/alipay-media-worker/validate"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// Worker is an assembled upload worker: an asynq server whose
// [tasks.Handler] runs [tasks.TypeUpload] jobs, and its HTTP listener when
// Config.HTTP is set. Build it with [New], run it with [Worker.Run], and
// release it with [Worker.Close].
type Worker struct {
	cfg Config
	log *slog.Logger
	rdb redis.UniversalClient
	mux *asynq.ServeMux
	// watch notices a Redis that lost its data (see tasks.RedisWatch).
	watch *tasks.RedisWatch
	// ledger keeps uploads from being made twice across a Redis outage
	// (see tasks.Ledger).
	ledger *tasks.Ledger
	http   *dashboard.Server  // nil without Config.HTTP
	conv   *convert.Converter // nil without Config.Convert
	// rateLimit is the fleet's rate limit; nil without Config.RateLimit.
	rateLimit *ratelimit.Limiter
	// merchants keeps merchants' tokens; nil without Config.MerchantKeys.
	merchants *merchant.Store
	// roots are the media roots as the worker announces them in Redis
	// ([tasks.AnnounceWorker]).
	roots []string

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops a running Run
	stopped chan struct{}      // closed when that Run returns
}

// errClosed is Run's error after Close.
var errClosed = errors.New("worker: closed")

// New checks cfg, opens the media roots, pings Redis (ctx bounds the ping)
// and assembles the worker: the upload client, the validator, the task
// handler, the asynq server's configuration and, with cfg.HTTP, the
// dashboard with the upload metrics. It is the only assembly of the
// worker: production, tests, the demo and the benchmarks all run what it
// builds.
//
// Every problem found is reported at once in a [*StartupError]; none
// carries a key, a token or a Redis password. A nil logger discards.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Worker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	problems := cfg.check()
	if cfg.Redis == nil {
		return nil, &StartupError{Problems: problems}
	}
	rdb, ok := redisurl.NewClient(cfg.Redis)
	if !ok {
		return nil, &StartupError{Problems: append(problems, &ConfigError{Field: "Redis", Err: fmt.Errorf("unsupported connection options %T", cfg.Redis)})}
	}
	w := &Worker{cfg: cfg, log: logger, rdb: rdb, watch: tasks.NewRedisWatch(rdb, logger)}
	if err := w.assemble(ctx, problems); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return w, nil
}

// assemble builds the worker's parts on w.rdb, adding what it finds to
// problems.
func (w *Worker) assemble(ctx context.Context, problems []error) error {
	cfg := w.cfg
	fail := func(field string, err error) { problems = append(problems, &ConfigError{Field: field, Err: err}) }
	val, err := validate.New(validate.Config{Allowed: cfg.AllowedTypes, MaxSize: cfg.MaxFileSize})
	if err != nil && cfg.MaxFileSize >= 0 { // a negative size is reported already
		fail("AllowedTypes", err)
	}
	roots, err := mediaroot.New(cfg.MediaRoots...)
	switch {
	case err != nil && len(cfg.MediaRoots) > 0:
		fail("MediaRoots", err)
	case err == nil:
		// A root the worker cannot list or open files in would pass
		// every other check and then archive each job as "permission".
		if err := roots.CheckAccess(); err != nil {
			fail("MediaRoots", err)
		}
		if roots.HasBuckets() {
			if cfg.ObjectStore == nil {
				fail("ObjectStore", fmt.Errorf("required: MediaRoots names buckets (%s)", strings.Join(roots.Buckets(), ", ")))
			} else {
				roots = roots.WithStore(cfg.ObjectStore)
				for _, b := range roots.Buckets() {
					bucket, prefix, _ := mediaroot.ParseObjectURL(b)
					if err := cfg.ObjectStore.CheckAccess(ctx, bucket, prefix); err != nil {
						fail("MediaRoots", fmt.Errorf("media root %s cannot be listed: %w", b, err))
					}
				}
			}
		}
	}
	if roots != nil {
		w.roots = roots.All()
	}
	if err := w.ping(ctx); err != nil {
		fail("Redis", err)
	}

	var uploads *metrics.Uploads
	observers := observers{}
	var limiter upload.Limiter         // nil interface without a limit
	var rateMetrics *metrics.RateLimit // nil without a limit or without HTTP
	if cfg.RateLimit != nil {
		rc := *cfg.RateLimit
		rc.Redis = w.rdb
		rc.Key = RateLimitKey(cfg.AppID)
		rc.Logger = w.log.With("component", "ratelimit")
		if cfg.HTTP != nil {
			rateMetrics = metrics.NewRateLimit()
			rc.Observer = rateMetrics
		}
		if l, err := ratelimit.New(rc); err != nil {
			fail("RateLimit", err)
		} else {
			w.rateLimit, limiter = l, l
		}
	}
	if cfg.HTTP != nil {
		uploads = metrics.NewUploads()
		observers = append(observers, uploads)
		hc := *cfg.HTTP
		hc.Redis = w.rdb
		if hc.Logger == nil {
			hc.Logger = w.log.With("component", "http")
		}
		lost := metrics.NewRedisDataLost(w.watch.Losses)
		hc.Collectors = append([]prometheus.Collector{uploads, lost}, hc.Collectors...)
		if rateMetrics != nil {
			hc.Collectors = append(hc.Collectors, rateMetrics)
		}
		if cfg.MerchantKeys != nil {
			// w.merchants is built below, before the server runs.
			stats := func(ctx context.Context) (merchant.Stats, error) { return w.merchants.Stats(ctx) }
			hc.Collectors = append(hc.Collectors, metrics.NewMerchants(stats, w.log.With("component", "metrics")))
		}
		hc.Checks = append([]dashboard.Check{{Name: "gateway", Func: w.gatewayConfigured}}, hc.Checks...)
		if w.http, err = dashboard.New(hc); err != nil {
			fail("HTTP", err)
		}
	}
	if cfg.Observer != nil {
		observers = append(observers, cfg.Observer)
	}
	if cfg.Convert != nil && !convert.Available() {
		fail("Convert", fmt.Errorf("%w; build the worker with `go build -tags vips ./cmd/worker` "+
			"(libvips-dev 8.14 with HEIF and WebP at build time, e.g. Debian's; the libvips library at run time)", convert.ErrUnavailable))
	}
	if len(problems) > 0 {
		return &StartupError{Problems: problems}
	}
	if cfg.Convert != nil {
		cc := *cfg.Convert
		if cc.MaxBytes == 0 {
			cc.MaxBytes = val.MaxSize()
		}
		if w.conv, err = convert.New(cc); err != nil {
			return &StartupError{Problems: []error{&ConfigError{Field: "Convert", Err: err}}}
		}
	}

	ucfg := upload.Config{
		Protocol:    cfg.Protocol,
		GatewayURL:  cfg.GatewayURL,
		V3Endpoint:  cfg.V3Endpoint,
		AppID:       cfg.AppID,
		HTTPClient:  cfg.HTTPClient,
		Timeout:     cfg.UploadTimeout,
		MaxFileSize: cfg.MaxFileSize,
		// One kept-alive connection per concurrent upload, so none is
		// closed and redialled between tasks (default client only).
		MaxIdleConnsPerHost: max(cfg.Concurrency, upload.DefaultMaxIdleConnsPerHost),
		Logger:              w.log.With("component", "upload"),
		Limiter:             limiter,
	}
	cfg.Keys.Apply(&ucfg)
	client, err := upload.New(ucfg)
	if err != nil {
		w.closeConverter()
		return &StartupError{Problems: []error{&ConfigError{Field: "Keys", Err: err}}}
	}
	w.ledger, err = tasks.NewLedger(tasks.LedgerConfig{Redis: w.rdb, Logger: w.log.With("part", "tasks")})
	if err != nil {
		w.closeConverter()
		return fmt.Errorf("worker: %w", err)
	}
	hc := tasks.HandlerConfig{
		Ledger:    w.ledger,
		Uploader:  client,
		Validator: val,
		Roots:     roots,
		Logger:    w.log.With("part", "tasks"),
		Observer:  observers,
	}
	if w.conv != nil {
		hc.Converter = w.conv
	}
	if cfg.MerchantKeys != nil {
		w.merchants, err = merchant.NewStore(merchant.Config{
			Redis: w.rdb, Keyring: cfg.MerchantKeys, Client: client,
			RefreshBefore: cfg.MerchantRefreshBefore, Logger: w.log.With("component", "merchant"),
		})
		if err != nil {
			w.closeConverter()
			return &StartupError{Problems: []error{&ConfigError{Field: "MerchantKeys", Err: err}}}
		}
		hc.Tokens, hc.Sealer = w.merchants, tasks.KeyringSealer(cfg.MerchantKeys)
	}
	h, err := tasks.NewHandler(hc)
	if err != nil {
		w.closeConverter()
		return fmt.Errorf("worker: %w", err)
	}
	w.mux = asynq.NewServeMux()
	// Waiters hear of every ended attempt at once instead of at their
	// next poll.
	if !cfg.NoNotices {
		w.mux.Use(tasks.NotifyEnded(w.rdb, w.log.With("part", "tasks")))
	}
	w.mux.Handle(tasks.TypeUpload, h)
	return nil
}

// RateLimitKey is the Redis key of the fleet's rate limit for appID
// (Config.RateLimit): one limit per app_id, as Alipay counts calls.
func RateLimitKey(appID string) string { return tasks.KeyPrefix + "rate:" + appID }

// closeConverter removes the converter's scratch directory, if any.
func (w *Worker) closeConverter() error {
	if w.conv == nil {
		return nil
	}
	return w.conv.Close()
}

// observers tells every observer in turn.
type observers []tasks.Observer

func (o observers) Observe(a tasks.Attempt) {
	for _, x := range o {
		x.Observe(a)
	}
}

// gatewayConfigured is the readiness check of the gateway settings: an
// app_id and an absolute http(s) gateway URL. Keys were checked by New.
func (w *Worker) gatewayConfigured(context.Context) error {
	if w.cfg.AppID == "" {
		return errors.New("no app_id configured")
	}
	if !isHTTPURL(w.cfg.GatewayURL) {
		return errors.New("the gateway URL is not an http(s) URL")
	}
	return nil
}

// asynqConfig is the asynq server configuration of the worker.
func (w *Worker) asynqConfig() asynq.Config {
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
		LogLevel:                 asynqLevel(w.log),
		HealthCheckFunc: func(err error) {
			if err != nil {
				w.log.Error("Redis health check failed", "redis", redisurl.Describe(w.cfg.Redis), "err", err)
			}
		},
	}
}

// Listen binds the HTTP listener's address, so that a taken address is
// known before [Worker.Run] starts taking tasks; the error then matches
// syscall.EADDRINUSE. Run calls it if needed; without Config.HTTP it does
// nothing.
func (w *Worker) Listen() error {
	if w.http == nil {
		return nil
	}
	if err := w.http.Listen(); err != nil {
		return fmt.Errorf("worker: HTTP address %s: %w", w.http.Addr(), err)
	}
	return nil
}

// URL is the dashboard's address, with the real port once listening
// (e.g. http://127.0.0.1:8090/monitoring/); empty without Config.HTTP.
func (w *Worker) URL() string {
	if w.http == nil {
		return ""
	}
	return w.http.URL()
}

// Run processes tasks, and serves HTTP with Config.HTTP, until ctx ends.
// It then stops taking tasks, gives in-flight uploads ShutdownTimeout to
// finish, puts the unfinished ones back in their queue, and returns nil.
// It returns an error if the server cannot start, or if the HTTP listener
// fails (the worker is then stopped too). Run runs once; [Worker.Close]
// releases the worker afterwards.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.closed || w.stopped != nil {
		w.mu.Unlock()
		return errClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cancel, w.stopped = cancel, make(chan struct{})
	defer close(w.stopped)
	w.mu.Unlock()

	if err := w.Listen(); err != nil {
		return err
	}
	// The first heartbeat comes before the first task, so that no claim
	// names a process without one; the ledger's loop runs until the
	// asynq server has stopped, and stores what Redis could not take.
	if err := w.ledger.Beat(ctx); err != nil {
		w.log.Warn("first heartbeat failed; the ledger tries again every second", "err", err)
	}
	ledgerCtx, stopLedger := context.WithCancel(context.WithoutCancel(ctx))
	ledgerDone := make(chan struct{})
	go func() {
		defer close(ledgerDone)
		w.ledger.Run(ledgerCtx)
	}()
	defer func() { stopLedger(); <-ledgerDone }()
	srv := asynq.NewServerFromRedisClient(w.rdb, w.asynqConfig())
	if err := srv.Start(w.mux); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	queues := make([]any, 0, 2*len(w.cfg.Queues))
	names := make([]string, 0, len(w.cfg.Queues))
	for q, weight := range w.cfg.Queues {
		queues = append(queues, q, weight)
		names = append(names, q)
	}
	slices.Sort(names)
	w.log.Info("worker started",
		"redis", redisurl.Describe(w.cfg.Redis),
		"gateway", redisurl.Redact(w.cfg.GatewayURL),
		"api", string(w.cfg.Protocol),
		"concurrency", w.cfg.Concurrency,
		slog.Group("queues", queues...),
		"media_roots", w.cfg.MediaRoots,
		"convert", w.conv != nil,
		"rate_limit", w.describeRateLimit(),
	)
	// Until Run returns: say in Redis which queues and media roots this
	// process serves (importers warn about files no running worker would
	// read), and watch that Redis keeps its data.
	var bg sync.WaitGroup
	bg.Go(func() { tasks.AnnounceWorker(ctx, w.rdb, tasks.WorkerInfo{Queues: names, MediaRoots: w.roots}, w.log) })
	bg.Go(func() { w.watchRedis(ctx) })
	defer func() { cancel(); bg.Wait() }()
	httpErr := make(chan error, 1)
	if w.http != nil {
		go func() {
			err := w.http.Run(ctx)
			if err != nil {
				w.log.Error("HTTP server failed; stopping the worker", "err", err.Error())
			}
			cancel()
			httpErr <- err
		}()
	} else {
		httpErr <- nil
	}
	<-ctx.Done()
	w.log.Info("shutting down: waiting for in-flight uploads", "timeout", w.cfg.ShutdownTimeout)
	srv.Shutdown()
	w.log.Info("worker stopped")
	if err := <-httpErr; err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// describeRateLimit is the fleet rate limit for the start-up log line.
func (w *Worker) describeRateLimit() string {
	if w.rateLimit == nil {
		return "off"
	}
	return w.rateLimit.String()
}

// watchRedis warns about Redis settings that can lose tasks, then checks
// that Redis keeps its data until ctx ends (never stopping the worker:
// the demo and the tests run Redis without persistence on purpose).
func (w *Worker) watchRedis(ctx context.Context) {
	warnings, err := w.watch.Settings(ctx)
	for _, m := range warnings {
		w.log.Warn(m, "redis", redisurl.Describe(w.cfg.Redis))
	}
	if err != nil && ctx.Err() == nil {
		w.log.Info("could not read the Redis settings (CONFIG may be disabled); make sure Redis persists its data and uses maxmemory-policy noeviction", "err", err)
	}
	w.watch.Run(ctx, tasks.DefaultWatchInterval)
}

// Close releases the HTTP listener and the Redis client. If Run is
// running, Close first stops it, as cancelling its context does, and waits
// for it to return.
func (w *Worker) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	cancel, stopped := w.cancel, w.stopped
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-stopped
	}
	var errs []error
	if w.http != nil {
		errs = append(errs, w.http.Close())
	}
	errs = append(errs, w.closeConverter(), w.rdb.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("worker: close: %w", err)
	}
	return nil
}

// Merchants is the merchant store the worker reads tokens from, nil
// without Config.MerchantKeys.
func (w *Worker) Merchants() *merchant.Store { return w.merchants }
