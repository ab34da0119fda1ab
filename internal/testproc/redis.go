package testproc

import (
	"bufio"
	"cmp"
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
	"time"
)

// RedisOptions tune a server. The zero value is an in-memory server on a
// free port in a temporary directory.
type RedisOptions struct {
	// AppendOnly turns on append-only persistence (appendfsync always), so
	// a restart keeps every acknowledged write.
	AppendOnly bool
	// Args are extra redis-server arguments, e.g. "--cluster-enabled", "yes".
	Args []string
	// Port fixes the port; 0 picks a free one.
	Port int
	// Dir is the server's working directory (append-only files and its
	// log live there). Empty: a new temporary directory, removed by
	// [Redis.Close].
	Dir string

	// clusterBus gives the server a cluster bus port of its own
	// (--cluster-port), picked free with the data port and picked again
	// with it when the first start finds either taken ([StartCluster]).
	clusterBus bool
}

// Redis is a running (or stopped) private redis-server.
type Redis struct {
	opts RedisOptions
	dir  string
	// ownDir: dir was made for this server, and Close removes it.
	ownDir bool
	// port is the server's port; 0 until the first start picks one when
	// opts.Port is 0.
	port int
	// busPort is the cluster bus port with opts.clusterBus, 0 until picked.
	busPort int
	// sentinelConf, when set, runs the process as a Sentinel with this
	// (rewritable) configuration file instead of as a data server.
	sentinelConf string
	started      bool

	mu   sync.Mutex
	proc *Proc // nil until the first start
}

// RunRedis starts a private redis-server and waits until it answers, for
// code that is not a test (cmd/demo, cmd/bench, a TestMain). The caller
// stops it with [Redis.Close]. A port fixed by opts.Port is used as it is;
// a free port picked for the server that another process takes before
// redis-server binds it is replaced by another free one.
func RunRedis(opts RedisOptions) (*Redis, error) {
	s := &Redis{opts: opts, dir: opts.Dir, port: opts.Port}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "testproc-redis-")
		if err != nil {
			return nil, fmt.Errorf("testproc: %w", err)
		}
		s.dir, s.ownDir = dir, true
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// StartRedis starts a private redis-server in a directory of the test's
// and stops it when the test ends. It fails the test when the server
// cannot start: a missing redis-server fails loudly, it never skips.
func StartRedis(t TB, opts ...RedisOptions) *Redis {
	t.Helper()
	o := first(opts)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	s, err := RunRedis(o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// RunWithRedis runs the tests of m, from a TestMain where no test exists
// yet (runnable examples need Redis too), with a private, in-memory
// redis-server whose redis:// URL it stores in *url first. It returns m's
// exit code once the server is killed and its directory removed. It panics
// when the server cannot start, which fails the whole test binary loudly.
// m is a *testing.M; the package takes the one method it calls so that the
// commands linking it do not link package testing.
func RunWithRedis(m interface{ Run() int }, url *string) int {
	s, err := RunRedis(RedisOptions{})
	if err != nil {
		panic(err.Error())
	}
	defer s.Close()
	*url = s.URL()
	return m.Run()
}

// Addr is host:port of the server.
func (s *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port is the server's TCP port.
func (s *Redis) Port() int { return s.port }

// URL is a redis:// URL for the server's database 0.
func (s *Redis) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir is the server's working directory (append-only files live here).
func (s *Redis) Dir() string { return s.dir }

// Kill stops the server with SIGKILL and waits for it to exit. It may be
// started again.
func (s *Redis) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.Kill()
	}
}

// Close kills the server and removes its directory if [RunRedis] made it.
func (s *Redis) Close() {
	s.Kill()
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

// Restart kills the server and starts it again on the same port and
// directory; with AppendOnly its data survives.
func (s *Redis) Restart() error {
	s.Kill()
	return s.Start()
}

// Start starts the server, or a stopped one again on its port and
// directory, and waits until it answers. A first start on a port picked
// free moves to another free port when that one turns out to be taken (a
// port fixed by RedisOptions.Port is never moved, nor is a port a server
// has run on).
func (s *Redis) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		bin, err := redisServer()
		if err != nil {
			return err
		}
		s.proc = &Proc{Name: "redis-server", Path: bin}
	}
	autoPort := s.opts.Port == 0
	for attempt := 1; ; attempt++ {
		if err := s.pickPorts(); err != nil {
			return fmt.Errorf("testproc: %w", err)
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
		return fmt.Errorf("testproc: %w", err)
	}
}

// redisServer finds the redis-server binary: $REDIS_SERVER, else
// redis-server on PATH.
func redisServer() (string, error) {
	name := os.Getenv("REDIS_SERVER")
	name = cmp.Or(name, "redis-server")
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("testproc: %s not found (install Debian's redis-server or set REDIS_SERVER): %w", name, err)
	}
	return path, nil
}

