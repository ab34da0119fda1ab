package cli

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/cmd/internal/alipayenv"
	"github.com/storemedia/alipay-media-worker/cmd/internal/s3env"
	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
	"github.com/storemedia/alipay-media-worker/worker"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// Defaults of the settings that are the command's own.
const (
	defaultPingTimeout = 5 * time.Second
	httpOff            = "off" // HTTP_ADDR value that turns the listener off
	convertOff         = "off" // UPLOAD_CONVERT's default
	convertOn          = "on"
)

// vars are the worker's settings, in the order of the README's table.
var vars = slices.Concat([]command.Var{
	{Name: "REDIS_URL", Default: tasks.DefaultRedisURL, Usage: "Redis location: redis://, rediss:// (TLS), redis-socket://, redis-sentinel://host1:26379,host2:26379?master=name or redis-cluster://host1:6379,host2:6379; password in the userinfo"},
	{Name: "REDIS_PING_TIMEOUT", Default: defaultPingTimeout.String(), Usage: "time limit of the start-up Redis ping"},
}, alipayenv.Vars, []command.Var{
	{Name: "MEDIA_ROOTS", Usage: "directories jobs may read from, separated by ':' or ','; and s3://bucket/prefix/ of objects they may read, the list then separated by ',' only (required)"},
	s3env.Vars[0], // S3_ENDPOINT
	s3env.Vars[1], // S3_PATH_STYLE
	{Name: "UPLOAD_ALLOWED_TYPES", Default: defaultTypes(), Usage: "accepted formats, comma-separated (jpeg = jpg)"},
	{Name: "UPLOAD_MAX_BYTES", Default: strconv.FormatInt(validate.DefaultMaxSize, 10), Usage: "largest accepted file in bytes"},
	{Name: "UPLOAD_CONVERT", Default: convertOff, Usage: "on: convert for jobs that ask (enqueue --convert, \"convert\": true): HEIC/HEIF and WebP photos to JPEG, JPEGs over UPLOAD_MAX_BYTES (or UPLOAD_CONVERT_MAX_PIXELS) re-encoded to fit; needs a worker built with -tags vips"},
	{Name: "UPLOAD_CONVERT_CONCURRENCY", Default: strconv.Itoa(convert.DefaultConcurrency), Usage: "conversions run at once, within WORKER_CONCURRENCY (each holds a decoded photo, about 3 bytes a pixel)"},
	{Name: "UPLOAD_CONVERT_MAX_BYTES", Default: strconv.FormatInt(convert.DefaultMaxInputBytes, 10), Usage: "largest file accepted for conversion; larger ones are refused (input_too_large)"},
	{Name: "UPLOAD_CONVERT_MIN_QUALITY", Default: strconv.Itoa(convert.DefaultMinQuality), Usage: "lowest JPEG quality, 1 to " + strconv.Itoa(convert.DefaultMaxQuality) + "; below it a photo is downscaled instead"},
	{Name: "UPLOAD_CONVERT_MAX_MEMORY", Default: strconv.FormatInt(convert.DefaultMaxMemory, 10), Usage: "memory budget in bytes of the conversions running at once, estimated from each photo's header before decoding (the file's bytes plus 4 bytes a pixel, 8 for HEIC and WebP); a conversion waits until it fits, one over the budget runs alone"},
	{Name: "UPLOAD_CONVERT_MAX_PIXELS", Usage: "most pixels a sent JPEG may have: larger JPEGs are re-encoded and converted photos downscaled to it (default: no cap)"},
	{Name: "UPLOAD_CONVERT_KEEP_EXIF", Usage: "EXIF tags kept in converted photos, comma-separated (e.g. Make,Model,DateTimeOriginal); default: all metadata stripped, GPS position included"},
	{Name: "UPLOAD_CONVERT_SCRATCH_DIR", Usage: "where converted files wait while they are sent (at most " + strconv.FormatInt(convert.DefaultScratchBytes>>20, 10) + " MiB, removed after each attempt; default: the system's temporary directory)"},
	{Name: "MERCHANT_KEY_FILE", Usage: "merchant key file (`enqueue merchant keygen`): merchants' tokens are kept in Redis encrypted with it; needed for jobs naming a merchant (--merchant) or carrying a sealed token; without it they are archived as merchant_not_configured"},
	{Name: "MERCHANT_REFRESH_BEFORE", Default: merchant.DefaultRefreshBefore.String(), Usage: "how long before its expiry a merchant's token is refreshed (at most half its lifetime); a token Alipay refuses (20001) is refreshed at once anyway"},
	{Name: "WORKER_CONCURRENCY", Default: strconv.Itoa(worker.DefaultConcurrency), Usage: "uploads run at once"},
	{Name: "WORKER_QUEUES", Default: worker.DefaultQueues, Usage: "queues and their weights, name:weight,..."},
	{Name: "WORKER_STRICT_PRIORITY", Default: "false", Usage: "true: empty higher-weight queues first"},
	{Name: "SHUTDOWN_TIMEOUT", Default: worker.DefaultShutdownTimeout.String(), Usage: "on SIGTERM/SIGINT, time in-flight uploads get before they go back to the queue"},
	{Name: "RETRY_BASE_DELAY", Default: tasks.DefaultBaseDelay.String(), Usage: "delay before the first retry; doubles on each retry"},
	{Name: "RETRY_MAX_DELAY", Default: tasks.DefaultMaxDelay.String(), Usage: "cap of the retry delay"},
	{Name: "RETRY_THROTTLE_DELAY", Default: tasks.DefaultThrottleDelay.String(), Usage: "delay after a throttled (40005) attempt, which does not spend the retry budget"},
	{Name: "RETRY_JITTER", Default: strconv.FormatFloat(tasks.DefaultJitter, 'f', -1, 64), Usage: "random fraction taken off each delay, 0 to 1 (0: none)"},
	{Name: "WORKER_DELAYED_TASK_CHECK_INTERVAL", Default: worker.DefaultDelayedTaskCheckInterval.String(), Usage: "how often due retries are moved back to their queue (shorter retry delays round up to it)"},
	{Name: "WORKER_TASK_CHECK_INTERVAL", Default: worker.DefaultTaskCheckInterval.String(), Usage: "how often empty queues are polled: the delay before an idle worker takes a new task (idle cost in BENCHMARKS.md)"},
	{Name: "WORKER_NOTICES", Default: "true", Usage: "false: do not publish the end of every attempt on Redis (waiters then only poll; for a Redis whose ACL forbids PUBLISH)"},
	{Name: "LOG_FORMAT", Default: "text", Usage: "log format: text or json"},
	{Name: "LOG_LEVEL", Default: "info", Usage: "log level: debug, info, warn or error"},
	{Name: "HTTP_ADDR", Default: dashboard.DefaultAddr, Usage: `listen address of the dashboard, /metrics, /healthz and /readyz; "off" disables it, 127.0.0.1:0 takes any free port (several workers on one host)`},
	{Name: "DASHBOARD_USER", Usage: "basic auth user for the dashboard and /metrics (with DASHBOARD_PASSWORD)"},
	{Name: "DASHBOARD_PASSWORD", Usage: "basic auth password"},
	{Name: "DASHBOARD_PASSWORD_FILE", Usage: "file whose first line is the basic auth password (instead of DASHBOARD_PASSWORD)"},
	{Name: "DASHBOARD_READONLY", Default: "false", Usage: "true: the dashboard cannot pause, delete, run or archive anything"},
	{Name: "DASHBOARD_INSECURE", Default: "false", Usage: "true: allow a non-loopback HTTP_ADDR without authentication"},
	{Name: "DASHBOARD_ALLOWED_HOSTS", Usage: "host names, separated by commas, under which the dashboard and /metrics may be reached besides localhost and IP addresses (e.g. a reverse proxy's); other Host headers are refused"},
})

