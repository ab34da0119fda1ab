package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
)

func main() {
	redislog.Discard()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(cli.Main(ctx, os.Args[1:], cli.OSEnv()))
}
