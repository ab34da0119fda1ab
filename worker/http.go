package worker

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storemedia/alipay-media-worker/worker/dashboard"
	"github.com/storemedia/alipay-media-worker/worker/metrics"
)

// httpEnvVars document the HTTP listener's variables, read by
// dashboard.ConfigFromEnv. They are listed with the worker's own in
// [EnvVars], so each also gets a flag and a line in -help.
var httpEnvVars = []EnvVar{
	{dashboard.EnvAddr, dashboard.DefaultAddr, `listen address of the dashboard, /metrics, /healthz and /readyz; "off" disables it, 127.0.0.1:0 takes any free port (several workers on one host)`},
	{dashboard.EnvUser, "", "basic auth user for the dashboard and /metrics (with DASHBOARD_PASSWORD)"},
	{dashboard.EnvPassword, "", "basic auth password"},
	{dashboard.EnvPasswordFile, "", "file whose first line is the basic auth password (instead of DASHBOARD_PASSWORD)"},
	{dashboard.EnvReadOnly, "false", "true: the dashboard cannot pause, delete, run or archive anything"},
	{dashboard.EnvInsecure, "false", "true: allow a non-loopback HTTP_ADDR without authentication"},
}

func init() { envVars = append(envVars, httpEnvVars...) }

// NewHTTPServer builds the worker's HTTP server from hc (usually read by
// dashboard.ConfigFromEnv): the asynq dashboard on the worker's Redis,
// /metrics with asynq's queue metrics and uploads (the metrics given to
// the handler as Config.Observer; nil leaves them out), /healthz, and
// /readyz, which checks Redis and that the gateway is configured. hc's
// RedisConnOpt and Logger are set here, and the gateway check comes before
// hc.Checks. It returns nil, nil when hc.Disabled. Close the server when
// done.
func (w *Worker) NewHTTPServer(hc dashboard.Config, uploads *metrics.Uploads) (*dashboard.Server, error) {
	if hc.Disabled {
		return nil, nil
	}
	hc.RedisConnOpt = w.redis
	if uploads != nil && hc.Gatherer == nil {
		hc.Collectors = append([]prometheus.Collector{uploads}, hc.Collectors...)
	}
	if hc.Logger == nil {
		hc.Logger = w.log.With("component", "http")
	}
	hc.Checks = append([]dashboard.Check{{Name: "gateway", Func: w.gatewayConfigured}}, hc.Checks...)
	s, err := dashboard.New(hc)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return s, nil
}

// gatewayConfigured is the readiness check of the gateway settings: an
// app_id and an absolute http(s) gateway URL. Keys were loaded by New.
func (w *Worker) gatewayConfigured(context.Context) error {
	if w.cfg.AppID == "" {
		return errors.New("ALIPAY_APP_ID is not set")
	}
	if !isHTTPURL(w.cfg.GatewayURL) {
		return errors.New("ALIPAY_GATEWAY_URL is not an http(s) URL")
	}
	return nil
}

// RunWithHTTP runs the worker and, when hs is not nil, its HTTP server
// until ctx is done, then stops both and closes hs. If the HTTP server
// fails (e.g. its address is taken) the worker is stopped too and the error
// returned.
func (w *Worker) RunWithHTTP(ctx context.Context, hs *dashboard.Server) error {
	if hs == nil {
		return w.Run(ctx)
	}
	defer hs.Close()
	if err := listenHTTP(hs); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	httpErr := make(chan error, 1)
	go func() {
		err := hs.Run(ctx)
		if err != nil {
			w.log.Error("HTTP server failed; stopping the worker", "err", err.Error())
		}
		cancel()
		httpErr <- err
	}()
	runErr := w.Run(ctx)
	cancel()
	return errors.Join(runErr, <-httpErr)
}

// AddrError is an HTTP_ADDR the worker could not listen on. Its message
// says what to do; it unwraps to the listen error (for a taken address,
// one that matches syscall.EADDRINUSE).
type AddrError struct {
	// Addr is the address asked for.
	Addr string
	// InUse: another process holds Addr.
	InUse bool
	// Err is the listen error.
	Err error
}

func (e *AddrError) Error() string {
	if e.InUse {
		return fmt.Sprintf("%s %s is in use (another worker?): set %s to a free address, 127.0.0.1:0 for any free port, or off",
			dashboard.EnvAddr, e.Addr, dashboard.EnvAddr)
	}
	return fmt.Sprintf("%s %s: cannot listen (set %s to another address, or off): %v", dashboard.EnvAddr, e.Addr, dashboard.EnvAddr, e.Err)
}

func (e *AddrError) Unwrap() error { return e.Err }

// listenHTTP binds hs's address; a failure comes back as an [*AddrError].
// Listening again is a no-op.
func listenHTTP(hs *dashboard.Server) error {
	if err := hs.Listen(); err != nil {
		return &AddrError{Addr: hs.Addr(), InUse: errors.Is(err, syscall.EADDRINUSE), Err: err}
	}
	return nil
}

// mainHTTP carries the HTTP settings from [Main]'s configuration step to
// the server it starts.
type mainHTTP struct {
	cfg     dashboard.Config
	uploads *metrics.Uploads
}

// prepareHTTP reads HTTP_ADDR and DASHBOARD_* through getenv and, unless
// cfg already has an Observer or HTTP_ADDR is "off" (no /metrics to export
// them), gives cfg the upload metrics that /metrics will export.
func prepareHTTP(cfg *Config, getenv func(string) string) (mainHTTP, error) {
	hc, err := dashboard.ConfigFromEnv(getenv)
	if err != nil {
		return mainHTTP{}, err
	}
	m := mainHTTP{cfg: hc}
	if cfg.Observer == nil && !hc.Disabled {
		m.uploads = metrics.NewUploads()
		cfg.Observer = m.uploads
	}
	return m, nil
}

// server builds the HTTP server for w (nil when HTTP_ADDR is "off").
func (m mainHTTP) server(w *Worker) (*dashboard.Server, error) {
	return w.NewHTTPServer(m.cfg, m.uploads)
}

// close releases a server that will not run (worker -check).
func (m mainHTTP) close(hs *dashboard.Server) {
	if hs != nil {
		_ = hs.Close()
	}
}
