package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/storemedia/alipay-media-worker/cmd/demo/internal/demo"
	"github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
)

func main() {
	redislog.Discard()
	command.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr) })
}

const usageHead = `Usage: demo [flags]

Runs the whole upload pipeline on this machine with throw-away settings
(Redis, gateway emulator, worker and dashboard, a bulk import of sample
media), prints a result table and the dashboard URL, and runs until
Ctrl-C. Exit status (README.md, "Exit statuses"): 1 when a sample file did
not end as expected.

Flags:
`

// run is the demo command; it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg := demo.Config{StartRedis: true, Out: stdout}
	fs := command.NewFlagSet("demo")
	fs.BoolVar(&cfg.Once, "once", false, "print the results and exit")
	fs.StringVar(&cfg.Dir, "dir", demo.DefaultDir, "`directory` for keys, media, manifest and log")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", demo.DefaultHTTPAddr, "dashboard `address` (a free port is used if it is taken)")
	fs.StringVar(&cfg.Queue, "queue", demo.DefaultQueue, "the demo's `queue` (cleared at start)")
	vars := command.BindVars(fs, getenv, command.Var{Name: demo.EnvRedisURL, Default: demo.DefaultRedisURL,
		Usage: "Redis `URL`; the number after the last '/' is the database the demo uses (default " + demo.DefaultRedisURL +
			", keeping away from database 0; only the demo's queue is cleared there). On loopback a private redis-server is started when none answers"})
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageHead)
		command.PrintFlags(stdout, fs)
		return command.ExitOK
	case err != nil:
		return command.Report(ctx, stderr, "demo", command.UsageError(err))
	case command.Version(fs, stdout):
		return command.ExitOK
	case fs.NArg() > 0:
		return command.Report(ctx, stderr, "demo", command.Usagef("unexpected argument %q", fs.Arg(0)))
	}
	cfg.RedisURL = vars.Get(demo.EnvRedisURL)
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = cli.ProgressBar
	}
	_, err = demo.Run(ctx, cfg)
	if errors.Is(err, demo.ErrUnexpected) {
		// The results were printed: a stop by Ctrl-C after them does not
		// make the run an interrupted one.
		ctx = context.WithoutCancel(ctx)
	}
	return command.Report(ctx, stderr, "demo", err)
}
