package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/cmd/alipay-emulator/internal/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
)

func main() {
	command.Main(func(ctx context.Context) int { return cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}
