package demo

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// Defaults of [Config].
const (
	// DefaultRedisURL is database 5 of the Redis on loopback, so the demo
	// keeps away from database 0.
	DefaultRedisURL = "redis://127.0.0.1:6379/5"
	// DefaultDir holds the demo's keys, media, manifest and log.
	DefaultDir = ".demo"
	// DefaultHTTPAddr is where the dashboard is served; when it is taken
	// the demo picks a free port instead.
	DefaultHTTPAddr = dashboard.DefaultAddr
	// DefaultQueue is the demo's own queue, cleared when the demo starts.
	DefaultQueue = "demo-uploads"
	// EnvRedisURL overrides DefaultRedisURL in cmd/demo.
	EnvRedisURL = "DEMO_REDIS_URL"
)

// Demo identities. The tokens are made up: the emulator accepts
// AcceptedMerchantToken and refuses RefusedMerchantToken with 20001.
const (
	AppID                 = "2021000000000555"
	AcceptedMerchantToken = "202611BBdemoMerchantAccepted01"
	RefusedMerchantToken  = "202611BBdemoMerchantExpired99"
)

// ErrUnexpected reports that a sample file did not end as [Samples] says.
var ErrUnexpected = errors.New("demo: unexpected result")

// Config configures [Run]. Zero values take the documented defaults.
type Config struct {
	// RedisURL is the Redis to use. Default [DefaultRedisURL].
	RedisURL string
	// StartRedis, when nothing answers at RedisURL's loopback address,
	// starts a private, in-memory redis-server there (working directory
	// Dir/redis, stopped when Run returns; REDIS_SERVER names another
	// binary than redis-server on PATH). cmd/demo sets it.
	StartRedis bool
	// Dir holds keys, media, the manifest and the log. Default
	// [DefaultDir].
	Dir string
	// HTTPAddr is the dashboard's address. Default [DefaultHTTPAddr]; if
	// it is taken, a free loopback port is used.
	HTTPAddr string
	// Queue is the demo's queue. Default [DefaultQueue].
	Queue string
	// Once returns after printing the results instead of serving until ctx
	// is done.
	Once bool
	// Out receives the progress, the result table and the URLs. Default
	// os.Stdout.
	Out io.Writer
	// Progress is the import's progress display, the enqueue command's.
	// Default cli.ProgressPlain.
	Progress cli.ProgressMode
	// Logger receives the worker's and the emulator's logs. Default: a
	// text log in Dir/demo.log.
	Logger *slog.Logger
	// OnReady, if set, is called once the results are in and the services
	// are still running.
	OnReady func(Report)
}

// Report is what a demo run produced.
type Report struct {
	// Rows are the importer's rows, one per sample file, in [Samples]
	// order (Path relative to the media root).
	Rows []importer.Row
	// Problems lists every result that differs from [Samples].
	Problems []string
	// DashboardURL, MetricsURL and GatewayURL locate the running services.
	DashboardURL, MetricsURL, GatewayURL string
	// MediaDir is the media root the samples were written to.
	MediaDir string
}

func (c *Config) defaults() {
	c.RedisURL = cmp.Or(c.RedisURL, DefaultRedisURL)
	c.Dir = cmp.Or(c.Dir, DefaultDir)
	c.HTTPAddr = cmp.Or(c.HTTPAddr, DefaultHTTPAddr)
	c.Queue = cmp.Or(c.Queue, DefaultQueue)
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Progress == cli.ProgressNone {
		c.Progress = cli.ProgressPlain
	}
}