// defaultTypes is the validate package's default type list as the
// settings write it (jpeg is jpg).
func defaultTypes() string {
	return strings.Join(slices.DeleteFunc(slices.Clone(validate.DefaultAllowed), func(t string) bool { return t == "jpeg" }), ",")
}

// settings is everything the command read.
type settings struct {
	redisURL    string
	pingTimeout time.Duration
	alipay      alipayenv.Settings
	logFormat   string
	logLevel    string
	worker      worker.Config     // all but Keys
	s3          map[string]string // S3_* settings, for s3env
}

// read reads the settings through get (the flag if given, else the
// environment). It checks syntax and what only the command knows: the
// key files' mode. The rest is worker.New's to check.
func read(get func(string) string) (settings, command.Problems) {
	var ps command.Problems
	trimmed := func(name string) string { return strings.TrimSpace(get(name)) }
	duration := func(name string) time.Duration { return ps.Duration(name, trimmed(name)) }
	positive := func(name string) int64 { return ps.Positive(name, trimmed(name)) }
	boolean := func(name string) bool { return ps.Bool(name, trimmed(name)) }

	st := settings{
		redisURL:    trimmed("REDIS_URL"),
		pingTimeout: duration("REDIS_PING_TIMEOUT"),
		alipay:      alipayenv.Read(get, &ps),
		logFormat:   strings.ToLower(trimmed("LOG_FORMAT")),
		logLevel:    strings.ToLower(trimmed("LOG_LEVEL")),
	}
	if st.redisURL == "" {
		st.redisURL = tasks.DefaultRedisURL
	}
	if st.pingTimeout == 0 {
		st.pingTimeout = defaultPingTimeout
	}
	w := &st.worker
	var err error
	if w.Redis, err = redisurl.Parse(st.redisURL); err != nil {
		ps.Add("REDIS_URL", err)
	}
	a := st.alipay
	w.GatewayURL, w.Protocol, w.V3Endpoint, w.AppID = a.GatewayURL, a.Protocol, a.V3Endpoint, a.AppID
	w.UploadTimeout, w.RateLimit = a.Timeout, a.RateLimit
	w.MediaRoots = mediaroot.ParseList(trimmed("MEDIA_ROOTS"))
	st.s3 = map[string]string{}
	for _, v := range s3env.Vars {
		st.s3[v.Name] = get(v.Name)
	}
	for _, t := range strings.Split(trimmed("UPLOAD_ALLOWED_TYPES"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			w.AllowedTypes = append(w.AllowedTypes, t)
		}
	}
	w.MaxFileSize = positive("UPLOAD_MAX_BYTES")
	w.Convert = readConvert(trimmed, positive, &ps)
	if path := trimmed("MERCHANT_KEY_FILE"); path != "" {
		if w.MerchantKeys, err = merchant.LoadKeyring(path); err != nil {
			ps.Add("MERCHANT_KEY_FILE", err)
		}
	}
	w.MerchantRefreshBefore = duration("MERCHANT_REFRESH_BEFORE")
	if n := positive("WORKER_CONCURRENCY"); n > 10000 {
		ps.Addf("WORKER_CONCURRENCY", "%d is more than 10000", n)
	} else {
		w.Concurrency = int(n)
	}
	if s := trimmed("WORKER_QUEUES"); s != "" {
		if w.Queues, err = worker.ParseQueues(s); err != nil {
			ps.Add("WORKER_QUEUES", err)
		}
	}
	w.StrictPriority = boolean("WORKER_STRICT_PRIORITY")
	w.ShutdownTimeout = duration("SHUTDOWN_TIMEOUT")
	w.Retry.BaseDelay = duration("RETRY_BASE_DELAY")
	w.Retry.MaxDelay = duration("RETRY_MAX_DELAY")
	w.Retry.ThrottleDelay = duration("RETRY_THROTTLE_DELAY")
	if s := trimmed("RETRY_JITTER"); s != "" {
		j, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || j < 0 || j > 1:
			ps.Addf("RETRY_JITTER", "%q is not a number from 0 to 1", s)
		case j == 0:
			w.Retry.Jitter = -1 // none
		default:
			w.Retry.Jitter = j
		}
	}
	w.DelayedTaskCheckInterval = duration("WORKER_DELAYED_TASK_CHECK_INTERVAL")
	w.TaskCheckInterval = duration("WORKER_TASK_CHECK_INTERVAL")
	w.NoNotices = get("WORKER_NOTICES") != "" && !boolean("WORKER_NOTICES")
	if _, err := command.NewLogger(io.Discard, st.logFormat, "info"); err != nil {
		ps.Add("LOG_FORMAT", err)
	}
	if _, err := command.ParseLevel(st.logLevel); err != nil {
		ps.Add("LOG_LEVEL", err)
	}
	w.HTTP = readHTTP(get, boolean, &ps)
	return st, ps
}

