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
	command.Main(func(ctx context.Context) int { return cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr) })
}
