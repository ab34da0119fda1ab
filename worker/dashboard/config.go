package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Defaults of [Config].
const (
	// DefaultAddr is where the dashboard listens: loopback only.
	DefaultAddr = "127.0.0.1:8090"
	// defaultRootPath is where the asynq dashboard lives; "/" redirects to it.
	defaultRootPath = "/monitoring/"
	// defaultCheckTimeout bounds each readiness check.
	defaultCheckTimeout = 2 * time.Second
)

// hostNameRE matches a DNS host name, as AllowedHosts must hold.
var hostNameRE = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$`)

// rootPathRE limits RootPath to plain path characters, so that it is also a
// valid http.ServeMux pattern.
var rootPathRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+/$`)

// Errors of the package.
var (
	// errConfig marks an invalid [Config].
	errConfig = errors.New("dashboard: invalid configuration")
	// ErrInsecureBind reports a non-loopback listen address without
	// authentication and without Config.Insecure.
	ErrInsecureBind = errors.New("dashboard: refusing to serve beyond loopback without authentication")
)

// Check is one readiness check run by /readyz.
type Check struct {
	// Name identifies the check in the /readyz body, e.g. "gateway".
	Name string
	// Func returns nil when the dependency is ready. It should honour ctx,
	// which carries Config.CheckTimeout.
	Func func(ctx context.Context) error
}

// Config configures a [Server]. Zero values take the documented defaults.
type Config struct {
	// Addr is the TCP address to listen on. Default [DefaultAddr]. An
	// address that is not loopback (including ":8090" and "0.0.0.0:8090")
	// needs User and Password, or Insecure.
	Addr string
	// RootPath is the URL path of the asynq dashboard. Default
	// /monitoring/. It must start with "/" and must not be "/".
	RootPath string
	// Redis is the client of the Redis asynq uses. Required. The dashboard,
	// the queue metrics and the readiness probe all use it, and none opens
	// a connection pool of its own; the caller closes it, after the server.
	Redis redis.UniversalClient
	// User and Password turn on HTTP basic authentication for everything
	// but /healthz and /readyz. Set both or neither.
	User, Password string
	// ReadOnly refuses every request other than GET and HEAD, and hides the
	// dashboard's buttons that change tasks or queues.
	ReadOnly bool
	// Insecure allows a non-loopback Addr without authentication.
	Insecure bool
	// AllowedHosts are the host names (without port) under which the
	// dashboard and /metrics may be reached, besides "localhost", names
	// ending in ".localhost" and IP addresses; e.g. the name a reverse
	// proxy forwards. A request naming any other host in its Host header
	// is refused, so that a web page cannot reach the dashboard through a
	// DNS name of its own pointing at this machine (DNS rebinding). Matched
	// without regard to case.
	AllowedHosts []string
	// Collectors are served on /metrics next to asynq's queue metrics and
	// the Go runtime's, e.g. the upload metrics (a *metrics.Uploads).
	Collectors []prometheus.Collector
	// Checks run on /readyz after the built-in Redis ping, in order.
	Checks []Check
	// CheckTimeout bounds each readiness check. Default
	// 2s.
	CheckTimeout time.Duration
	// Logger receives the server's log lines. Default: discarded.
	Logger *slog.Logger

	// now is the clock of the sign-in throttle. Default time.Now.
	now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Addr = cmp.Or(c.Addr, DefaultAddr)
	c.RootPath = cmp.Or(c.RootPath, defaultRootPath)
	if !strings.HasSuffix(c.RootPath, "/") {
		c.RootPath += "/"
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = defaultCheckTimeout
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.Redis == nil {
		return fmt.Errorf("%w: Redis is required", errConfig)
	}
	if !strings.HasPrefix(c.RootPath, "/") || c.RootPath == "/" {
		return fmt.Errorf("%w: RootPath %q must start with / and not be /", errConfig, c.RootPath)
	}
	if !rootPathRE.MatchString(c.RootPath) || strings.Contains(c.RootPath, "//") || strings.Contains(c.RootPath, "/../") || strings.Contains(c.RootPath, "/./") {
		return fmt.Errorf("%w: RootPath %q must be a clean path of letters, digits, '-', '_', '.' and '/'", errConfig, c.RootPath)
	}
	if (c.User == "") != (c.Password == "") {
		return fmt.Errorf("%w: set both User and Password, or neither", errConfig)
	}
	if strings.Contains(c.User, ":") {
		return fmt.Errorf("%w: User must not contain ':'", errConfig)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: address %q: %w", errConfig, c.Addr, err)
	}
	for _, h := range c.AllowedHosts {
		if !hostNameRE.MatchString(h) {
			return fmt.Errorf("%w: AllowedHosts: %q is not a host name (give names without scheme, port or path)", errConfig, h)
		}
	}
	for i, ch := range c.Checks {
		if ch.Name == "" || ch.Func == nil {
			return fmt.Errorf("%w: check %d needs a Name and a Func", errConfig, i)
		}
	}
	if !isLoopback(c.Addr) && c.User == "" && !c.Insecure {
		return fmt.Errorf("%w: %q is reachable from other machines; set User and Password, "+
			"listen on 127.0.0.1, or set Insecure to serve it without authentication anyway",
			ErrInsecureBind, c.Addr)
	}
	return nil
}

// isLoopback reports whether the listen address addr (host:port) accepts
// connections from this machine only: "localhost" or a loopback IP. An empty
// host means every interface, so it is not loopback; neither is any other
// host name, whose addresses may change.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