// readConvert reads UPLOAD_CONVERT and its settings: nil when off. The
// settings are checked even when off, so a typo does not wait for the day
// conversion is turned on.
func readConvert(trimmed func(string) string, positive func(string) int64, ps *command.Problems) *convert.Config {
	c := &convert.Config{
		MaxInputBytes: positive("UPLOAD_CONVERT_MAX_BYTES"),
		MaxPixels:     positive("UPLOAD_CONVERT_MAX_PIXELS"),
		MaxMemory:     positive("UPLOAD_CONVERT_MAX_MEMORY"),
		ScratchDir:    trimmed("UPLOAD_CONVERT_SCRATCH_DIR"),
	}
	if n := positive("UPLOAD_CONVERT_CONCURRENCY"); n > 1000 {
		ps.Addf("UPLOAD_CONVERT_CONCURRENCY", "%d is more than 1000", n)
	} else {
		c.Concurrency = int(n)
	}
	if n := positive("UPLOAD_CONVERT_MIN_QUALITY"); n > convert.DefaultMaxQuality {
		ps.Addf("UPLOAD_CONVERT_MIN_QUALITY", "%d is over %d, the highest quality a conversion uses", n, convert.DefaultMaxQuality)
	} else {
		c.MinQuality = int(n)
	}
	for _, t := range strings.Split(trimmed("UPLOAD_CONVERT_KEEP_EXIF"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.KeepEXIF = append(c.KeepEXIF, t)
		}
	}
	switch s := strings.ToLower(trimmed("UPLOAD_CONVERT")); s {
	case "", convertOff:
		return nil
	case convertOn:
		return c
	default:
		ps.Addf("UPLOAD_CONVERT", "%q is not on or off", s)
		return nil
	}
}

