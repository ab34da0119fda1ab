package command

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Main is the body of every command's main: it runs run with the context
// of [SignalContext], releases the signals and exits the process with the
// status run returned.
func Main(run func(ctx context.Context) int) {
	ctx, stop := SignalContext(context.Background())
	code := run(ctx)
	stop()
	os.Exit(code)
}

// SignalContext returns a context that is cancelled when the process gets
// SIGINT or SIGTERM, so the command can stop cleanly (finish in-flight
// work, flush its output). A second SIGINT (Ctrl-C pressed again) ends the
// process at once with [ExitInterrupted]. Further SIGTERMs are ignored, so
// a supervisor that delivers SIGTERM twice (timeout(1) sends it to the
// command and to its process group) does not cut the clean stop short; it
// escalates with SIGKILL when it stops waiting. stop releases the signals;
// call it when the command returns.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	ctx, stopWatch := watchSignals(parent, ch, os.Exit)
	return ctx, func() {
		signal.Stop(ch)
		stopWatch()
	}
}

// watchSignals is [SignalContext] reading the signals from ch and exiting
// through exit, for tests: the first signal cancels the context, a later
// SIGINT calls exit(ExitInterrupted), other signals are swallowed.
func watchSignals(parent context.Context, ch <-chan os.Signal, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		for {
			select {
			case s := <-ch:
				if s == os.Interrupt {
					exit(ExitInterrupted)
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			cancel()
		})
	}
}
