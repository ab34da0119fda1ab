package main

import (
	"context"
	"os"

	"github.com/storemedia/alipay-media-worker/worker"
)

func main() {
	os.Exit(worker.Main(context.Background(), os.Args[1:], os.Getenv, os.Stderr))
}
