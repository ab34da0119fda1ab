package demo

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// ensureRedis checks that Redis answers. When it does not, and cfg allows
// it, it starts a private, in-memory redis-server on the loopback address
// with dir as its working directory (its log lives there), in a process
// group of its own so that the Ctrl-C that stops the demo does not reach it
// before the worker has shut down, and returns it; the caller closes it.
func ensureRedis(cfg Config, dir string, opt asynq.RedisConnOpt, say func(string, ...any)) (*testproc.Redis, error) {
	var addr string
	if o, ok := opt.(asynq.RedisClientOpt); ok && o.Network != "unix" {
		addr = o.Addr
	}
	if addr == "" || testproc.Ping(addr) == nil {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !cfg.StartRedis || (host != "127.0.0.1" && host != "localhost") {
		return nil, fmt.Errorf("demo: no Redis answers at %s (start one, or set %s)", addr, EnvRedisURL)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("demo: no Redis answers at %s (start one, or set %s)", addr, EnvRedisURL)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r, err := testproc.RunRedis(testproc.RedisOptions{Port: n, Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("demo: no Redis answers at %s and none could be started (install redis-server, or set %s): %w", addr, EnvRedisURL, err)
	}
	say("redis: none on %s, started redis-server in %s (stopped at exit)", addr, r.Dir())
	return r, nil
}
