package conffile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRefusesDevZero(t *testing.T) {
	if _, err := Read("/dev/zero", MaxSize); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Read(/dev/zero) = %v, want ErrNotRegular", err)
	}
}

func TestReadRefusesFIFOWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	// With no writer, a blocking open would never return and the test
	// would hang until the test binary's timeout.
	if _, err := Read(p, MaxSize); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Read(fifo) = %v, want ErrNotRegular", err)
	}
}

func TestReadRefusesDirectory(t *testing.T) {
	if _, err := Read(t.TempDir(), MaxSize); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Read(dir) = %v, want ErrNotRegular", err)
	}
}

func TestReadRefusesLargeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 11)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p, 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read(11 bytes, max 10) = %v, want ErrTooLarge", err)
	}
	if b, err := Read(p, 11); err != nil || len(b) != 11 {
		t.Fatalf("Read(11 bytes, max 11) = %d bytes, %v", len(b), err)
	}
}

// TestREADMEStatesTheLimit: the README, where configuration files are
// described, states the rule and this package's limit.
func TestREADMEStatesTheLimit(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("must be regular files of at most %d MiB", MaxSize>>20)
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), want) {
		t.Errorf("README.md does not say %q", want)
	}
}
