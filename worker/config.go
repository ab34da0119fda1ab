package worker

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// Defaults of [Config].
const (
	DefaultUploadTimeout            = upload.DefaultTimeout
	DefaultConcurrency              = 8
	DefaultQueues                   = "critical:6,default:3,low:1"
	DefaultShutdownTimeout          = 25 * time.Second
	DefaultDelayedTaskCheckInterval = 5 * time.Second
	// DefaultTaskCheckInterval is short so that an idle worker picks a
	// new task up within tens of milliseconds (asynq's own default is 1s,
	// jittered to 0.5-1.5s); its idle cost is measured in BENCHMARKS.md.
	DefaultTaskCheckInterval = 50 * time.Millisecond
)

// Config is everything [New] needs, already loaded: New reads no
// environment variable and no key file. Zero values take the defaults
// documented on each field.
type Config struct {
	// Redis locates the queue's Redis (asynq.RedisClientOpt,
	// RedisFailoverClientOpt or RedisClusterClientOpt). Required. New opens
	// one client from it, shared by the asynq server, the dashboard, the
	// queue metrics and the readiness probe; [Worker.Close] closes it.
	Redis asynq.RedisConnOpt

	// GatewayURL is Alipay's gateway (or an emulator's). Default
	// upload.ProductionGateway.
	GatewayURL string
	// Protocol is the protocol of the uploads: upload.Classic (default)
	// or upload.V3. Results, retries and archiving are the same either
	// way.
	Protocol upload.Protocol
	// V3Endpoint is the OpenAPI v3 base URL (v3 only). Default: the
	// scheme and host of GatewayURL.
	V3Endpoint string
	// AppID is the application's app_id. Required.
	AppID string
	// Keys sign requests and verify answers (public key or certificate
	// mode): upload.KeysFromFiles or upload.CertKeysFromFiles load them.
	// Signer and AlipayPublicKey are required.
	Keys upload.Keys
	// HTTPClient sends the uploads. Default: the upload package's own
	// client, keeping one idle connection per concurrent upload.
	HTTPClient *http.Client
	// UploadTimeout bounds one request to the gateway. Default 60s.
	UploadTimeout time.Duration
	// RateLimit, when set, keeps every worker of the app (all processes
	// sharing this Redis and AppID) under one rate of calls to the
	// gateway, and pauses them all for RateLimit.CoolDown after any call is
	// throttled (see upload/ratelimit): each call waits for its slot, and
	// the wait ends with the task's context. New sets its Redis, Key (one
	// per AppID), Logger and, with HTTP, its Observer (the
	// alipay_media_rate_* metrics). Nil: no limit; nothing asks Redis
	// before a call, and only the worker that was throttled slows down.
	RateLimit *ratelimit.Config

	// MediaRoots are the directories jobs may read files from. Required;
	// each must be an absolute path to an existing directory, or an
	// s3://bucket/prefix/ URL of objects jobs may read (see ObjectStore).
	MediaRoots []string
	// ObjectStore reads the objects of s3:// media roots; required when
	// MediaRoots names a bucket. New checks that it can list each bucket
	// prefix.
	ObjectStore *objstore.Store
	// AllowedTypes are the accepted formats. Default: the validate
	// package's default (jpg, png, gif, bmp, mp4).
	AllowedTypes []string
	// MaxFileSize is the largest accepted file in bytes. Default: the
	// validate package's (5 MiB).
	MaxFileSize int64

	// Convert, when set, allows conversion (see the convert package): a
	// job that asks for it ([tasks.UploadPayload].Convert) has a HEIC/HEIF
	// or WebP photo, or a JPEG over MaxFileSize (or Convert.MaxPixels),
	// sent as a JPEG that fits; other files go as they are. Conversions
	// run under their own cap, Convert.Concurrency (default 2), beside
	// Concurrency. Convert.MaxBytes defaults to MaxFileSize. It needs a
	// build with the vips tag ([convert.Available]): without it New
	// reports a [ConfigError] saying how to build one. Nil: no
	// conversion; such files are refused as unsupported_type or
	// too_large, with a hint that conversion exists.
	Convert *convert.Config

	// Concurrency is the number of uploads run at once. Default 8.
	Concurrency int
	// Queues maps queue names to priority weights. Default
	// [DefaultQueues] (see [ParseQueues]).
	Queues map[string]int
	// StrictPriority drains higher-weight queues first instead of sharing
	// by weight.
	StrictPriority bool
	// ShutdownTimeout is how long in-flight uploads may run once Run's
	// context ends before they are put back in their queue. Default 25s.
	ShutdownTimeout time.Duration
	// Retry is the retry and throttle backoff policy. Zero fields take the
	// tasks package's defaults.
	Retry tasks.RetryPolicy
	// DelayedTaskCheckInterval is how often retries that are due are moved
	// back to their queue; retry delays shorter than it are not honoured.
	// Default 5s.
	DelayedTaskCheckInterval time.Duration
	// TaskCheckInterval is how long asynq waits before it looks again at
	// queues found empty (jittered to 0.5-1.5 times it): the delay before
	// an idle worker picks a new task up. Default
	// [DefaultTaskCheckInterval] (50ms).
	TaskCheckInterval time.Duration
	// NoNotices turns off the notice of every ended attempt on Redis
	// (tasks.NotifyEnded), which wakes waiters at once; they then only
	// poll. For a Redis whose ACL forbids PUBLISH.
	NoNotices bool

	// MerchantKeys, when set, is the merchant key file's keyring
	// (merchant.LoadKeyring): New builds a merchant.Store on the worker's
	// Redis and upload client, and the handler reads the current token of
	// the merchant a job names (tasks.UploadPayload.Merchant) from it, and
	// opens tokens applications sealed into payloads. Nil: jobs naming a
	// merchant or carrying a sealed token are archived as
	// merchant_not_configured.
	MerchantKeys *merchant.Keyring
	// MerchantRefreshBefore is how long before its expiry a merchant's
	// token is refreshed (merchant.Config.RefreshBefore). Default
	// merchant.DefaultRefreshBefore; negative: only after Alipay refused it.
	MerchantRefreshBefore time.Duration

	// Observer is told about every attempt, besides the worker's own
	// upload metrics. Default: none.
	Observer tasks.Observer

	// HTTP, when set, is the worker's HTTP listener: the dashboard,
	// /metrics (queue and upload metrics), /healthz and /readyz (Redis and
	// gateway checks, then HTTP.Checks). New sets its Redis and, when nil,
	// its Logger. Nil: no listener, and no upload metrics.
	HTTP *dashboard.Config
}