// pickPorts picks a free port for the data port and, with a cluster bus,
// the bus port where they are not set yet.
func (s *Redis) pickPorts() error {
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

// args is the command line of the next start.
func (s *Redis) args() []string {
	var args []string
	if s.sentinelConf != "" {
		// The port on the command line wins over the file's, so that a
		// start can move to another one.
		args = []string{s.sentinelConf, "--sentinel", "--port", strconv.Itoa(s.port)}
	} else {
		args = []string{
			"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--save", "", "--daemonize", "no",
			"--logfile", s.logFile(),
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
	return append(args, s.opts.Args...)
}

func (s *Redis) logFile() string { return filepath.Join(s.dir, "redis.log") }

// launch runs redis-server once and waits until it answers PING.
func (s *Redis) launch() error {
	// Each start writes a log of its own, so that an earlier start's
	// lines are not mistaken for this one's.
	_ = os.Remove(s.logFile())
	s.proc.Args = s.args()
	if err := s.proc.Start(); err != nil {
		return err
	}
	logText := func() string {
		b, _ := os.ReadFile(s.logFile())
		return string(b)
	}
	pid := s.proc.Pid()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if Ping(s.Addr()) == nil {
			// PONG may come from another redis-server that holds the port
			// while ours fails to bind it: only our own pid will do.
			other, err := processID(s.Addr())
			if err == nil && other == pid {
				return nil
			}
			if err == nil {
				s.proc.Kill()
				return fmt.Errorf("redis-server on %s: %w by another redis-server (pid %d)", s.Addr(), errPortTaken, other)
			}
		}
		if !s.proc.Running() {
			log := logText()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("redis-server on %s: %w; log:\n%s", s.Addr(), errPortTaken, log)
			}
			return fmt.Errorf("redis-server on %s exited at start; log:\n%s%s", s.Addr(), log, s.proc.Log())
		}
		if time.Now().After(deadline) {
			s.proc.Kill()
			return fmt.Errorf("redis-server on %s not ready after 10s; log:\n%s", s.Addr(), logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pid is the process id of the running redis-server, 0 when stopped.
func (s *Redis) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || !s.proc.Running() {
		return 0
	}
	return s.proc.Pid()
}

// Ping reports whether a Redis answers PING at addr: nil for +PONG, and
// for -NOAUTH too (a Redis is there, and wants a password).
func Ping(addr string) error {
	return talk(addr, "PING", func(r *bufio.Reader) error {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
			return fmt.Errorf("testproc: unexpected answer to PING at %s: %q", addr, strings.TrimSpace(line))
		}
		return nil
	})
}

// processID asks the server at addr for its process_id (INFO server).
func processID(addr string) (int, error) {
	var pid int
	err := talk(addr, "INFO server", func(r *bufio.Reader) error {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
			return fmt.Errorf("testproc: unexpected INFO reply %q", line)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		if pid, err = strconv.Atoi(parseInfo(string(body))["process_id"]); err != nil {
			return fmt.Errorf("testproc: INFO server: process_id: %w", err)
		}
		return nil
	})
	return pid, err
}

// talk sends one inline command to the Redis at addr and lets read take
// the answer, within a second.
func talk(addr, command string, read func(*bufio.Reader) error) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(command + "\r\n")); err != nil {
		return err
	}
	return read(bufio.NewReader(c))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testproc: %v", err)
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
