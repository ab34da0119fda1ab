package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueueapi"
)

// DefaultListen is the default address of "enqueue serve".
const DefaultListen = "127.0.0.1:8080"

type serveFlags struct {
	common
	listen    string
	tokenFile string
	spoolDir  string
}

func runServe(ctx context.Context, args []string, env Env) int {
	var f serveFlags
	fs := newFlagSet("enqueue serve", env)
	f.common.register(fs, env)
	fs.StringVar(&f.listen, "listen", envOr(env, "ENQUEUE_LISTEN", DefaultListen), "")
	fs.StringVar(&f.tokenFile, "token-file", "", "")
	fs.StringVar(&f.spoolDir, "spool-dir", env.Getenv("ENQUEUE_SPOOL_DIR"), "")
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usageText)
		return ExitOK
	}
	if err != nil {
		return exitFor(usageError{err.Error()}, env)
	}
	if len(rest) > 0 {
		return exitFor(usagef("serve takes no arguments, got %q", rest), env)
	}
	return exitFor(serve(ctx, f, env, nil), env)
}

// serve runs the API until ctx is done. ready, if not nil, receives the
// listener's address once it accepts connections.
func serve(ctx context.Context, f serveFlags, env Env, ready chan<- string) error {
	log, err := f.logger(env.Stderr)
	if err != nil {
		return err
	}
	token := env.Getenv("ENQUEUE_API_TOKEN")
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return usagef("--token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return usagef("serve: no API token: set ENQUEUE_API_TOKEN or --token-file")
	}
	roots, err := f.roots(nil)
	if err != nil {
		return err
	}
	spool := f.spoolDir
	if spool == "" {
		spool = filepath.Join(roots[0], ".enqueue-spool")
	}
	client, err := f.client(roots, log, 0)
	if err != nil {
		return err
	}
	defer client.Close()
	api, err := enqueueapi.New(enqueueapi.Config{Client: client, Token: token, SpoolDir: spool, Logger: log})
	if err != nil {
		return usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usagef("--listen: %v", err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Minute,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("enqueue API listening", "addr", ln.Addr().String(), "spool", spool)
	fmt.Fprintf(env.Stderr, "enqueue: serving on http://%s (spool %s)\n", ln.Addr(), spool)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}
