package command

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		format, level string
		json          bool
		min           slog.Level
	}{
		{"", "", false, slog.LevelInfo},
		{"text", "debug", false, slog.LevelDebug},
		{"JSON", "Warning", true, slog.LevelWarn},
		{"json", "error", true, slog.LevelError},
		{" text ", "WARN", false, slog.LevelWarn},
	} {
		var buf bytes.Buffer
		l, err := NewLogger(&buf, tt.format, tt.level)
		if err != nil {
			t.Errorf("NewLogger(%q, %q): %v", tt.format, tt.level, err)
			continue
		}
		if l.Enabled(context.Background(), tt.min-1) || !l.Enabled(context.Background(), tt.min) {
			t.Errorf("NewLogger(%q, %q): lowest enabled level is not %v", tt.format, tt.level, tt.min)
		}
		l.Log(context.Background(), tt.min, "hello", "k", "v")
		var rec map[string]any
		isJSON := json.Unmarshal(buf.Bytes(), &rec) == nil
		if isJSON != tt.json || !strings.Contains(buf.String(), "hello") {
			t.Errorf("NewLogger(%q, %q) wrote %q; want JSON %v", tt.format, tt.level, buf.String(), tt.json)
		}
	}
}

func TestNewLoggerRefusesUnknownValues(t *testing.T) {
	t.Parallel()
	if _, err := NewLogger(io.Discard, "xml", "info"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: err = %v", err)
	}
	if _, err := NewLogger(io.Discard, "text", "loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("level loud: err = %v", err)
	}
}

func TestFlagName(t *testing.T) {
	t.Parallel()
	if got := FlagName("WORKER_DELAYED_TASK_CHECK_INTERVAL"); got != "worker-delayed-task-check-interval" {
		t.Errorf("FlagName = %q", got)
	}
}

func TestVarsFlagWinsOverEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REDIS_URL": "redis://env:6379/0", "LOG_LEVEL": "debug", "DASHBOARD_PASSWORD": " spaced "}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v := BindVars(fs, func(k string) string { return env[k] },
		Var{Name: "REDIS_URL"}, Var{Name: "LOG_LEVEL"}, Var{Name: "QUEUE"}, Var{Name: "DASHBOARD_PASSWORD"})
	if err := fs.Parse([]string{"--redis-url", "redis://flag:6379/1", "-queue="}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"REDIS_URL":          "redis://flag:6379/1", // flag given
		"LOG_LEVEL":          "debug",               // environment only
		"QUEUE":              "",                    // flag given empty
		"DASHBOARD_PASSWORD": " spaced ",            // as it is
	} {
		if got := v.Get(name); got != want {
			t.Errorf("Get(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestVarsGetUnboundPanics(t *testing.T) {
	t.Parallel()
	v := BindVars(flag.NewFlagSet("test", flag.ContinueOnError), func(string) string { return "" })
	defer func() {
		if recover() == nil {
			t.Error("Get of an unbound variable did not panic")
		}
	}()
	v.Get("HOME")
}

// TestWatchSignals feeds signals through an unbuffered channel, so each
// send returns only once the previous signal was dealt with: the first
// cancels the context, repeated SIGTERMs are swallowed, a second SIGINT
// exits with ExitInterrupted.
func TestWatchSignals(t *testing.T) {
	t.Parallel()
	ch := make(chan os.Signal)
	exited := make(chan int, 4)
	ctx, stop := watchSignals(context.Background(), ch, func(code int) { exited <- code })
	defer stop()
	ch <- syscall.SIGTERM
	<-ctx.Done()
	ch <- syscall.SIGTERM
	ch <- syscall.SIGTERM // received once the one before was dealt with
	if len(exited) != 0 {
		t.Fatalf("exit(%d) after a repeated SIGTERM", <-exited)
	}
	ch <- os.Interrupt
	if code := <-exited; code != ExitInterrupted {
		t.Errorf("exit code %d after a second SIGINT, want %d", code, ExitInterrupted)
	}
}

// TestSignalContext sends the process a real SIGTERM, which cancels the
// context instead of ending the process. (Not parallel: the signal reaches
// every SignalContext of the test binary.)
func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
}

func TestSignalContextStop(t *testing.T) {
	t.Parallel()
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	ctx, stop := SignalContext(parent)
	if ctx.Err() != nil {
		t.Fatal("cancelled before any signal")
	}
	stop()
	stop() // a second call is harmless
	if ctx.Err() == nil {
		t.Error("stop did not cancel the context")
	}
}
