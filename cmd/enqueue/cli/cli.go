package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// Exit statuses of [Main].
const (
	// ExitOK: everything requested succeeded.
	ExitOK = 0
	// ExitFailed: some files were rejected or failed (import), or some
	// task IDs are unknown (status).
	ExitFailed = 1
	// ExitUsage: bad command line or configuration.
	ExitUsage = 2
	// ExitUnavailable: Redis could not be reached (or failed mid-run).
	ExitUnavailable = 3
	// ExitInterrupted: stopped by an interrupt (SIGINT/SIGTERM).
	ExitInterrupted = 130
)

// Env is what [Main] needs from its process.
type Env struct {
	Stdout, Stderr io.Writer
	// Getenv reads configuration variables. Default os.Getenv.
	Getenv func(string) string
	// IsTerminal reports whether w is an interactive terminal (for the
	// live progress bar). Default: true for an *os.File that is a terminal.
	IsTerminal func(w io.Writer) bool
	// TerminalWidth returns the width of a terminal writer. Default: its
	// size, or 100.
	TerminalWidth func(w io.Writer) int
}

// OSEnv is the Env of the running process.
func OSEnv() Env { return Env{Stdout: os.Stdout, Stderr: os.Stderr} }

func (e *Env) defaults() {
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.IsTerminal == nil {
		e.IsTerminal = func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		}
	}
	if e.TerminalWidth == nil {
		e.TerminalWidth = func(w io.Writer) int {
			if f, ok := w.(*os.File); ok {
				if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
					return wd - 1
				}
			}
			return 100
		}
	}
}

// usageError marks an error that exits with ExitUsage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Main runs the enqueue command with args (without the program name) and
// returns the exit status. ctx cancellation is an interrupt.
func Main(ctx context.Context, args []string, env Env) int {
	env.defaults()
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runStatus(ctx, args[1:], env)
		case "serve":
			return runServe(ctx, args[1:], env)
		case "help":
			fmt.Fprint(env.Stdout, usageText)
			return ExitOK
		}
	}
	return runImport(ctx, args, env)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// common holds the settings shared by the subcommands.
type common struct {
	redisURL   string
	mediaRoots string
	queue      string
	logLevel   string
	logFormat  string
}

func (c *common) register(fs *flag.FlagSet, env Env) {
	fs.StringVar(&c.redisURL, "redis-url", envOr(env, "REDIS_URL", tasks.DefaultRedisURL), "Redis URL (env REDIS_URL)")
	fs.StringVar(&c.mediaRoots, "media-roots", env.Getenv("MEDIA_ROOTS"), "media root directories separated by ':' or ',' (env MEDIA_ROOTS)")
	fs.StringVar(&c.queue, "queue", envOr(env, "ENQUEUE_QUEUE", tasks.QueueDefault), "queue name (env ENQUEUE_QUEUE)")
	fs.StringVar(&c.logLevel, "log-level", envOr(env, "LOG_LEVEL", "warn"), "log level: debug, info, warn, error (env LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(env, "LOG_FORMAT", "text"), "log format: text or json (env LOG_FORMAT)")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usagef("--log-level: %q is not a level (debug, info, warn, error)", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format: %q is not text or json", c.logFormat)
}

// roots splits the media roots; fallback is used when none are configured.
func (c *common) roots(fallback []string) ([]string, error) {
	out := mediaroot.ParseList(c.mediaRoots)
	if len(out) == 0 {
		out = fallback
	}
	if len(out) == 0 {
		return nil, usagef("no media roots: set MEDIA_ROOTS or --media-roots")
	}
	return out, nil
}

func (c *common) client(roots []string, log *slog.Logger) (*tasks.Client, error) {
	redis, err := redisurl.Parse(c.redisURL)
	if err != nil {
		// The message never holds the password.
		return nil, usagef("--redis-url (env REDIS_URL): %v", err)
	}
	cl, err := tasks.NewClient(tasks.ClientConfig{
		Redis:      redis,
		MediaRoots: roots,
		Queue:      c.queue,
		Logger:     log,
	})
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return cl, nil
}

func envOr(env Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments; everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// exitFor maps an error to an exit status, printing it.
func exitFor(err error, env Env) int {
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, importer.ErrConfig):
		fmt.Fprintf(env.Stderr, "enqueue: %v\nRun 'enqueue --help' for usage.\n", err)
		return ExitUsage
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintln(env.Stderr, "enqueue: interrupted")
		return ExitInterrupted
	case errors.Is(err, tasks.ErrUnavailable), errors.Is(err, importer.ErrWaitAbandoned):
		fmt.Fprintf(env.Stderr, "enqueue: %v\n", err)
		return ExitUnavailable
	}
	fmt.Fprintf(env.Stderr, "enqueue: %v\n", err)
	return ExitFailed
}

// dirsOf returns the directories among paths, and the parent directory of
// each other path: the default media roots of an import.
func dirsOf(paths []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		d := p
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			d = filepath.Dir(p)
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
