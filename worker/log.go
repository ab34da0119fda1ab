package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/hibiken/asynq"
)

// asynqLogger sends asynq's own log lines to slog, marked component=asynq.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) log(level slog.Level, args []any) {
	if a.l.Enabled(context.Background(), level) {
		a.l.Log(context.Background(), level, fmt.Sprint(args...))
	}
}

func (a asynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a asynqLogger) Info(args ...any)  { a.log(slog.LevelInfo, args) }

// Warn logs asynq's warnings, except its "Retry exhausted for task id=..."
// line: asynq writes it for every archived task, also one archived at its
// first attempt by a permanent failure, and the upload handler has already
// logged why the task is archived. It goes to debug.
func (a asynqLogger) Warn(args ...any) {
	if msg := fmt.Sprint(args...); strings.HasPrefix(msg, "Retry exhausted for task") {
		a.l.Debug(msg)
		return
	}
	a.log(slog.LevelWarn, args)
}
func (a asynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }

// Fatal is part of asynq.Logger; asynq documents that it exits the process.
func (a asynqLogger) Fatal(args ...any) {
	a.log(slog.LevelError, args)
	os.Exit(1)
}

// asynqLevel is the asynq log level matching the lowest level l records.
func asynqLevel(l *slog.Logger) asynq.LogLevel {
	ctx := context.Background()
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		return asynq.DebugLevel
	case l.Enabled(ctx, slog.LevelInfo):
		return asynq.InfoLevel
	case l.Enabled(ctx, slog.LevelWarn):
		return asynq.WarnLevel
	default:
		return asynq.ErrorLevel
	}
}
