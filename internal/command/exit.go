package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of every command. README.md lists them once, in its
// "Exit statuses" section; a test keeps the two the same.
const (
	// ExitOK: everything requested succeeded. A server stopped by SIGINT
	// or SIGTERM that shut down cleanly also exits with it.
	ExitOK = 0
	// ExitFailed: some work failed or was rejected.
	ExitFailed = 1
	// ExitUsage: bad command line or configuration, failed start-up checks
	// included.
	ExitUsage = 2
	// ExitUnavailable: a dependency, such as Redis, could not be reached.
	ExitUnavailable = 3
	// ExitInterrupted: stopped by SIGINT or SIGTERM before the work was
	// done.
	ExitInterrupted = 130
)

// exitError gives err the exit status code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// UsageError marks err as a usage or configuration error: [Code] maps it
// to [ExitUsage]. The message is err's. UsageError(nil) is nil.
func UsageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitUsage, err}
}

// Usagef is [UsageError] of a new error formatted as by [fmt.Errorf].
func Usagef(format string, a ...any) error {
	return UsageError(fmt.Errorf(format, a...))
}

// UnavailableError marks err as a dependency (Redis, say) being
// unreachable: [Code] maps it to [ExitUnavailable]. UnavailableError(nil)
// is nil.
func UnavailableError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitUnavailable, err}
}

// Code is the exit status of a command that ran with ctx (the context of
// [SignalContext]) and ended with err:
//
//   - nil, or [flag.ErrHelp]: [ExitOK];
//   - any other error once ctx is done, i.e. the work was cut short by a
//     signal: [ExitInterrupted];
//   - an error marked by [UsageError] or [UnavailableError]: [ExitUsage] or
//     [ExitUnavailable] (the outermost mark wins);
//   - any other error: [ExitFailed].
func Code(ctx context.Context, err error) int {
	var ee *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case ctx.Err() != nil:
		return ExitInterrupted
	case errors.As(err, &ee):
		return ee.code
	}
	return ExitFailed
}

// Report writes err for a person on w, after the command's name (unless
// the message starts with it already), and returns its exit status
// ([Code]): nothing for nil or [flag.ErrHelp]; "name: interrupted" when
// the work was cut short; the message followed by a hint to run
// "name --help" for a usage error; the message alone otherwise.
func Report(ctx context.Context, w io.Writer, name string, err error) int {
	code := Code(ctx, err)
	if code == ExitOK {
		return code
	}
	msg := name + ": interrupted"
	if code != ExitInterrupted {
		msg = err.Error()
		if !strings.HasPrefix(msg, name+": ") {
			msg = name + ": " + msg
		}
	}
	if code == ExitUsage {
		msg += "\nRun '" + name + " --help' for usage."
	}
	fmt.Fprintln(w, msg)
	return code
}
