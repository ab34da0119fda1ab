package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/storemedia/alipay-media-worker/cmd/alipay-emulator/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
