package worker

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
)

// Defaults of [Config].
const (
	DefaultRedisURL                 = tasks.DefaultRedisURL
	DefaultRedisPingTimeout         = 5 * time.Second
	DefaultUploadTimeout            = 60 * time.Second
	DefaultConcurrency              = 8
	DefaultQueues                   = "critical:6,default:3,low:1"
	DefaultShutdownTimeout          = 25 * time.Second
	DefaultDelayedTaskCheckInterval = 5 * time.Second
	DefaultTaskCheckInterval        = time.Second
)

// Config is everything a [Worker] needs. Build it with [ConfigFromEnv], or
// by hand; [New] applies the defaults documented on each field and checks
// it. Zero values mean "default".
type Config struct {
	// RedisURL locates Redis: redis://[:password@]host[:port][/db],
	// rediss:// (TLS), redis-socket://path?db=N, or
	// redis-sentinel://[:password@]host1:port,host2:port?master=name, or
	// redis-cluster://[:password@]host1:port,host2:port (Redis Cluster).
	// Default [DefaultRedisURL].
	RedisURL string
	// RedisPingTimeout bounds the start-up ping. Default 5s.
	RedisPingTimeout time.Duration

	// GatewayURL is Alipay's gateway (or the emulator). Default
	// upload.ProductionGateway.
	GatewayURL string
	// AppID is the application's app_id. Required.
	AppID string
	// PrivateKeyFile holds the application private key (PKCS#1 or PKCS#8,
	// PEM or bare Base64). Required.
	PrivateKeyFile string
	// AlipayPublicKeyFile holds Alipay's public key: public key mode.
	AlipayPublicKeyFile string
	// AppCertFile, AlipayPublicCertFile and AlipayRootCertFile select
	// certificate mode; all three are needed, and AlipayPublicKeyFile must
	// then be empty.
	AppCertFile          string
	AlipayPublicCertFile string
	AlipayRootCertFile   string
	// UploadTimeout bounds one request to the gateway. Default 60s.
	UploadTimeout time.Duration

	// MediaRoots are the directories jobs may read files from. Required;
	// each must be an absolute path to an existing directory.
	MediaRoots []string
	// AllowedTypes are the accepted formats. Default: the validate
	// package's default (jpg, png, gif, bmp, mp4).
	AllowedTypes []string
	// MaxFileSize is the largest accepted file in bytes. Default 5 MiB.
	MaxFileSize int64

	// Concurrency is the number of uploads run at once. Default 8.
	Concurrency int
	// Queues maps queue names to priority weights. Default
	// critical:6, default:3, low:1 (see [ParseQueues]).
	Queues map[string]int
	// StrictPriority drains higher-weight queues first instead of sharing
	// by weight.
	StrictPriority bool
	// ShutdownTimeout is how long in-flight uploads may run after SIGTERM
	// before they are put back in their queue. Default 25s.
	ShutdownTimeout time.Duration
	// Retry is the retry and throttle backoff policy. Zero fields take the
	// tasks package's defaults.
	Retry tasks.RetryPolicy
	// DelayedTaskCheckInterval is how often retries that are due are moved
	// back to their queue; retry delays shorter than it are not honoured.
	// Default 5s.
	DelayedTaskCheckInterval time.Duration
	// TaskCheckInterval is how often empty queues are polled. Default 1s.
	TaskCheckInterval time.Duration

	// LogFormat ("text" or "json") and LogLevel ("debug", "info", "warn",
	// "error") are read by [NewLogger]. Default text, info.
	LogFormat string
	LogLevel  string

	// Observer is told about every attempt (metrics). Default: none. Not
	// read from the environment.
	Observer tasks.Observer
}

// EnvVar documents one environment variable read by [ConfigFromEnv].
type EnvVar struct {
	Name    string
	Default string
	Usage   string
}

// EnvVars lists the environment variables [ConfigFromEnv] reads, in the
// order of the README's table.
func EnvVars() []EnvVar { return slices.Clone(envVars) }