// Run runs the demo; see the package documentation. It returns when ctx is
// done (or, with Once, after the results), having stopped everything it
// started. The error wraps [ErrUnexpected] when a sample file did not end
// as expected.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.defaults()
	var rep Report
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	out := cfg.Out
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }

	logger := cfg.Logger
	if logger == nil {
		f, err := os.Create(filepath.Join(dir, "demo.log"))
		if err != nil {
			return rep, fmt.Errorf("demo: log: %w", err)
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, nil))
		say("logs: %s", f.Name())
	}

	// Redis.
	redisOpt, err := parseRedis(cfg.RedisURL)
	if err != nil {
		return rep, err
	}
	started, err := ensureRedis(cfg, filepath.Join(dir, "redis"), redisOpt, say)
	if err != nil {
		return rep, err
	}
	if started != nil {
		defer func() {
			started.Close()
			say("stopped the redis-server the demo started")
		}()
	}
	if err := clearQueue(redisOpt, cfg.Queue); err != nil {
		return rep, err
	}

	// Keys, emulator, media.
	keys, err := alipaytest.GenerateKeys()
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	files, err := keys.WriteFiles(filepath.Join(dir, "keys"))
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	emu, err := alipaytest.NewServer(alipaytest.Config{
		AppID:         AppID,
		AppPublicKey:  &keys.App.PublicKey,
		GatewayKey:    keys.Gateway,
		AppAuthTokens: []string{AcceptedMerchantToken},
		Logger:        logger.With("component", "emulator"),
	})
	if err != nil {
		return rep, fmt.Errorf("demo: emulator: %w", err)
	}
	defer emu.Close()
	rep.GatewayURL = emu.URL
	rep.MediaDir = filepath.Join(dir, "media")
	if err := os.RemoveAll(rep.MediaDir); err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	if err := WriteMedia(rep.MediaDir); err != nil {
		return rep, err
	}
	say("keys: %s (throw-away, generated now)", filepath.Dir(files.AppPrivateKey))
	say("gateway emulator: %s", emu.URL)

	// The merchant key file's keyring, throw-away as the app keys are:
	// the merchant's token is queued sealed with it, and the worker opens
	// it.
	merchantKey := make([]byte, merchant.KeySize)
	if _, err := rand.Read(merchantKey); err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	merchantKeys, err := merchant.NewKeyring(merchantKey)
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}

	// Worker and dashboard.
	w, err := newWorker(ctx, worker.Config{
		MerchantKeys:             merchantKeys,
		Redis:                    redisOpt,
		GatewayURL:               emu.URL,
		AppID:                    AppID,
		Keys:                     upload.Keys{Signer: sign.RSA2{Key: keys.App}, AlipayPublicKey: emu.PublicKey()},
		MediaRoots:               []string{rep.MediaDir},
		Queues:                   map[string]int{cfg.Queue: 1},
		Concurrency:              4,
		ShutdownTimeout:          5 * time.Second,
		DelayedTaskCheckInterval: time.Second,
	}, cfg.HTTPAddr, logger.With("component", "worker"))
	if err != nil {
		return rep, err
	}
	rep.DashboardURL = w.URL()
	rep.MetricsURL = strings.TrimSuffix(w.URL(), "monitoring/") + "metrics"
	runCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(runCtx) }()
	defer func() {
		stopWorker()
		<-workerDone
		w.Close()
	}()
	say("worker: queue %q on %s, dashboard %s", cfg.Queue, redisurl.Redact(cfg.RedisURL), rep.DashboardURL)

	// Import.
	client, err := tasks.NewClient(tasks.ClientConfig{Redis: redisOpt, MediaRoots: []string{rep.MediaDir}, Queue: cfg.Queue, Sealer: tasks.KeyringSealer(merchantKeys)})
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	defer client.Close()
	// The import warns when no running worker serves its queue: let the
	// worker announce itself first (it does once Run has started).
	testproc.Poll(ctx, 10*time.Second, 20*time.Millisecond, func() bool {
		ws, err := client.Workers(ctx)
		return err == nil && len(ws) > 0
	})
	manifest, err := os.Create(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	defer manifest.Close()
	var rows []importer.Row
	for _, step := range []struct {
		what, path, token string
	}{
		{"store media", StoreDir, ""},
		{"a photo for a merchant whose token the gateway refuses", MerchantDir, RefusedMerchantToken},
	} {
		say("\nimporting %s (%s):", step.what, filepath.Join(rep.MediaDir, step.path))
		icfg := importer.Config{
			Client:       client,
			Paths:        []string{filepath.Join(rep.MediaDir, step.path)},
			AppAuthToken: step.token,
			Wait:         true,
			Manifest:     manifest,
			OnRow:        func(r importer.Row) { rows = append(rows, r) },
			Logger:       logger.With("component", "importer"),
		}
		cli.NewDisplay(out, cfg.Progress, 0).Attach(&icfg)
		sum, err := importer.Run(ctx, icfg)
		if err != nil {
			return rep, fmt.Errorf("demo: import %s: %w", step.path, err)
		}
		say("%s", sum)
	}
	rep.Rows, rep.Problems = check(rows, rep.MediaDir)
	printTable(out, rep.Rows)
	say("\ndashboard:  %s", rep.DashboardURL)
	say("metrics:    %s", rep.MetricsURL)
	say("emulator:   %s (uploads it received: %s)", emu.URL, emu.AdminURL("uploads"))
	say("manifest:   %s", manifest.Name())
	for _, p := range rep.Problems {
		say("UNEXPECTED: %s", p)
	}
	if cfg.OnReady != nil {
		cfg.OnReady(rep)
	}
	if !cfg.Once {
		say("\nrunning; press Ctrl-C to stop")
		<-ctx.Done()
		say("\nstopping the worker, the dashboard and the emulator")
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrUnexpected, strings.Join(rep.Problems, "; "))
	}
	return rep, nil
}

