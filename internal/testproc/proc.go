package testproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrStillRunning: a process did not exit in time.
var ErrStillRunning = errors.New("testproc: process still running")

// errNotRunning: the process is not running.
var errNotRunning = errors.New("testproc: process not running")

// Proc is a child process that can be started, signalled, killed and
// started again with the same command line. Everything it writes to stdout
// and stderr, over all its lives, is kept in one log. On Linux the child
// runs in a process group of its own, so that the Ctrl-C of a terminal
// reaches only the parent, which stops its children in its own order, and
// it is killed if the parent dies (parent-death signal). Proc is safe for
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
		return fmt.Errorf("testproc: start %s: already running as pid %d", p.Name, p.cmd.Process.Pid)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	p.starts++
	w := p.log.prefixed(fmt.Sprintf("[%s#%d] ", p.Name, p.starts))
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testproc: start %s: %w", p.Name, err)
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
		return fmt.Errorf("%w: %s", errNotRunning, p.Name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("testproc: signal %s: %w", p.Name, err)
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
		return fmt.Errorf("%w: %s was never started", errNotRunning, p.Name)
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
// process in bytes, read from /proc/<pid>/status (Linux only).
func (p *Proc) PeakRSS() (int64, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return 0, fmt.Errorf("%w: %s", errNotRunning, p.Name)
	}
	return peakRSS(cmd.Process.Pid)
}

// PeakRSSOf returns VmHWM, the peak resident set size in bytes, of the
// running process pid, from /proc/<pid>/status (Linux only). Read it before
// the process ends: once it has exited the figure is gone. The peak RSS a
// parent reads from wait4 (os.ProcessState.SysUsage) is no substitute for
// a child started by Go: os/exec starts children with vfork, and Linux
// counts the parent's peak into the child's from its exec on, so a child
// of a 100 MB process reports at least 100 MB.
func PeakRSSOf(pid int) (int64, error) { return peakRSS(pid) }

// peakRSS returns VmHWM, the peak resident set size in bytes, of a running
// process, from /proc/<pid>/status.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("testproc: read process status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("testproc: odd VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("testproc: VmHWM: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("testproc: no VmHWM in /proc/%d/status", pid)
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
