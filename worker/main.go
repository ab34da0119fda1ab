package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/storemedia/alipay-media-worker/internal/command"
)

// Exit codes of [Main].
const (
	ExitOK     = 0
	ExitFailed = 1 // start-up checks failed, or the server could not run
	ExitUsage  = 2 // bad flags or configuration syntax, or HTTP_ADDR taken
)

// Main is the whole worker command: it reads the configuration from getenv
// and the flags in args (a flag wins over its variable), builds the logger,
// runs the start-up checks, and runs the worker until ctx ends or SIGTERM or
// SIGINT arrives; a second signal ends the process at once. Logs go to
// stderr. It returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := make(map[string]*string, len(envVars))
	for _, v := range envVars {
		values[v.Name] = fs.String(command.FlagName(v.Name), "", v.Usage)
	}
	checkOnly := fs.Bool("check", false, "run the start-up checks (keys, media roots, Redis) and exit")
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker: unexpected argument %q (see -help)\n", fs.Arg(0))
		return ExitUsage
	}
	var httpSetup mainHTTP
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	lookup := func(name string) string {
		if set[command.FlagName(name)] {
			return *values[name]
		}
		return getenv(name)
	}

	cfg, err := ConfigFromEnv(lookup)
	if err == nil {
		httpSetup, err = prepareHTTP(&cfg, lookup) // HTTP_ADDR, DASHBOARD_*; see http.go
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n(see -help for every setting)\n", err)
		return ExitUsage
	}
	logger, err := command.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil { // checked by ConfigFromEnv; kept for safety
		fmt.Fprintf(stderr, "worker: LOG_FORMAT / LOG_LEVEL: %v\n", err)
		return ExitUsage
	}
	w, err := New(cfg, logger)
	if err != nil {
		var se *StartupError
		if errors.As(err, &se) {
			for _, p := range se.Problems {
				logger.Error("start-up check failed", "problem", p.Error())
			}
		}
		logger.Error("worker cannot start", "err", err.Error())
		return ExitFailed
	}
	hs, err := httpSetup.server(w)
	if err != nil {
		logger.Error("HTTP server cannot start", "err", err.Error())
		return ExitFailed
	}
	if *checkOnly {
		httpSetup.close(hs)
		logger.Info("start-up checks passed")
		return ExitOK
	}

	// Bind HTTP_ADDR before the asynq server starts, so a taken address
	// (a second worker on the host) stops the start-up with a hint.
	if hs != nil {
		if err := listenHTTP(hs); err != nil {
			hs.Close()
			logger.Error("worker cannot start", "err", err.Error())
			return ExitUsage
		}
	}

	ctx, stop := command.SignalContext(ctx)
	defer stop()
	if err := w.RunWithHTTP(ctx, hs); err != nil {
		logger.Error("worker failed", "err", err.Error())
		return ExitFailed
	}
	return ExitOK
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: worker [flags]

Runs the Alipay store media upload worker. Every setting is an environment
variable; the flag of the same name (REDIS_URL -> -redis-url) overrides it.

Flags:
  -check   run the start-up checks (keys, media roots, Redis) and exit
  -help    show this help

Settings:
`)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, v := range envVars {
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Usage)
	}
	tw.Flush()
}
