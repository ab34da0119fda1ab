package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/internal/redislog"
	"github.com/storemedia/alipay-media-worker/worker"
)

func main() {
	redislog.Discard()
	os.Exit(worker.Main(context.Background(), os.Args[1:], os.Getenv, os.Stderr))
}
