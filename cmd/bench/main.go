package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/storemedia/alipay-media-worker/cmd/bench/internal/bench"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

func main() {
	redislog.Discard()
	command.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

const usageHead = `Usage: bench [flags]

Measures the upload pipeline against its baselines and prints one table
(see BENCHMARKS.md). Needs redis-server on PATH. Exit statuses: README.md,
"Exit statuses" (3 when redis-server cannot be started).

Flags:
`

// run is the bench command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := command.NewFlagSet("bench")
	sizes := fs.String("sizes", "100000,1000000,5000000", "file sizes in bytes, comma-separated")
	conc := fs.String("conc", "1,8,32", "concurrency levels, comma-separated")
	files := fs.Int("files", 0, "files per measurement for every size (0: 500 MB worth, 150 to 1000)")
	enqueueFiles := fs.Int("enqueue-files", bench.DefaultEnqueueFiles, "files for the enqueue-rate part")
	rounds := fs.Int("rounds", bench.DefaultRounds, "rounds per cell; each figure is the median round")
	worker := fs.String("worker", "", "`path` of a built cmd/worker (default: build it)")
	convertWorker := fs.String("convert-worker", "", "`path` of a cmd/worker built with -tags vips, for the convert scenario (default: build it; without libvips the scenario says conversion is unavailable)")
	convertFiles := fs.Int("convert-files", bench.DefaultConvertFiles, "HEIC photos, and as many JPEGs, of 24 megapixels in the convert scenario")
	enqueueBin := fs.String("enqueue", "", "`path` of a built cmd/enqueue, for the latency scenario (default: build it)")
	scenarios := fs.String("scenarios", strings.Join(bench.AllScenarios, ","), "scenarios to run, comma-separated: latency, sdk, remote, cpu, convert, throughput, enqueue; with --output, the blocks of the others stay as they were")
	sdkDir := fs.String("sdk-dir", "", "`directory` whose node_modules holds alipay-sdk, for the sdk scenario (default: upload/alipaytest/sdktest of this module, where make deps installs it)")
	latencyJobs := fs.Int("latency-jobs", bench.DefaultLatencyJobs, "sequential jobs per path and setup of the latency scenario")
	dir := fs.String("dir", "", "scratch `directory` (default: a temporary one)")
	out := fs.String("output", "", "also write the results into this Markdown `file` (e.g. BENCHMARKS.md)")
	verbose := fs.Bool("verbose", false, "log each measurement to stderr")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageHead)
		command.PrintFlags(stdout, fs)
		return command.ExitOK
	}
	if err == nil && command.Version(fs, stdout) {
		return command.ExitOK
	}
	cfg := bench.Config{WorkerBin: *worker, EnqueueBin: *enqueueBin, ConvertWorkerBin: *convertWorker, ConvertFiles: *convertFiles, Dir: *dir, EnqueueFiles: *enqueueFiles, Rounds: *rounds, LatencyJobs: *latencyJobs, SDKDir: *sdkDir}
	for _, sc := range strings.Split(*scenarios, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			cfg.Scenarios = append(cfg.Scenarios, sc)
		}
	}
	if err == nil {
		err = parseFlags(&cfg, fs, *sizes, *conc, *files)
	}
	if err != nil {
		return command.Report(ctx, stderr, "bench", command.UsageError(err))
	}
	level := "warn"
	if *verbose {
		level = "info"
	}
	if cfg.Logger, err = command.NewLogger(stderr, "text", level); err != nil {
		return command.Report(ctx, stderr, "bench", err)
	}
	return command.Report(ctx, stderr, "bench", measure(ctx, cfg, args, *out, stdout, stderr))
}

// parseFlags checks the flags and fills cfg from the lists.
func parseFlags(cfg *bench.Config, fs *flag.FlagSet, sizes, conc string, files int) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Rounds < 1 {
		return fmt.Errorf("--rounds: %d is below 1", cfg.Rounds)
	}
	var err error
	if cfg.Sizes, err = parseList(sizes, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }); err != nil {
		return fmt.Errorf("--sizes: %w", err)
	}
	if cfg.Concurrency, err = parseList(conc, strconv.Atoi); err != nil {
		return fmt.Errorf("--conc: %w", err)
	}
	if files > 0 {
		cfg.Files = func(int64) int { return files }
	}
	return nil
}

// measure builds cmd/worker unless cfg names one, starts a private
// redis-server, runs the benchmark, prints the table and, with out, writes
// it into that Markdown file.
func measure(ctx context.Context, cfg bench.Config, args []string, out string, stdout, stderr io.Writer) error {
	if cfg.WorkerBin == "" || cfg.EnqueueBin == "" {
		tmp, err := os.MkdirTemp("", "bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bins, err := testproc.Build(ctx, tmp, testproc.CmdWorker, testproc.CmdEnqueue)
		if err != nil {
			return fmt.Errorf("building cmd/worker and cmd/enqueue: %w", err)
		}
		cfg.WorkerBin = cmp.Or(cfg.WorkerBin, bins[0])
		cfg.EnqueueBin = cmp.Or(cfg.EnqueueBin, bins[1])
	}
	if cfg.ConvertWorkerBin == "" && (len(cfg.Scenarios) == 0 || slices.Contains(cfg.Scenarios, bench.ScenarioConvert)) {
		tmp, err := os.MkdirTemp("", "bench-vips-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bins, err := testproc.BuildTagged(ctx, tmp, "vips", testproc.CmdWorker)
		if err != nil {
			// No libvips here: the convert scenario says so, and the
			// figures of an earlier run stay in --output.
			first, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
			cfg.ConvertUnavailable = "building cmd/worker with -tags vips failed (make deps installs libvips-dev): " + first
			fmt.Fprintf(stderr, "bench: conversion is unavailable: %v\n", err)
		} else {
			cfg.ConvertWorkerBin = bins[0]
		}
	}
	if cfg.SDKDir == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if mod := strings.TrimSpace(string(out)); err == nil && mod != "" && mod != os.DevNull {
			cfg.SDKDir = filepath.Join(filepath.Dir(mod), "upload", "alipaytest", "sdktest")
		}
	}
	redis, err := testproc.RunRedis(testproc.RedisOptions{})
	if err != nil {
		return command.UnavailableError(err)
	}
	defer redis.Close()
	cfg.RedisURL = redis.URL()

	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if out != "" {
		cmdline := "go run ./cmd/bench " + strings.Join(args, " ")
		write := func(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
		if err := bench.UpdateFile(out, rep, strings.TrimSpace(cmdline), intro, os.ReadFile, write); err != nil {
			return err
		}
	}
	return nil
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

Written by ` + "`go run ./cmd/bench --output BENCHMARKS.md`" + ` (which ` + "`make bench`" + ` runs).`