// clearQueue deletes the demo's queue and every task in it, so each run
// starts afresh (task IDs come from the content, and the media is the
// same every time). Other queues and databases are left alone.
func clearQueue(opt asynq.RedisConnOpt, queue string) error {
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	queues, err := insp.Queues()
	if err != nil {
		return fmt.Errorf("demo: list queues: %w", err)
	}
	if !slices.Contains(queues, queue) {
		return nil
	}
	// DeleteQueue leaves completed tasks behind, and with them their task
	// IDs: delete those first.
	if _, err := insp.DeleteAllCompletedTasks(queue); err != nil {
		return fmt.Errorf("demo: clear queue %q: %w", queue, err)
	}
	if err := insp.DeleteQueue(queue, true); err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("demo: clear queue %q: %w", queue, err)
	}
	return nil
}

// newWorker builds the worker with its dashboard on addr, or on a free
// loopback port when addr is taken, and binds the dashboard's address.
func newWorker(ctx context.Context, cfg worker.Config, addr string, logger *slog.Logger) (*worker.Worker, error) {
	var err error
	for _, a := range []string{addr, "127.0.0.1:0"} {
		cfg.HTTP = &dashboard.Config{Addr: a}
		w, nerr := worker.New(ctx, cfg, logger)
		if nerr != nil {
			return nil, fmt.Errorf("demo: %w", nerr)
		}
		if err = w.Listen(); err == nil {
			return w, nil
		}
		w.Close()
	}
	return nil, fmt.Errorf("demo: dashboard: %w", err)
}

// parseRedis reads a Redis URL (any form the worker accepts) without
// quoting its password in errors.
func parseRedis(s string) (asynq.RedisConnOpt, error) {
	opt, err := redisurl.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", EnvRedisURL, err)
	}
	return opt, nil
}

// check orders rows as [Samples] and compares them with the expectations.
func check(rows []importer.Row, mediaDir string) ([]importer.Row, []string) {
	byPath := map[string]importer.Row{}
	for _, r := range rows {
		rel, err := filepath.Rel(mediaDir, r.Path)
		if err != nil {
			rel = r.Path
		}
		r.Path = filepath.ToSlash(rel)
		byPath[r.Path] = r
	}
	var ordered []importer.Row
	var problems []string
	for _, want := range Samples() {
		r, ok := byPath[want.Path]
		if !ok {
			problems = append(problems, want.Path+": no result")
			continue
		}
		delete(byPath, want.Path)
		ordered = append(ordered, r)
		switch {
		case string(r.State) != want.State:
			problems = append(problems, fmt.Sprintf("%s: state %s, want %s (%s)", r.Path, r.State, want.State, r.Error))
		case want.State == string(importer.StateCompleted) && r.ImageID == "":
			problems = append(problems, r.Path+": completed without an image_id")
		case want.Reason != "" && r.Reason != want.Reason:
			problems = append(problems, fmt.Sprintf("%s: reason %q, want %q", r.Path, r.Reason, want.Reason))
		case want.ErrorContains != "" && !strings.Contains(r.Error, want.ErrorContains):
			problems = append(problems, fmt.Sprintf("%s: error %q does not mention %q", r.Path, r.Error, want.ErrorContains))
		}
	}
	extra := make([]string, 0, len(byPath))
	for p := range byPath {
		extra = append(extra, p)
	}
	slices.Sort(extra)
	for _, p := range extra {
		ordered = append(ordered, byPath[p])
		problems = append(problems, p+": not a sample file")
	}
	return ordered, problems
}

// printTable writes the result table: file, state, and the image_id or
// why there is none.
func printTable(w io.Writer, rows []importer.Row) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATE\tIMAGE_ID / REASON")
	for _, r := range rows {
		detail := r.ImageID
		switch {
		case r.Reason != "":
			detail = r.Reason
		case r.State == importer.StateFailed:
			detail = shorten(r.Error, 90)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Path, r.State, detail)
	}
	tw.Flush()
}

// shorten collapses white space and cuts s to at most n characters.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
