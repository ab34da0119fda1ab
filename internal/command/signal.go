package command

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SignalContext returns a context that is cancelled when the process gets
// SIGINT or SIGTERM, so the command can stop cleanly (finish in-flight
// work, flush its output). A second signal ends the process at once with
// [ExitInterrupted]. stop releases the signals; call it when the command
// returns.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	return notifyContext(parent, os.Exit, os.Interrupt, syscall.SIGTERM)
}

// notifyContext is [SignalContext] with the exit function and the signals
// as parameters, for tests.
func notifyContext(parent context.Context, exit func(int), sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			exit(ExitInterrupted)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}