// readHTTP reads HTTP_ADDR and DASHBOARD_*: nil when HTTP_ADDR is "off".
func readHTTP(get func(string) string, boolean func(string) bool, ps *command.Problems) *dashboard.Config {
	addr := strings.TrimSpace(get("HTTP_ADDR"))
	c := &dashboard.Config{
		Addr:     addr,
		User:     get("DASHBOARD_USER"),
		Password: get("DASHBOARD_PASSWORD"),
		ReadOnly: boolean("DASHBOARD_READONLY"),
		Insecure: boolean("DASHBOARD_INSECURE"),
		AllowedHosts: strings.FieldsFunc(get("DASHBOARD_ALLOWED_HOSTS"), func(r rune) bool {
			return r == ',' || r == ' '
		}),
	}
	if file := get("DASHBOARD_PASSWORD_FILE"); file != "" {
		if c.Password != "" {
			ps.Addf("DASHBOARD_PASSWORD_FILE", "set DASHBOARD_PASSWORD or DASHBOARD_PASSWORD_FILE, not both")
		} else if data, err := conffile.Read(file, conffile.MaxSize); err != nil {
			ps.Add("DASHBOARD_PASSWORD_FILE", err)
		} else {
			line, _, _ := strings.Cut(string(data), "\n")
			if c.Password = strings.TrimSuffix(line, "\r"); c.Password == "" {
				ps.Addf("DASHBOARD_PASSWORD_FILE", "%s holds an empty password", file)
			}
		}
	}
	if c.User != "" && c.Password == "" && !ps.Bad("DASHBOARD_PASSWORD_FILE") {
		ps.Addf("DASHBOARD_PASSWORD", "required with DASHBOARD_USER (or DASHBOARD_PASSWORD_FILE)")
	}
	if c.User == "" && c.Password != "" {
		ps.Addf("DASHBOARD_USER", "required with DASHBOARD_PASSWORD")
	}
	if strings.EqualFold(addr, httpOff) {
		return nil
	}
	return c
}

