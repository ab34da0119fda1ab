package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors of the process harness.
var (
	// ErrBuild: a command could not be built.
	ErrBuild = errors.New("chaos: build failed")
	// ErrNotRunning: the process is not running.
	ErrNotRunning = errors.New("chaos: process not running")
	// ErrStillRunning: the process did not exit in time.
	ErrStillRunning = errors.New("chaos: process still running")
)

// Binaries are the project's commands, built once into a directory.
type Binaries struct {
	// Worker and Enqueue are the paths of cmd/worker and cmd/enqueue
	// (empty when not built).
	Worker, Enqueue string
}

// Commands that [Build] can build, by their directory under cmd/.
const (
	CmdWorker  = "worker"
	CmdEnqueue = "enqueue"
)

// ModuleRoot returns the directory of the main module (where go.mod is),
// as the go command sees it from the working directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goCommand(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("chaos: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("chaos: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles the named commands (CmdWorker, CmdEnqueue)
// of the module at root with one `go build -o dir/ ./cmd/...` call, without
// the race detector so the children run at full speed.
func Build(ctx context.Context, root, dir string, cmds ...string) (Binaries, error) {
	var b Binaries
	if len(cmds) == 0 {
		return b, nil
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, c := range cmds {
		args = append(args, "./cmd/"+c)
		path := filepath.Join(dir, c)
		switch c {
		case CmdWorker:
			b.Worker = path
		case CmdEnqueue:
			b.Enqueue = path
		default:
			return Binaries{}, fmt.Errorf("%w: unknown command %q", ErrBuild, c)
		}
	}
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = root
	// Whatever the test binary was built with, the children are plain.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("%w: go %s: %w\n%s", ErrBuild, strings.Join(args, " "), err, out)
	}
	return b, nil
}

func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Proc is a child process that can be started, signalled, killed and
// started again with the same command line. Everything it writes to stdout
// and stderr, over all its lives, is kept in one log. The child is killed
// if the parent dies (Linux parent-death signal). Proc is safe for
// concurrent use.
type Proc struct {
	// Name labels the process in logs.
	Name string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is the child's environment (nil: the parent's).
	Env []string
	// Dir is the working directory (empty: the parent's).
	Dir string

	log logBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	starts  int
}

// Start starts the process. It is an error to start a running process.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("chaos: start %s: already running as pid %d", p.Name, p.cmd.Process.Pid)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	p.starts++
	w := p.log.prefixed(fmt.Sprintf("[%s#%d] ", p.Name, p.starts))
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("chaos: start %s: %w", p.Name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	p.exitErr = nil
	done := p.done
	go func() {
		err := cmd.Wait()
		w.flush()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the process id of the current (or last) run, 0 before the first.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is running.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

// Signal sends sig to the running process.
func (p *Proc) Signal(sig os.Signal) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return fmt.Errorf("%w: %s", ErrNotRunning, p.Name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("chaos: signal %s: %w", p.Name, err)
	}
	return nil
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone. A
// process that is not running is left alone.
func (p *Proc) Kill() {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return
	}
	_ = p.Wait(10 * time.Second)
}

// Term sends SIGTERM and waits up to timeout for the process to exit,
// returning its exit error (nil for exit status 0), or an error matching
// [ErrStillRunning] when it did not exit in time.
func (p *Proc) Term(timeout time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.Wait(timeout)
}

// Wait waits up to timeout for the current run to end and returns its exit
// error (nil for status 0). It matches [ErrStillRunning] on timeout.
func (p *Proc) Wait(timeout time.Duration) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return fmt.Errorf("%w: %s was never started", ErrNotRunning, p.Name)
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("%w: %s after %v", ErrStillRunning, p.Name, timeout)
	}
}

// Restart kills the process if it runs, and starts it again.
func (p *Proc) Restart() error {
	p.Kill()
	return p.Start()
}

// Log returns everything the process wrote, every line prefixed with
// "[name#run] ".
func (p *Proc) Log() string { return p.log.String() }

// PeakRSS returns the peak resident set size (VmHWM) of the running
// process in bytes, read from /proc/<pid>/status.
func (p *Proc) PeakRSS() (int64, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return 0, fmt.Errorf("%w: %s", ErrNotRunning, p.Name)
	}
	return PeakRSS(cmd.Process.Pid)
}

// PeakRSS returns VmHWM, the peak resident set size in bytes, of a running
// process, from /proc/<pid>/status (Linux only).
func PeakRSS(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("chaos: read process status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("chaos: odd VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("chaos: VmHWM: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("chaos: no VmHWM in /proc/%d/status", pid)
}

func isClosed(c chan struct{}) bool {
	if c == nil {
		return true
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// logBuffer collects the lines of a process's runs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) prefixed(prefix string) *lineWriter {
	return &lineWriter{dst: b, prefix: prefix}
}

// lineWriter prefixes every complete line; exec copies stdout and stderr
// through one writer from one goroutine each, so it locks.
type lineWriter struct {
	dst    *logBuffer
	prefix string

	mu      sync.Mutex
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	last := bytes.LastIndexByte(w.partial, '\n')
	if last < 0 {
		return len(p), nil
	}
	complete := w.partial[:last+1]
	w.dst.mu.Lock()
	for _, line := range bytes.SplitAfter(complete, []byte("\n")) {
		if len(line) > 0 {
			w.dst.buf.WriteString(w.prefix)
			w.dst.buf.Write(line)
		}
	}
	w.dst.mu.Unlock()
	w.partial = append(w.partial[:0], w.partial[last+1:]...)
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) == 0 {
		return
	}
	w.dst.mu.Lock()
	w.dst.buf.WriteString(w.prefix)
	w.dst.buf.Write(w.partial)
	w.dst.buf.WriteString("\n")
	w.dst.mu.Unlock()
	w.partial = nil
}
