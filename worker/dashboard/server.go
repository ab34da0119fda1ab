package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/httpguard"
	"github.com/storemedia/alipay-media-worker/internal/httpjson"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// Server is the worker's HTTP surface. Build it with [New]; serve it with
// [Server.Run].
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	limits  httpguard.Limits

	mu     sync.Mutex
	ln     net.Listener
	closed bool
}

// sharedClient is an asynq.RedisConnOpt that hands out an existing client,
// so that asynqmon, which takes connection options, uses the caller's
// connections instead of opening a pool of its own. asynqmon's Close would
// close that client: the server never calls it.
type sharedClient struct{ c redis.UniversalClient }

func (s sharedClient) MakeRedisClient() any { return s.c }

// New checks cfg and builds the server. It does not touch the network:
// Redis is first contacted by a request, and nothing listens before
// [Server.Listen] or [Server.Run]. An open address without
// authentication is refused with an error wrapping [ErrInsecureBind].
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, limits: limits}
	// The inspector shares cfg.Redis; closing it would fail, and is not
	// needed: the caller closes the client.
	reg, err := metrics.NewRegistry(asynq.NewInspectorFromRedisClient(cfg.Redis), cfg.Logger, cfg.Collectors...)
	if err != nil {
		return nil, err
	}
	mon := asynqmon.New(asynqmon.Options{
		RootPath:         strings.TrimSuffix(cfg.RootPath, "/"),
		RedisConnOpt:     sharedClient{cfg.Redis},
		PayloadFormatter: asynqmon.PayloadFormatterFunc(FormatPayload),
		ResultFormatter:  asynqmon.ResultFormatterFunc(formatResult),
		ReadOnly:         cfg.ReadOnly,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	private := http.NewServeMux()
	private.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	}))
	private.Handle(cfg.RootPath, scrubAPI(cfg.RootPath+"api/", mon))
	private.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, cfg.RootPath, http.StatusFound)
	})
	var h http.Handler = private
	if cfg.ReadOnly {
		h = readOnly(h)
	}
	if cfg.User != "" {
		h = newAuthGuard(cfg.User, cfg.Password, cfg.Logger, cfg.now).wrap(h)
	}
	h = sameOrigin(h)
	h = knownHost(cfg.AllowedHosts, h)
	mux.Handle("/", h)
	s.handler = securityHeaders(noBodyToRead(mux))
	return s, nil
}

// Listen binds Config.Addr. After it, [Server.Addr] and [Server.URL] report
// the bound address (useful with port 0). [Server.Run] calls it if needed.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("dashboard: listen: server closed")
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address once listening, Config.Addr before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// URL is the dashboard's address, e.g. http://127.0.0.1:8090/monitoring/.
func (s *Server) URL() string {
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + addr + s.cfg.RootPath
}

// limits bound the connections of [Server.Run]. Requests are small (the
// dashboard's API takes at most a list of task IDs), and a refused one
// (no or wrong credentials, a foreign Host, a cross-site change) is
// answered at once and its connection closed.
var limits = httpguard.Limits{
	MaxConns:          128,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       15 * time.Second,
	WriteTimeout:      time.Minute,
	IdleTimeout:       time.Minute,
	MaxHeaderBytes:    64 << 10,
}

// shutdownGrace is how long requests in flight get when [Server.Run] stops.
const shutdownGrace = 5 * time.Second

// Run serves until ctx is done, then shuts down gracefully (in-flight
// requests get five seconds) and returns nil. It listens first if
// [Server.Listen] was not called.
//
// At most 128 connections are open at once; headers must arrive within 10
// seconds, a whole request within 15, and a keep-alive connection is
// closed after a minute without a request.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil { // closed meanwhile
		return errors.New("dashboard: serve: server closed")
	}
	s.log.Info("dashboard listening", "url", s.URL(), "auth", s.cfg.User != "", "read_only", s.cfg.ReadOnly)
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	if err := httpguard.Serve(ctx, ln, s.handler, s.limits, errLog, shutdownGrace); err != nil {
		return fmt.Errorf("dashboard: serve: %w", err)
	}
	return nil
}

// Close releases the listener of a server that was listened on but will
// not run (Run closes it itself). It does not close Config.Redis.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.ln == nil {
		return nil
	}
	err := s.ln.Close()
	s.ln = nil
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("dashboard: close: %w", err)
	}
	return nil
}

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
}

// checkResult is one entry of the /readyz body.
type checkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// readyBody is the JSON body of /readyz: status "ready" (HTTP 200) or
// "not ready" (HTTP 503), and each check's result.
type readyBody struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks"`
}

// readyz pings Redis and runs the configured checks.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := append([]Check{{Name: "redis", Func: s.pingRedis}}, s.cfg.Checks...)
	body := readyBody{Status: "ready", Checks: make([]checkResult, 0, len(checks))}
	code := http.StatusOK
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CheckTimeout)
		err := c.Func(ctx)
		cancel()
		res := checkResult{Name: c.Name, OK: err == nil}
		if err != nil {
			res.Error = ScrubText(err.Error())
			body.Status = "not ready"
			code = http.StatusServiceUnavailable
			s.log.Warn("dashboard: readiness check failed", "check", c.Name, "err", res.Error)
		}
		body.Checks = append(body.Checks, res)
	}
	httpjson.Write(w, code, body)
}

func (s *Server) pingRedis(ctx context.Context) error {
	if err := redisurl.Ping(ctx, s.cfg.Redis); err != nil {
		return fmt.Errorf("redis unreachable: %w", err)
	}
	return nil
}

// knownHost refuses a request whose Host header names a host other than
// "localhost", a name ending in ".localhost", an IP address, or one of
// allowed. A web page can point a DNS name of its own at this machine
// (DNS rebinding) and so reach a loopback dashboard as same-origin; the
// Host it sends is then its own name. IP addresses pass: such a page
// cannot make a browser send one in Host with its own origin.
func knownHost(allowed []string, next http.Handler) http.Handler {
	names := make(map[string]bool, len(allowed))
	for _, h := range allowed {
		names[canonicalHost(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := canonicalHost(r.Host)
		_, ipErr := netip.ParseAddr(host)
		if host == "" || ipErr == nil || host == "localhost" || strings.HasSuffix(host, ".localhost") || names[host] {
			next.ServeHTTP(w, r)
			return
		}
		httpguard.Refuse(w)
		http.Error(w, fmt.Sprintf("this dashboard is not served as %q: reach it by an IP address or localhost, or add the name to the allowed hosts", host), http.StatusForbidden)
	})
}

// canonicalHost is the host of a Host header value, without port, IPv6
// brackets or a final dot, in lower case.
func canonicalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// sameOrigin refuses requests that could change something (any method but
// GET, HEAD and OPTIONS) when the browser says they come from another site
// (Sec-Fetch-Site, or an Origin that does not match Host): a page elsewhere
// must not pause queues or archive tasks through the operator's browser.
// Requests without either header (curl, scripts) are not from a browser
// and pass.
func sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpguard.Refuse(w)
		http.Error(w, "cross-site request refused: change queues and tasks from the dashboard's own page", http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// readOnly refuses every method but GET and HEAD.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			httpguard.Refuse(w)
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noBodyToRead answers a GET or HEAD request that announces a body and
// closes its connection, without reading the body: no route reads one, so
// a client announcing one that never comes would hold the connection.
func noBodyToRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			httpguard.Refuse(w)
		}
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
