package testredis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// StartMain launches a private, in-memory redis-server from a TestMain,
// where no *testing.T exists (runnable examples need Redis too). It returns
// the server's redis:// URL and a stop function to call when m.Run returns,
// which kills the server and removes its directory. It panics when the
// server cannot start, which fails the whole test binary loudly.
func StartMain() (url string, stop func()) {
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		panic(fmt.Sprintf("testredis: %s not found (install Debian's redis-server or set REDIS_SERVER): %v", bin, err))
	}
	dir, err := os.MkdirTemp("", "testredis-main-")
	if err != nil {
		panic(fmt.Sprintf("testredis: %v", err))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("testredis: free port: %v", err))
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		panic(fmt.Sprintf("testredis: start %s: %v", path, err))
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ping(addr) != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			stop()
			panic(fmt.Sprintf("testredis: redis-server on %s not ready after 10s; log:\n%s", addr, log))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "redis://" + addr + "/0", stop
}
