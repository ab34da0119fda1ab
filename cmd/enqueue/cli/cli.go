package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/storemedia/alipay-media-worker/cmd/internal/s3env"
	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// Env is what [Main] needs from its process.
type Env struct {
	Stdout, Stderr io.Writer
	// Getenv reads configuration variables. Default os.Getenv.
	Getenv func(string) string
	// isTerminal reports whether w is an interactive terminal (for the
	// live progress bar). Default: true for an *os.File that is a terminal.
	isTerminal func(w io.Writer) bool
	// terminalWidth returns the width of a terminal writer. Default: its
	// size, or 100.
	terminalWidth func(w io.Writer) int
	// plainInterval is the time between two plain progress reports.
	// Default PlainInterval.
	plainInterval time.Duration
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
	if e.isTerminal == nil {
		e.isTerminal = func(w io.Writer) bool {
			f, ok := w.(*os.File)
			return ok && term.IsTerminal(int(f.Fd()))
		}
	}
	if e.terminalWidth == nil {
		e.terminalWidth = func(w io.Writer) int {
			if f, ok := w.(*os.File); ok {
				if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 20 {
					return wd - 1
				}
			}
			return 100
		}
	}
}

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
		case "merchant":
			return runMerchant(ctx, args[1:], env)
		case "help":
			fmt.Fprint(env.Stdout, usageText)
			return command.ExitOK
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
	redisURL        string
	mediaRoots      string
	queue           string
	logLevel        string
	logFormat       string
	convertMaxBytes string
	merchantKeyFile string

	getenv func(string) string // the S3_* and AWS SDK settings
	store  *objstore.Store     // made by objects, once
	keys   *merchant.Keyring   // loaded by keyring, once
}

func (c *common) register(fs *flag.FlagSet, env Env) {
	c.getenv = env.Getenv
	fs.StringVar(&c.redisURL, "redis-url", envOr(env, "REDIS_URL", tasks.DefaultRedisURL), "Redis URL (env REDIS_URL)")
	fs.StringVar(&c.mediaRoots, "media-roots", env.Getenv("MEDIA_ROOTS"), "media root directories separated by ':' or ',' (env MEDIA_ROOTS)")
	fs.StringVar(&c.queue, "queue", envOr(env, "ENQUEUE_QUEUE", tasks.QueueDefault), "queue name (env ENQUEUE_QUEUE)")
	fs.StringVar(&c.logLevel, "log-level", envOr(env, "LOG_LEVEL", "warn"), "log level: debug, info, warn, error (env LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(env, "LOG_FORMAT", "text"), "log format: text or json (env LOG_FORMAT)")
	fs.StringVar(&c.merchantKeyFile, "merchant-key-file", env.Getenv("MERCHANT_KEY_FILE"), "merchant key file (env MERCHANT_KEY_FILE)")
	fs.StringVar(&c.convertMaxBytes, "convert-max-bytes", envOr(env, "UPLOAD_CONVERT_MAX_BYTES", strconv.FormatInt(convert.DefaultMaxInputBytes, 10)), "largest file queued for conversion (env UPLOAD_CONVERT_MAX_BYTES)")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	log, err := command.NewLogger(w, c.logFormat, c.logLevel)
	if err != nil {
		return nil, command.Usagef("--log-format / --log-level (env LOG_FORMAT / LOG_LEVEL): %w", err)
	}
	return log, nil
}

// roots splits the media roots; fallback is used when none are configured.
func (c *common) roots(fallback []string) ([]string, error) {
	out := mediaroot.ParseList(c.mediaRoots)
	if len(out) == 0 {
		out = fallback
	}
	if len(out) == 0 {
		return nil, command.Usagef("no media roots: set MEDIA_ROOTS or --media-roots to the directories the workers read files from (the same value as the workers' MEDIA_ROOTS)")
	}
	return out, nil
}

func (c *common) client(roots []string, log *slog.Logger) (*tasks.Client, error) {
	redis, err := redisurl.Parse(c.redisURL)
	if err != nil {
		// The message never holds the password.
		return nil, command.Usagef("--redis-url (env REDIS_URL): %w", err)
	}
	var maxConvert int64 // 0: the client's default
	if s := strings.TrimSpace(c.convertMaxBytes); s != "" {
		if maxConvert, err = strconv.ParseInt(s, 10, 64); err != nil || maxConvert <= 0 {
			return nil, command.Usagef("--convert-max-bytes (env UPLOAD_CONVERT_MAX_BYTES): %q is not a positive whole number", c.convertMaxBytes)
		}
	}
	rs, err := mediaroot.New(roots...)
	if err != nil {
		return nil, command.UsageError(err)
	}
	if rs.HasBuckets() {
		store, err := c.objects()
		if err != nil {
			return nil, err
		}
		rs = rs.WithStore(store)
	}
	keys, err := c.keyring()
	if err != nil {
		return nil, err
	}
	var sealer tasks.Sealer
	if keys != nil {
		sealer = tasks.KeyringSealer(keys)
	}
	cl, err := tasks.NewClient(tasks.ClientConfig{
		Redis:           redis,
		Roots:           rs,
		Queue:           c.queue,
		ConvertMaxBytes: maxConvert,
		Logger:          log,
		Sealer:          sealer,
	})
	if err != nil {
		return nil, command.UsageError(err)
	}
	return cl, nil
}

// objects returns the object store of s3:// roots, paths and spools,
// configured by S3_ENDPOINT, S3_PATH_STYLE and the AWS SDK's chain.
func (c *common) objects() (*objstore.Store, error) {
	if c.store != nil {
		return c.store, nil
	}
	getenv := c.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s, err := s3env.Open(context.Background(), getenv)
	if err != nil {
		return nil, err
	}
	c.store = s
	return s, nil
}

// keyring loads the merchant key file, once, nil when none is configured.
func (c *common) keyring() (*merchant.Keyring, error) {
	path := strings.TrimSpace(c.merchantKeyFile)
	if c.keys != nil || path == "" {
		return c.keys, nil
	}
	k, err := merchant.LoadKeyring(path)
	if err != nil {
		return nil, command.Usagef("--merchant-key-file (env MERCHANT_KEY_FILE): %w", err)
	}
	c.keys = k
	return k, nil
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

// runSubcommand parses args with fs (flags and operands interleaved) and
// runs do on the operands. --help prints the usage, --version the version;
// a parse error, or an error do returns, is reported with its exit status
// ([exitFor]); otherwise the status is do's.
func runSubcommand(ctx context.Context, fs *flag.FlagSet, args []string, env Env, do func(operands []string) (int, error)) int {
	operands, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usageText)
		return command.ExitOK
	}
	if err != nil {
		return exitFor(ctx, command.UsageError(err), env)
	}
	if command.Version(fs, env.Stdout) {
		return command.ExitOK
	}
	code, err := do(operands)
	if err != nil {
		return exitFor(ctx, err, env)
	}
	return code
}

// exitFor prints err and returns its exit status ([command.Report]), once
// the errors of the libraries are given their class: a bad import
// configuration is a usage error, Redis failing is a dependency being
// unavailable.
func exitFor(ctx context.Context, err error, env Env) int {
	switch {
	case errors.Is(err, importer.ErrConfig):
		err = command.UsageError(err)
	case errors.Is(err, tasks.ErrUnavailable), errors.Is(err, importer.ErrWaitAbandoned):
		err = command.UnavailableError(err)
	}
	return command.Report(ctx, env.Stderr, "enqueue", err)
}
