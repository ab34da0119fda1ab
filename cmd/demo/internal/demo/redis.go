package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// redisProcess is a redis-server the demo started.
type redisProcess struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// pingAddr reports whether a Redis answers PING at addr.
func pingAddr(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	// -NOAUTH means a Redis is there but wants a password: still "there".
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("unexpected answer %q", strings.TrimSpace(line))
	}
	return nil
}

// startRedis runs bin (redis-server) on 127.0.0.1:port with an empty
// temporary working directory and no persistence, and waits until it
// answers. It runs in its own process group, so the Ctrl-C that stops the
// demo does not reach it before the worker has shut down.
func startRedis(ctx context.Context, bin string, port string) (*redisProcess, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("demo: no Redis on 127.0.0.1:%s and %s not found (install redis-server, or set DEMO_REDIS_URL): %w", port, bin, err)
	}
	dir, err := os.MkdirTemp("", "demo-redis-")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cmd := exec.Command(path,
		"--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"))
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("demo: start %s: %w", path, err)
	}
	p := &redisProcess{cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pingAddr(addr) == nil {
			return p, nil
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("demo: redis-server exited at start:\n%s", log)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("demo: redis-server did not answer within 10s")
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 5s) and removes its
// directory.
func (p *redisProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.dir)
}
