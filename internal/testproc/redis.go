package testredis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options tune a server. The zero value is an in-memory server.
type Options struct {
	// AppendOnly turns on append-only persistence (appendfsync always), so
	// a restart keeps every acknowledged write.
	AppendOnly bool
	// Args are extra redis-server arguments, e.g. "--cluster-enabled", "yes".
	Args []string
	// Port fixes the port; 0 picks a free one.
	Port int

	// clusterBus gives the server a cluster bus port of its own
	// (--cluster-port), picked free with the data port and picked again
	// with it when the first start finds either taken ([StartCluster]).
	clusterBus bool
}

// Server is a running (or stopped) private redis-server.
type Server struct {
	t    testing.TB // nil for a server of StartProcess
	opts Options
	dir  string
	// port is the server's port; 0 until the first start picks one when
	// opts.Port is 0.
	port int
	// busPort is the cluster bus port with opts.clusterBus, 0 until picked.
	busPort int
	// sentinelConf, when set, runs the process as a Sentinel with this
	// (rewritable) configuration file instead of as a data server.
	sentinelConf string
	// bin is redis-server's path, looked up at the first start.
	bin     string
	started bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// Start launches a private redis-server and stops it when the test ends.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Server{t: t, opts: o, dir: t.TempDir(), port: o.Port}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// URL is a redis:// URL for the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir is the server's working directory (append-only files live here).
func (s *Server) Dir() string { return s.dir }

// Kill stops the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port and
// directory; with AppendOnly its data survives.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Start starts a stopped server again.
func (s *Server) Start() {
	s.t.Helper()
	s.start()
}

// start runs the server and fails the test when it cannot.
func (s *Server) start() {
	s.t.Helper()
	if err := s.run(); err != nil {
		s.t.Fatalf("%v", err)
	}
}

// run starts the server and waits until it answers. It picks a free port
// when the server has none yet; a port picked free a moment ago can be
// taken by another test's process before redis-server binds it, and the
// first start then moves to another free port (a port fixed by
// Options.Port is never moved, nor is a port a server has run on).
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bin == "" {
		name := os.Getenv("REDIS_SERVER")
		if name == "" {
			name = "redis-server"
		}
		path, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("testredis: %s not found (install Debian's redis-server or set REDIS_SERVER): %w", name, err)
		}
		s.bin = path
	}
	autoPort := s.opts.Port == 0
	for attempt := 1; ; attempt++ {
		if err := s.pickPorts(); err != nil {
			return fmt.Errorf("testredis: %w", err)
		}
		err := s.launch()
		if err == nil {
			s.started = true
			return nil
		}
		if errors.Is(err, errPortTaken) && autoPort && !s.started && attempt < 5 {
			s.port, s.busPort = 0, 0
			continue
		}
		return fmt.Errorf("testredis: %w", err)
	}
}

// pickPorts picks a free port for the data port and, with a cluster bus,
// the bus port where they are not set yet.
func (s *Server) pickPorts() error {
	var err error
	if s.port == 0 {
		if s.port, err = freePort(); err != nil {
			return err
		}
	}
	if s.opts.clusterBus && s.busPort == 0 {
		if s.busPort, err = freePort(); err != nil {
			return err
		}
	}
	return nil
}

// errPortTaken: redis-server could not bind its port.
var errPortTaken = errors.New("port already in use")

// launch runs redis-server once and waits until it answers PING.
func (s *Server) launch() error {
	var args []string
	if s.sentinelConf != "" {
		args = sentinelArgs(s)
	} else {
		args = []string{
			"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--save", "", "--daemonize", "no",
			"--logfile", filepath.Join(s.dir, "redis.log"),
		}
		if s.opts.AppendOnly {
			args = append(args, "--appendonly", "yes", "--appendfsync", "always")
		} else {
			args = append(args, "--appendonly", "no")
		}
		if s.opts.clusterBus {
			args = append(args, "--cluster-port", strconv.Itoa(s.busPort))
		}
	}
	args = append(args, s.opts.Args...)
	// Each start writes a log of its own, so that an earlier start's
	// lines are not mistaken for this one's.
	_ = os.Remove(filepath.Join(s.dir, "redis.log"))
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	logText := func() string {
		b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		return string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(s.Addr()) == nil {
			// PONG may come from another test's redis-server that holds
			// the port while ours fails to bind it: only our own pid will do.
			pid, err := processID(s.Addr())
			if err == nil && pid == cmd.Process.Pid {
				return nil
			}
			if err == nil {
				_ = cmd.Process.Kill()
				<-exited
				s.cmd = nil
				return fmt.Errorf("redis-server on %s: %w by another redis-server (pid %d)", s.Addr(), errPortTaken, pid)
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			log := logText()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("redis-server on %s: %w; log:\n%s", s.Addr(), errPortTaken, log)
			}
			return fmt.Errorf("redis-server on %s exited at start; log:\n%s", s.Addr(), log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("redis-server on %s not ready after 10s; log:\n%s", s.Addr(), logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// processID asks the server at addr for its process_id (INFO server).
func processID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("INFO server\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected INFO reply %q", line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(parseInfo(string(body))["process_id"])
	if err != nil {
		return 0, fmt.Errorf("INFO server: process_id: %w", err)
	}
	return pid, nil
}

// pid is the process id of the running redis-server, 0 when stopped.
func (s *Server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testredis: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
