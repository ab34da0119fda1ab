package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redislog"
)

func main() {
	redislog.Discard()
	ctx, stop := command.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