var envVars = []EnvVar{
	{"REDIS_URL", DefaultRedisURL, "Redis location: redis://, rediss:// (TLS), redis-socket://, redis-sentinel://host1:26379,host2:26379?master=name or redis-cluster://host1:6379,host2:6379; password in the userinfo"},
	{"REDIS_PING_TIMEOUT", DefaultRedisPingTimeout.String(), "how long the start-up Redis ping may take"},
	{"ALIPAY_GATEWAY_URL", upload.ProductionGateway, "Alipay gateway (sandbox: " + upload.SandboxGateway + ", or the emulator's URL)"},
	{"ALIPAY_APP_ID", "", "application app_id (required)"},
	{"ALIPAY_PRIVATE_KEY_FILE", "", "application private key, PKCS#1 or PKCS#8, PEM or bare Base64 (required)"},
	{"ALIPAY_PUBLIC_KEY_FILE", "", "Alipay public key (public key mode)"},
	{"ALIPAY_APP_CERT_FILE", "", "application certificate appCertPublicKey_<app_id>.crt (certificate mode)"},
	{"ALIPAY_PUBLIC_CERT_FILE", "", "Alipay public key certificate alipayCertPublicKey_RSA2.crt (certificate mode)"},
	{"ALIPAY_ROOT_CERT_FILE", "", "Alipay root certificate bundle alipayRootCert.crt (certificate mode)"},
	{"ALIPAY_TIMEOUT", DefaultUploadTimeout.String(), "time limit of one gateway request"},
	{"MEDIA_ROOTS", "", "directories jobs may read from, separated by ':' or ',' (required)"},
	{"UPLOAD_ALLOWED_TYPES", "jpg,png,gif,bmp,mp4", "accepted formats, comma-separated (jpeg = jpg)"},
	{"UPLOAD_MAX_BYTES", "5242880", "largest accepted file in bytes"},
	{"WORKER_CONCURRENCY", strconv.Itoa(DefaultConcurrency), "uploads run at once"},
	{"WORKER_QUEUES", DefaultQueues, "queues and their weights, name:weight,..."},
	{"WORKER_STRICT_PRIORITY", "false", "true: empty higher-weight queues first"},
	{"SHUTDOWN_TIMEOUT", DefaultShutdownTimeout.String(), "on SIGTERM/SIGINT, time in-flight uploads get before they go back to the queue"},
	{"RETRY_BASE_DELAY", tasks.DefaultBaseDelay.String(), "delay before the first retry; doubles on each retry"},
	{"RETRY_MAX_DELAY", tasks.DefaultMaxDelay.String(), "cap of the retry delay"},
	{"RETRY_THROTTLE_DELAY", tasks.DefaultThrottleDelay.String(), "delay after a throttled (40005) attempt, which does not spend the retry budget"},
	{"RETRY_JITTER", strconv.FormatFloat(tasks.DefaultJitter, 'f', -1, 64), "random fraction taken off each delay, 0 to 1 (0: none)"},
	{"WORKER_DELAYED_TASK_CHECK_INTERVAL", DefaultDelayedTaskCheckInterval.String(), "how often due retries are moved back to their queue (shorter retry delays round up to it)"},
	{"WORKER_TASK_CHECK_INTERVAL", DefaultTaskCheckInterval.String(), "how often empty queues are polled"},
	{"LOG_FORMAT", "text", "log format: text or json"},
	{"LOG_LEVEL", "info", "log level: debug, info, warn or error"},
}

