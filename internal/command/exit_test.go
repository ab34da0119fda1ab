package command

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	t.Parallel()
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	plain := errors.New("boom")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"nil", live, nil, ExitOK},
		{"nil after a signal", done, nil, ExitOK},
		{"help", live, fmt.Errorf("parse: %w", flag.ErrHelp), ExitOK},
		{"plain", live, plain, ExitFailed},
		{"usage", live, fmt.Errorf("config: %w", UsageError(plain)), ExitUsage},
		{"usagef", live, Usagef("--x: %w", plain), ExitUsage},
		{"unavailable", live, UnavailableError(plain), ExitUnavailable},
		{"outermost mark wins", live, UsageError(UnavailableError(plain)), ExitUsage},
		{"error after a signal", done, UnavailableError(context.Canceled), ExitInterrupted},
	} {
		if got := Code(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: Code = %d, want %d", tt.name, got, tt.want)
		}
	}
	if UsageError(nil) != nil || UnavailableError(nil) != nil {
		t.Error("marking nil is not nil")
	}
	if err := Usagef("--x: %w", plain); !errors.Is(err, plain) || err.Error() != "--x: boom" {
		t.Errorf("Usagef = %q, does not wrap or changes the message", err)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		ctx  context.Context
		err  error
		code int
		out  string
	}{
		{context.Background(), nil, ExitOK, ""},
		{context.Background(), flag.ErrHelp, ExitOK, ""},
		{context.Background(), Usagef("no PATH given"), ExitUsage, "tool: no PATH given\nRun 'tool --help' for usage.\n"},
		{context.Background(), UnavailableError(errors.New("redis: refused")), ExitUnavailable, "tool: redis: refused\n"},
		{context.Background(), errors.New("2 files rejected"), ExitFailed, "tool: 2 files rejected\n"},
		{context.Background(), errors.New("tool: no keys"), ExitFailed, "tool: no keys\n"},
		{done, context.Canceled, ExitInterrupted, "tool: interrupted\n"},
	} {
		var buf bytes.Buffer
		if code := Report(tt.ctx, &buf, "tool", tt.err); code != tt.code || buf.String() != tt.out {
			t.Errorf("Report(%v) = %d, %q; want %d, %q", tt.err, code, buf.String(), tt.code, tt.out)
		}
	}
}

// TestReadmeExitStatuses checks that README.md's "Exit statuses" table
// lists exactly the statuses defined here.
func TestReadmeExitStatuses(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `(\\d+)` \\|")
	var got []int
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Exit statuses"
			continue
		}
		if m := row.FindStringSubmatch(line); in && m != nil {
			n, _ := strconv.Atoi(m[1])
			got = append(got, n)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := []int{ExitOK, ExitFailed, ExitUsage, ExitUnavailable, ExitInterrupted}
	if !slices.Equal(got, want) {
		t.Errorf("README.md's Exit statuses table lists %v, want %v in this order", got, want)
	}
}
