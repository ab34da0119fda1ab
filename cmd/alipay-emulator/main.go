package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/cmd/alipay-emulator/internal/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
)

func main() {
	ctx, stop := command.SignalContext(context.Background())
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
