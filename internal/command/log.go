package command

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger builds a logger writing to w. format is "text" or "json", level
// "debug", "info", "warn" (or "warning") or "error", in any case; empty
// means text and info. The error names the value at fault, not the setting
// that holds it: callers add that (LOG_LEVEL, --log-level).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q is neither text nor json", format)
}

// ParseLevel reads a log level as [NewLogger] does: debug, info, warn (or
// warning) or error, in any case; empty means info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not one of debug, info, warn, error", s)
}