// ConfigFromEnv reads a [Config] from environment variables through getenv
// (os.Getenv, or a map lookup in tests). Unset or empty variables take their
// defaults. It checks syntax only; [New] checks that files, directories and
// Redis are really there. Every error names the variable at fault and never
// quotes a secret.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	duration := func(name string) time.Duration {
		s := get(name)
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			fail(name, "%q is not a positive duration (write e.g. 500ms, 30s or 2m)", s)
			return 0
		}
		return d
	}
	positive := func(name string) int64 {
		s := get(name)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			fail(name, "%q is not a positive whole number", s)
			return 0
		}
		return n
	}

	cfg := Config{
		RedisURL:             get("REDIS_URL"),
		GatewayURL:           get("ALIPAY_GATEWAY_URL"),
		AppID:                get("ALIPAY_APP_ID"),
		PrivateKeyFile:       get("ALIPAY_PRIVATE_KEY_FILE"),
		AlipayPublicKeyFile:  get("ALIPAY_PUBLIC_KEY_FILE"),
		AppCertFile:          get("ALIPAY_APP_CERT_FILE"),
		AlipayPublicCertFile: get("ALIPAY_PUBLIC_CERT_FILE"),
		AlipayRootCertFile:   get("ALIPAY_ROOT_CERT_FILE"),
		LogFormat:            strings.ToLower(get("LOG_FORMAT")),
		LogLevel:             strings.ToLower(get("LOG_LEVEL")),
	}
	cfg.RedisPingTimeout = duration("REDIS_PING_TIMEOUT")
	cfg.UploadTimeout = duration("ALIPAY_TIMEOUT")
	cfg.ShutdownTimeout = duration("SHUTDOWN_TIMEOUT")
	cfg.Retry.BaseDelay = duration("RETRY_BASE_DELAY")
	cfg.Retry.MaxDelay = duration("RETRY_MAX_DELAY")
	cfg.Retry.ThrottleDelay = duration("RETRY_THROTTLE_DELAY")
	cfg.DelayedTaskCheckInterval = duration("WORKER_DELAYED_TASK_CHECK_INTERVAL")
	cfg.TaskCheckInterval = duration("WORKER_TASK_CHECK_INTERVAL")
	cfg.MaxFileSize = positive("UPLOAD_MAX_BYTES")
	if n := positive("WORKER_CONCURRENCY"); n > 0 {
		if n > 10000 {
			fail("WORKER_CONCURRENCY", "%d is more than 10000", n)
		}
		cfg.Concurrency = int(n)
	}
	if s := get("RETRY_JITTER"); s != "" {
		j, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || j < 0 || j > 1:
			fail("RETRY_JITTER", "%q is not a number from 0 to 1", s)
		case j == 0:
			cfg.Retry.Jitter = -1 // none
		default:
			cfg.Retry.Jitter = j
		}
	}
	if s := get("WORKER_STRICT_PRIORITY"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			fail("WORKER_STRICT_PRIORITY", "%q is not true or false", s)
		}
		cfg.StrictPriority = b
	}
	if s := get("WORKER_QUEUES"); s != "" {
		q, err := ParseQueues(s)
		if err != nil {
			fail("WORKER_QUEUES", "%v", err)
		}
		cfg.Queues = q
	}
	cfg.MediaRoots = mediaroot.ParseList(get("MEDIA_ROOTS"))
	if s := get("UPLOAD_ALLOWED_TYPES"); s != "" {
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				cfg.AllowedTypes = append(cfg.AllowedTypes, t)
			}
		}
	}
	if err := cfg.check(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("worker: configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// ParseQueues parses queue weights written as "name:weight,name:weight",
// e.g. "critical:6,default:3,low:1". A name without ":weight" has weight 1.
func ParseQueues(s string) (map[string]int, error) {
	q := make(map[string]int)
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, hasWeight := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		weight := 1
		if hasWeight {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("queue %q: weight %q is not a positive whole number", name, w)
			}
			weight = n
		}
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%q is not a queue name", name)
		}
		if _, dup := q[name]; dup {
			return nil, fmt.Errorf("queue %q appears twice", name)
		}
		q[name] = weight
	}
	if len(q) == 0 {
		return nil, errors.New("no queue given")
	}
	return q, nil
}

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.RedisURL == "" {
		cfg.RedisURL = DefaultRedisURL
	}
	if cfg.RedisPingTimeout == 0 {
		cfg.RedisPingTimeout = DefaultRedisPingTimeout
	}
	if cfg.GatewayURL == "" {
		cfg.GatewayURL = upload.ProductionGateway
	}
	if cfg.UploadTimeout == 0 {
		cfg.UploadTimeout = DefaultUploadTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues, _ = ParseQueues(DefaultQueues)
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.DelayedTaskCheckInterval == 0 {
		cfg.DelayedTaskCheckInterval = DefaultDelayedTaskCheckInterval
	}
	if cfg.TaskCheckInterval == 0 {
		cfg.TaskCheckInterval = DefaultTaskCheckInterval
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat = "text"
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	cfg.Retry = cfg.Retry.WithDefaults()
	return cfg
}

// isHTTPURL reports whether s is an absolute http or https URL with a host,
// as the gateway URL must be (checked by [Config.check] and by /readyz).
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// check reports settings that are wrong whatever the machine: missing
// required values, contradictory modes, bad syntax. Errors name the
// environment variable that sets the field.
func (cfg Config) check() error {
	cfg = cfg.withDefaults()
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if _, err := parseRedisURL(cfg.RedisURL); err != nil {
		fail("REDIS_URL", "%v", err)
	}
	if !isHTTPURL(cfg.GatewayURL) {
		fail("ALIPAY_GATEWAY_URL", "%q is not an http(s) URL", redactedURL(cfg.GatewayURL))
	}
	if cfg.AppID == "" {
		fail("ALIPAY_APP_ID", "required (the application's app_id)")
	}
	if cfg.PrivateKeyFile == "" {
		fail("ALIPAY_PRIVATE_KEY_FILE", "required (path of the application private key)")
	}
	certs := []struct{ name, val string }{
		{"ALIPAY_APP_CERT_FILE", cfg.AppCertFile},
		{"ALIPAY_PUBLIC_CERT_FILE", cfg.AlipayPublicCertFile},
		{"ALIPAY_ROOT_CERT_FILE", cfg.AlipayRootCertFile},
	}
	var certSet []string
	for _, c := range certs {
		if c.val != "" {
			certSet = append(certSet, c.name)
		}
	}
	switch {
	case len(certSet) > 0 && cfg.AlipayPublicKeyFile != "":
		fail("ALIPAY_PUBLIC_KEY_FILE", "set together with %s: use either ALIPAY_PUBLIC_KEY_FILE (public key mode) or the three certificate files (certificate mode)", strings.Join(certSet, ", "))
	case len(certSet) > 0 && len(certSet) < len(certs):
		for _, c := range certs {
			if c.val == "" {
				fail(c.name, "required in certificate mode (%s is set)", strings.Join(certSet, ", "))
			}
		}
	case len(certSet) == 0 && cfg.AlipayPublicKeyFile == "":
		fail("ALIPAY_PUBLIC_KEY_FILE", "required (Alipay's public key), unless certificate mode is configured with ALIPAY_APP_CERT_FILE, ALIPAY_PUBLIC_CERT_FILE and ALIPAY_ROOT_CERT_FILE")
	}
	if len(cfg.MediaRoots) == 0 {
		fail("MEDIA_ROOTS", "required (the directories jobs may read from, separated by ':' or ',')")
	}
	for _, d := range cfg.MediaRoots {
		if !filepath.IsAbs(d) {
			fail("MEDIA_ROOTS", "%q is not an absolute path", d)
		}
	}
	if cfg.Concurrency < 0 {
		fail("WORKER_CONCURRENCY", "%d is negative", cfg.Concurrency)
	}
	for name, w := range cfg.Queues {
		if w <= 0 {
			fail("WORKER_QUEUES", "queue %q has weight %d; weights must be positive", name, w)
		}
	}
	if cfg.MaxFileSize < 0 {
		fail("UPLOAD_MAX_BYTES", "%d is negative", cfg.MaxFileSize)
	}
	if err := cfg.Retry.Validate(); err != nil {
		fail("RETRY_*", "%v", err)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		fail("LOG_FORMAT", "%q is neither text nor json", cfg.LogFormat)
	}
	if _, err := command.ParseLevel(cfg.LogLevel); err != nil {
		fail("LOG_LEVEL", "%v", err)
	}
	return errors.Join(errs...)
}
