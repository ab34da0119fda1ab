package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/storemedia/alipay-media-worker/cmd/demo/internal/demo"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
)

func main() {
	redislog.Discard()
	os.Exit(run())
}

func run() int {
	cfg := demo.Config{StartRedis: true, RedisURL: os.Getenv(demo.EnvRedisURL)}
	flag.BoolVar(&cfg.Once, "once", false, "print the results and exit (non-zero if any is unexpected)")
	flag.StringVar(&cfg.Dir, "dir", demo.DefaultDir, "directory for keys, media, manifest and log")
	flag.StringVar(&cfg.HTTPAddr, "http-addr", demo.DefaultHTTPAddr, "dashboard address (a free port is used if it is taken)")
	flag.StringVar(&cfg.Queue, "queue", demo.DefaultQueue, "the demo's queue (cleared at start)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected argument %q\n", flag.Arg(0))
		return 2
	}
	if term.IsTerminal(int(os.Stdout.Fd())) {
		cfg.Progress = importer.ProgressBar
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := demo.Run(ctx, cfg); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
