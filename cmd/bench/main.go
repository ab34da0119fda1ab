// Command bench measures the upload pipeline against its baselines in one
// run and prints one table: end-to-end throughput for several file sizes
// and concurrencies (a direct upload loop, asynq with a no-op handler, and
// importer + Redis + cmd/worker, all against one in-process gateway
// emulator), the worker's peak RSS, and the enqueue rates. With -o it also
// rewrites the results part of BENCHMARKS.md.
//
// It needs redis-server on PATH (a private one is started) and, unless
// -worker names a built binary, the Go toolchain to build cmd/worker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/storemedia/alipay-media-worker/cmd/bench/internal/bench"
	"github.com/storemedia/alipay-media-worker/internal/e2e"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
	"github.com/storemedia/alipay-media-worker/internal/testredis"
)

func main() {
	redislog.Discard()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("sizes", "100000,1000000,5000000", "file sizes in bytes, comma-separated")
	conc := fs.String("conc", "1,8,32", "concurrency levels, comma-separated")
	files := fs.Int("files", 0, "files per measurement for every size (0: 500 MB worth, 150 to 1000)")
	enqueueFiles := fs.Int("enqueue-files", bench.DefaultEnqueueFiles, "files for the enqueue-rate part")
	rounds := fs.Int("rounds", bench.DefaultRounds, "rounds per cell; each figure is the median round")
	worker := fs.String("worker", "", "path of a built cmd/worker (default: build it)")
	dir := fs.String("dir", "", "scratch directory (default: a temporary one)")
	out := fs.String("o", "", "also write the results into this Markdown file (e.g. BENCHMARKS.md)")
	verbose := fs.Bool("v", false, "log each measurement to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *rounds < 1 {
		fmt.Fprintf(os.Stderr, "bench: -rounds: %d is below 1\n", *rounds)
		return 2
	}
	cfg := bench.Config{WorkerBin: *worker, Dir: *dir, EnqueueFiles: *enqueueFiles, Rounds: *rounds}
	var err error
	if cfg.Sizes, err = parseList(*sizes, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -sizes: %v\n", err)
		return 2
	}
	if cfg.Concurrency, err = parseList(*conc, strconv.Atoi); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -conc: %v\n", err)
		return 2
	}
	if *files > 0 {
		n := *files
		cfg.Files = func(int64) int { return n }
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.WorkerBin == "" {
		tmp, err := os.MkdirTemp("", "bench-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		root, err := e2e.ModuleRoot(ctx)
		if err == nil {
			var bins e2e.Binaries
			bins, err = e2e.Build(ctx, root, tmp, e2e.CmdWorker)
			cfg.WorkerBin = bins.Worker
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: building cmd/worker: %v\n", err)
			return 1
		}
	}
	url, stopRedis, err := testredis.StartProcess()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	defer stopRedis()
	cfg.RedisURL = url

	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if *out != "" {
		command := "go run ./cmd/bench " + strings.Join(args, " ")
		write := func(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
		if err := bench.UpdateFile(*out, rep, strings.TrimSpace(command), intro, os.ReadFile, write); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}
	return 0
}

func parseList[T int | int64](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

const intro = `# Benchmarks

Written by ` + "`go run ./cmd/bench -o BENCHMARKS.md`" + ` (which ` + "`make bench`" + ` runs).`