// fromNew turns what worker.New reported into problems named by
// variables, leaving out the fields whose variables already have one.
func fromNew(ps *command.Problems, err error, st settings) {
	var se *worker.StartupError
	if !errors.As(err, &se) {
		ps.Add("worker", err)
		return
	}
	for _, p := range se.Problems {
		var ce *worker.ConfigError
		if !errors.As(p, &ce) {
			ps.Add("worker", p)
			continue
		}
		var re *worker.RedisError
		switch {
		case errors.As(ce, &re):
			ps.Addf("REDIS_URL", "Redis at %s is unreachable: %w", redisurl.Redact(st.redisURL), re.Err)
		case ce.Field == "HTTP" && errors.Is(ce, dashboard.ErrInsecureBind):
			ps.Addf("HTTP_ADDR", "%s is reachable from other machines; set DASHBOARD_USER and DASHBOARD_PASSWORD (or DASHBOARD_PASSWORD_FILE), "+
				"listen on 127.0.0.1, or set DASHBOARD_INSECURE=true to serve it without authentication anyway", st.worker.HTTP.Addr)
		case ce.Field == "Keys" && alipayenv.KeysBad(ps):
			// The key files were reported already.
		default:
			name, ok := fieldVars[ce.Field]
			if !ok {
				name = ce.Field
			}
			if !ps.Bad(name) {
				ps.Add(name, ce.Err)
			}
		}
	}
}

// fieldVars names the variables that set each worker.Config field.
var fieldVars = map[string]string{
	"Redis":        "REDIS_URL",
	"GatewayURL":   "ALIPAY_GATEWAY_URL",
	"Protocol":     "ALIPAY_API",
	"V3Endpoint":   "ALIPAY_V3_ENDPOINT",
	"AppID":        "ALIPAY_APP_ID",
	"Keys":         "ALIPAY_PRIVATE_KEY_FILE, ALIPAY_PUBLIC_KEY_FILE, ALIPAY_*_CERT_FILE",
	"MediaRoots":   "MEDIA_ROOTS",
	"ObjectStore":  "S3_ENDPOINT",
	"AllowedTypes": "UPLOAD_ALLOWED_TYPES",
	"MaxFileSize":  "UPLOAD_MAX_BYTES",
	"Convert":      "UPLOAD_CONVERT",
	"MerchantKeys": "MERCHANT_KEY_FILE",
	"Concurrency":  "WORKER_CONCURRENCY",
	"RateLimit":    "ALIPAY_RATE_LIMIT, ALIPAY_RATE_BURST, ALIPAY_RATE_COOLDOWN, ALIPAY_RATE_MAX_WAIT",
	"Queues":       "WORKER_QUEUES",
	"Retry":        "RETRY_BASE_DELAY, RETRY_MAX_DELAY, RETRY_THROTTLE_DELAY, RETRY_JITTER",
	"HTTP":         "HTTP_ADDR, DASHBOARD_USER, DASHBOARD_PASSWORD, DASHBOARD_PASSWORD_FILE, DASHBOARD_READONLY, DASHBOARD_INSECURE, DASHBOARD_ALLOWED_HOSTS",
}

// onlyRedisDown reports whether the one thing wrong is Redis not
// answering.
func onlyRedisDown(err error) bool {
	var se *worker.StartupError
	if !errors.As(err, &se) || len(se.Problems) == 0 {
		return false
	}
	for _, p := range se.Problems {
		var re *worker.RedisError
		if !errors.As(p, &re) {
			return false
		}
	}
	return true
}
