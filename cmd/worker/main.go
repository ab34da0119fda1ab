package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/cmd/worker/internal/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
)

func main() {
	redislog.Discard()
	ctx, stop := command.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
