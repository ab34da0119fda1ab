package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/mediaroot"
)

// defaultListen is the default address of "enqueue serve".
const defaultListen = "127.0.0.1:8080"

type serveFlags struct {
	common
	listen     string
	tokenFile  string
	spoolDir   string
	spoolSweep time.Duration
	spoolGrace time.Duration
	// envErr is a variable of serveEnv whose value its flag refuses.
	envErr error
}

// serveEnv is the environment variable of every serve flag that is not a
// common one; the flag given on the command line wins.
var serveEnv = map[string]string{
	"listen":      "ENQUEUE_LISTEN",
	"token-file":  "ENQUEUE_API_TOKEN_FILE",
	"spool-dir":   "ENQUEUE_SPOOL_DIR",
	"spool-sweep": "ENQUEUE_SPOOL_SWEEP",
	"spool-grace": "ENQUEUE_SPOOL_GRACE",
}

// defaultSpoolSweep is how often "enqueue serve" sweeps its spool.
const defaultSpoolSweep = 10 * time.Minute

// flags registers the serve flags on a new flag set.
func (f *serveFlags) flags(env Env) *flag.FlagSet {
	fs := command.NewFlagSet("enqueue serve")
	f.common.register(fs, env)
	fs.StringVar(&f.listen, "listen", defaultListen, "")
	fs.StringVar(&f.tokenFile, "token-file", "", "")
	fs.StringVar(&f.spoolDir, "spool-dir", "", "")
	fs.DurationVar(&f.spoolSweep, "spool-sweep", defaultSpoolSweep, "")
	fs.DurationVar(&f.spoolGrace, "spool-grace", httpapi.DefaultSpoolGrace, "")
	// A variable sets its flag's value before the command line is parsed,
	// so a flag given there wins.
	for name, key := range serveEnv {
		if v := env.Getenv(key); v != "" {
			if err := fs.Set(name, v); err != nil {
				f.envErr = command.Usagef("%s: %w", key, err)
			}
		}
	}
	return fs
}

func runServe(ctx context.Context, args []string, env Env) int {
	var f serveFlags
	return runSubcommand(ctx, f.flags(env), args, env, func(rest []string) (int, error) {
		if f.envErr != nil {
			return 0, f.envErr
		}
		if len(rest) > 0 {
			return 0, command.Usagef("serve takes no arguments, got %q", rest)
		}
		return command.ExitOK, serve(ctx, f, env, nil)
	})
}

// sweepLoop sweeps the spool every interval until ctx is done.
func sweepLoop(ctx context.Context, api *httpapi.Server, every, grace time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := api.SweepSpool(ctx, httpapi.SweepOptions{Grace: grace})
		if ctx.Err() != nil {
			return // shutting down: the sweep was cut short
		}
		if err != nil {
			log.Warn("spool sweep stopped; it runs again later", "err", err, "removed", res.Removed)
			continue
		}
		log.Info("spool swept", "checked", res.Checked, "removed", res.Removed, "bytes_freed", res.Bytes,
			"kept", res.Kept, "unproven", res.Unproven, "young", res.Young, "untracked", res.Untracked)
	}
}

// serve runs the API until ctx is done. ready, if not nil, receives the
// listener's address once it accepts connections.
func serve(ctx context.Context, f serveFlags, env Env, ready chan<- string) error {
	log, err := f.logger(env.Stderr)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(env.Getenv("ENQUEUE_API_TOKEN"))
	if f.tokenFile != "" {
		b, err := conffile.Read(f.tokenFile, conffile.MaxSize)
		if err != nil {
			return command.Usagef("--token-file (env ENQUEUE_API_TOKEN_FILE): %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return command.Usagef("serve: no API token: set ENQUEUE_API_TOKEN, ENQUEUE_API_TOKEN_FILE or --token-file")
	}
	if len(token) < httpapi.MinTokenLen {
		return command.Usagef("serve: the API token (ENQUEUE_API_TOKEN or --token-file) has %d bytes, fewer than %d; make a longer one, e.g. with openssl rand -hex 24", len(token), httpapi.MinTokenLen)
	}
	roots, err := f.roots(nil)
	if err != nil {
		return err
	}
	spool := f.spoolDir
	switch {
	case spool != "":
	case mediaroot.IsObjectURL(roots[0]):
		spool = roots[0] + ".enqueue-spool/"
	default:
		spool = filepath.Join(roots[0], ".enqueue-spool")
	}
	client, err := f.client(roots, log)
	if err != nil {
		return err
	}
	defer client.Close()
	cfg := httpapi.Config{Client: client, Token: token, SpoolDir: spool, Logger: log}
	if mediaroot.IsObjectURL(spool) {
		if cfg.Objects, err = f.objects(); err != nil {
			return err
		}
	}
	if strings.TrimSpace(f.merchantKeyFile) != "" && strings.TrimSpace(env.Getenv("ALIPAY_APP_ID")) != "" {
		// The merchant routes: the key file, and the app's keys to
		// exchange codes and refresh tokens (without them, the routes
		// answer 501 saying so; the key file alone seals tokens).
		st, rdb, err := merchantStore(&f.common, env, true, log)
		if err != nil {
			return err
		}
		defer rdb.Close()
		cfg.Merchants = st
	}
	api, err := httpapi.New(cfg)
	if err != nil {
		return command.UsageError(err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return command.Usagef("--listen: %w", err)
	}
	log.Info("enqueue API listening", "addr", ln.Addr().String(), "spool", spool)
	fmt.Fprintf(env.Stderr, "enqueue: serving on http://%s (spool %s)\n", ln.Addr(), spool)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if f.spoolSweep > 0 {
		sweepCtx, stopSweep := context.WithCancel(ctx)
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			sweepLoop(sweepCtx, api, f.spoolSweep, f.spoolGrace, log)
		}()
		// Runs before the client is closed (deferred earlier).
		defer func() { stopSweep(); <-swept }()
	}
	// Serve returns when ctx is done (after its shutdown) or when it
	// fails; the sweep is stopped either way before the client closes.
	if err := api.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
