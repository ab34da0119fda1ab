package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of [Config].
const (
	// DefaultAddr is where the dashboard listens: loopback only.
	DefaultAddr = "127.0.0.1:8090"
	// DefaultRootPath is where the asynq dashboard lives; "/" redirects to it.
	DefaultRootPath = "/monitoring/"
	// DefaultCheckTimeout bounds each readiness check.
	DefaultCheckTimeout = 2 * time.Second
)

// Environment variables read by [ConfigFromEnv].
const (
	EnvAddr         = "HTTP_ADDR"               // listen address; "off" disables the listener
	EnvUser         = "DASHBOARD_USER"          // basic auth user
	EnvPassword     = "DASHBOARD_PASSWORD"      // basic auth password
	EnvPasswordFile = "DASHBOARD_PASSWORD_FILE" // file holding the password (first line)
	EnvReadOnly     = "DASHBOARD_READONLY"      // "true": no pause, delete, run or archive
	EnvInsecure     = "DASHBOARD_INSECURE"      // "true": allow a non-loopback address without auth
	addrOff         = "off"
)

// rootPathRE limits RootPath to plain path characters, so that it is also a
// valid http.ServeMux pattern.
var rootPathRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+/$`)

// Errors of the package.
var (
	// ErrConfig reports an invalid [Config] or environment.
	ErrConfig = errors.New("dashboard: invalid configuration")
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
	// Disabled is set by [ConfigFromEnv] when HTTP_ADDR is "off"; callers
	// then do not start a server. [New] ignores it.
	Disabled bool
	// RootPath is the URL path of the asynq dashboard. Default
	// [DefaultRootPath]. It must start with "/" and must not be "/".
	RootPath string
	// RedisConnOpt is the Redis that asynq uses. Required.
	RedisConnOpt asynq.RedisConnOpt
	// User and Password turn on HTTP basic authentication for everything
	// but /healthz and /readyz. Set both or neither.
	User, Password string
	// ReadOnly refuses every request other than GET and HEAD, and hides the
	// dashboard's buttons that change tasks or queues.
	ReadOnly bool
	// Insecure allows a non-loopback Addr without authentication.
	Insecure bool
	// Gatherer is served on /metrics. Default: a registry from
	// metrics.NewRegistry over asynq's queues holding Collectors too.
	Gatherer prometheus.Gatherer
	// Collectors are added to the default registry, e.g. the upload
	// metrics (a *metrics.Uploads). Ignored when Gatherer is set.
	Collectors []prometheus.Collector
	// Checks run on /readyz after the built-in Redis ping, in order.
	Checks []Check
	// CheckTimeout bounds each readiness check. Default
	// [DefaultCheckTimeout].
	CheckTimeout time.Duration
	// Logger receives the server's log lines. Default: discarded.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.RootPath == "" {
		c.RootPath = DefaultRootPath
	}
	if !strings.HasSuffix(c.RootPath, "/") {
		c.RootPath += "/"
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.RedisConnOpt == nil {
		return fmt.Errorf("%w: RedisConnOpt is required", ErrConfig)
	}
	if !strings.HasPrefix(c.RootPath, "/") || c.RootPath == "/" {
		return fmt.Errorf("%w: RootPath %q must start with / and not be /", ErrConfig, c.RootPath)
	}
	if !rootPathRE.MatchString(c.RootPath) || strings.Contains(c.RootPath, "//") || strings.Contains(c.RootPath, "/../") || strings.Contains(c.RootPath, "/./") {
		return fmt.Errorf("%w: RootPath %q must be a clean path of letters, digits, '-', '_', '.' and '/'", ErrConfig, c.RootPath)
	}
	if (c.User == "") != (c.Password == "") {
		return fmt.Errorf("%w: set both %s and %s, or neither", ErrConfig, EnvUser, EnvPassword)
	}
	if strings.Contains(c.User, ":") {
		return fmt.Errorf("%w: %s must not contain ':'", ErrConfig, EnvUser)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: address %q: %w", ErrConfig, c.Addr, err)
	}
	for i, ch := range c.Checks {
		if ch.Name == "" || ch.Func == nil {
			return fmt.Errorf("%w: check %d needs a Name and a Func", ErrConfig, i)
		}
	}
	if !IsLoopback(c.Addr) && c.User == "" && !c.Insecure {
		return fmt.Errorf("%w: %q is reachable from other machines; set %s and %s (or %s), "+
			"listen on 127.0.0.1, or set %s=true to serve it without authentication anyway",
			ErrInsecureBind, c.Addr, EnvUser, EnvPassword, EnvPasswordFile, EnvInsecure)
	}
	return nil
}

// IsLoopback reports whether the listen address addr (host:port) accepts
// connections from this machine only: "localhost" or a loopback IP. An empty
// host means every interface, so it is not loopback; neither is any other
// host name, whose addresses may change.
func IsLoopback(addr string) bool {
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

// ConfigFromEnv reads the HTTP settings from the environment through getenv
// (usually os.Getenv): HTTP_ADDR ("off" sets Disabled), DASHBOARD_USER,
// DASHBOARD_PASSWORD or DASHBOARD_PASSWORD_FILE (its first line; not both),
// DASHBOARD_READONLY and DASHBOARD_INSECURE (true or false). RedisConnOpt,
// Gatherer and Checks are left for the caller. The result is checked by
// [New], not here.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.Addr = strings.TrimSpace(getenv(EnvAddr))
	if strings.EqualFold(c.Addr, addrOff) {
		c.Addr, c.Disabled = "", true
	}
	c.User = getenv(EnvUser)
	c.Password = getenv(EnvPassword)
	if file := getenv(EnvPasswordFile); file != "" {
		if c.Password != "" {
			return Config{}, fmt.Errorf("%w: set %s or %s, not both", ErrConfig, EnvPassword, EnvPasswordFile)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s: %w", ErrConfig, EnvPasswordFile, err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		c.Password = strings.TrimSuffix(line, "\r")
		if c.Password == "" {
			return Config{}, fmt.Errorf("%w: %s %s holds an empty password", ErrConfig, EnvPasswordFile, file)
		}
	}
	var err error
	if c.ReadOnly, err = envBool(getenv, EnvReadOnly); err != nil {
		return Config{}, err
	}
	if c.Insecure, err = envBool(getenv, EnvInsecure); err != nil {
		return Config{}, err
	}
	return c, nil
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not true or false", ErrConfig, name, v)
	}
	return b, nil
}
