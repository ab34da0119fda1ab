// Command enqueue queues store media uploads for the worker: in bulk from
// files and directories, or through a small HTTP API (enqueue serve), and
// shows the state of queued tasks (enqueue status). Run "enqueue --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(cli.Main(ctx, os.Args[1:], cli.OSEnv()))
}