// ConfigError is a problem with one field of a [Config]. [New] reports
// every one it finds at once, in a [*StartupError].
type ConfigError struct {
	// Field is the Config field at fault, e.g. "MediaRoots" or "Redis".
	Field string
	// Err says what is wrong with it.
	Err error
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// RedisError is the problem [New] reports, under Field "Redis", when Redis
// does not answer its ping.
type RedisError struct {
	// Addr is where Redis was looked for (no password).
	Addr string
	// Err is why it did not answer.
	Err error
}

func (e *RedisError) Error() string {
	return "Redis at " + e.Addr + " is unreachable: " + e.Err.Error()
}

func (e *RedisError) Unwrap() error { return e.Err }

// StartupError lists every problem [New] found, each a [*ConfigError].
type StartupError struct {
	Problems []error
}

func (e *StartupError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "worker: start-up checks failed: " + strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *StartupError) Unwrap() []error { return e.Problems }

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
	cfg.GatewayURL = cmp.Or(cfg.GatewayURL, upload.ProductionGateway)
	cfg.Protocol = cmp.Or(cfg.Protocol, upload.Classic)
	cfg.UploadTimeout = cmp.Or(cfg.UploadTimeout, DefaultUploadTimeout)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	if len(cfg.Queues) == 0 {
		cfg.Queues, _ = ParseQueues(DefaultQueues)
	}
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout)
	cfg.DelayedTaskCheckInterval = cmp.Or(cfg.DelayedTaskCheckInterval, DefaultDelayedTaskCheckInterval)
	cfg.TaskCheckInterval = cmp.Or(cfg.TaskCheckInterval, DefaultTaskCheckInterval)
	cfg.Retry = cfg.Retry.WithDefaults()
	return cfg
}

// isHTTPURL reports whether s is an absolute http or https URL with a host,
// as the gateway URL must be (checked by [Config.check] and by /readyz).
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// check reports the fields that are wrong whatever the machine: missing
// required values and bad values. cfg has its defaults.
func (cfg Config) check() []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if cfg.Redis == nil {
		fail("Redis", "required")
	}
	if !isHTTPURL(cfg.GatewayURL) {
		fail("GatewayURL", "%q is not an http(s) URL", cfg.GatewayURL)
	}
	if _, err := upload.ParseProtocol(string(cfg.Protocol)); err != nil {
		fail("Protocol", "%w", err)
	}
	if cfg.V3Endpoint != "" && !isHTTPURL(cfg.V3Endpoint) {
		fail("V3Endpoint", "%q is not an http(s) URL", cfg.V3Endpoint)
	}
	if cfg.AppID == "" {
		fail("AppID", "required (the application's app_id)")
	}
	if cfg.Keys.Signer == nil {
		fail("Keys", "no Signer (the application private key)")
	}
	if cfg.Keys.AlipayPublicKey == nil {
		fail("Keys", "no AlipayPublicKey (Alipay's public key)")
	}
	if len(cfg.MediaRoots) == 0 {
		fail("MediaRoots", "required (the directories jobs may read from)")
	}
	for _, d := range cfg.MediaRoots {
		if !filepath.IsAbs(d) && !mediaroot.IsObjectURL(d) {
			fail("MediaRoots", "%q is not an absolute path", d)
		}
	}
	if cfg.Concurrency < 0 {
		fail("Concurrency", "%d is negative", cfg.Concurrency)
	}
	for name, w := range cfg.Queues {
		if w <= 0 {
			fail("Queues", "queue %q has weight %d; weights must be positive", name, w)
		}
	}
	if cfg.MaxFileSize < 0 {
		fail("MaxFileSize", "%d is negative", cfg.MaxFileSize)
	}
	if err := cfg.Retry.Validate(); err != nil {
		fail("Retry", "%v", err)
	}
	return errs
}
