package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"syscall"

	"github.com/storemedia/alipay-media-worker/cmd/internal/s3env"
	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/worker"
)

// Main is the whole worker command: it reads the settings from getenv and
// the flags in args (a flag wins over its variable), builds the logger,
// loads the keys, runs the start-up checks, and runs the worker until ctx
// ends (cmd/worker cancels it on SIGTERM or SIGINT). --help goes to
// stdout, logs to stderr. It returns the exit status.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := command.NewFlagSet("worker")
	settings := command.BindVars(fs, getenv, vars...)
	checkOnly := fs.Bool("check", false, "run the start-up checks (keys, media roots, Redis, conversion) and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, settings)
			return command.ExitOK
		}
		return command.Report(ctx, stderr, "worker", command.UsageError(err))
	}
	if command.Version(fs, stdout) {
		return command.ExitOK
	}
	if fs.NArg() > 0 {
		return command.Report(ctx, stderr, "worker", command.Usagef("unexpected argument %q", fs.Arg(0)))
	}

	st, ps := read(settings.Get)
	if slices.ContainsFunc(st.worker.MediaRoots, mediaroot.IsObjectURL) {
		// S3_* are the command's settings; the AWS SDK's chain
		// (AWS_ACCESS_KEY_ID, ...) comes from the environment as it is.
		get := func(k string) string {
			if v, ok := st.s3[k]; ok {
				return v
			}
			return getenv(k)
		}
		if store, err := s3env.Open(ctx, get); err != nil {
			ps.Add("S3_ENDPOINT", err)
		} else {
			st.worker.ObjectStore = store
		}
	}
	logger, err := command.NewLogger(stderr, st.logFormat, st.logLevel)
	if err != nil { // reported by read; log in the default format
		logger, _ = command.NewLogger(stderr, "text", "info")
	}
	w, code := start(ctx, st, ps, logger)
	if w == nil {
		return code
	}
	defer w.Close()
	if *checkOnly {
		if st.worker.Convert != nil {
			logger.Info("conversion on and available: this build links libvips (-tags vips)")
		} else {
			logger.Info("conversion off (UPLOAD_CONVERT=off)", "available_in_this_build", convert.Available())
		}
		logger.Info("start-up checks passed")
		return command.ExitOK
	}
	// Bind HTTP_ADDR before the asynq server starts, so a taken address
	// (a second worker on the host) stops the start-up with a hint.
	if err := w.Listen(); err != nil {
		logger.Error("worker cannot start", "err", addrProblem(err, st).String())
		return command.ExitUsage
	}
	if err := w.Run(ctx); err != nil {
		logger.Error("worker failed", "err", err.Error())
		return command.ExitFailed
	}
	return command.ExitOK
}

// start loads the keys and builds the worker, logging every problem
// found. With problems it returns a nil worker and the exit status.
func start(ctx context.Context, st settings, ps command.Problems, logger *slog.Logger) (*worker.Worker, int) {
	cfg := st.worker
	cfg.Keys, _ = st.alipay.LoadKeys(&ps)
	pingCtx, cancel := context.WithTimeout(ctx, st.pingTimeout)
	defer cancel()
	var w *worker.Worker
	var err error
	if cfg.Redis != nil {
		w, err = worker.New(pingCtx, cfg, logger.With("component", "worker"))
		if err != nil {
			fromNew(&ps, err, st)
		}
	}
	if len(ps.List) == 0 {
		return w, command.ExitOK
	}
	if w != nil {
		_ = w.Close()
	}
	if ctx.Err() != nil {
		logger.Info("interrupted during the start-up checks")
		return nil, command.ExitInterrupted
	}
	for _, p := range ps.List {
		logger.Error("start-up check failed", "problem", p.String())
	}
	logger.Error("worker cannot start: fix the settings named above (see --help)")
	if len(ps.List) == 1 && onlyRedisDown(err) {
		return nil, command.ExitUnavailable
	}
	return nil, command.ExitUsage
}

// addrProblem explains an HTTP_ADDR the worker could not listen on.
func addrProblem(err error, st settings) command.Problem {
	addr := st.worker.HTTP.Addr
	if errors.Is(err, syscall.EADDRINUSE) {
		return command.Problem{Vars: "HTTP_ADDR", Err: fmt.Errorf("%s is in use (another worker?): set HTTP_ADDR to a free address, 127.0.0.1:0 for any free port, or %s", addr, httpOff)}
	}
	return command.Problem{Vars: "HTTP_ADDR", Err: fmt.Errorf("%s: cannot listen (set HTTP_ADDR to another address, or %s): %w", addr, httpOff, err)}
}

func usage(w io.Writer, settings *command.Vars) {
	fmt.Fprint(w, `Usage: worker [flags]

Runs the Alipay store media upload worker. Every setting is an environment
variable; the flag of the same name (REDIS_URL -> --redis-url) overrides it.

Flags:
  --check   run the start-up checks (keys, media roots, Redis, conversion) and exit
  --help    show this help

Settings:
`)
	settings.PrintTable(w)
	fmt.Fprint(w, `
Exit status: 0 stopped by SIGTERM or SIGINT after a clean shutdown (or
--check passed); 1 the worker failed while running; 2 bad settings or
failed start-up checks; 3 Redis did not answer at start-up (and nothing
else is wrong); 130 interrupted during the start-up checks, or a second
SIGINT (Ctrl-C again).
`)
}
