package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/cmd/internal/s3env"
	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
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
	rateOff            = "off" // ALIPAY_RATE_LIMIT's and ALIPAY_RATE_COOLDOWN's "none"
)

// vars are the worker's settings, in the order of the README's table.
var vars = []command.Var{
	{Name: "REDIS_URL", Default: tasks.DefaultRedisURL, Usage: "Redis location: redis://, rediss:// (TLS), redis-socket://, redis-sentinel://host1:26379,host2:26379?master=name or redis-cluster://host1:6379,host2:6379; password in the userinfo"},
	{Name: "REDIS_PING_TIMEOUT", Default: defaultPingTimeout.String(), Usage: "time limit of the start-up Redis ping"},
	{Name: "ALIPAY_GATEWAY_URL", Default: upload.ProductionGateway, Usage: "Alipay gateway (sandbox: " + upload.SandboxGateway + ", or the emulator's URL)"},
	{Name: "ALIPAY_API", Default: string(upload.Classic), Usage: "protocol of the uploads: " + string(upload.Classic) + " (gateway.do) or " + string(upload.V3) + " (OpenAPI v3); results are the same"},
	{Name: "ALIPAY_V3_ENDPOINT", Usage: "OpenAPI v3 base URL (default: scheme and host of ALIPAY_GATEWAY_URL, e.g. " + upload.ProductionV3Endpoint + ")"},
	{Name: "ALIPAY_APP_ID", Usage: "application app_id (required)"},
	{Name: "ALIPAY_PRIVATE_KEY_FILE", Usage: "application private key, PKCS#1 or PKCS#8, PEM or bare Base64 (required)"},
	{Name: "ALIPAY_PUBLIC_KEY_FILE", Usage: "Alipay public key (public key mode)"},
	{Name: "ALIPAY_APP_CERT_FILE", Usage: "application certificate appCertPublicKey_<app_id>.crt (certificate mode)"},
	{Name: "ALIPAY_PUBLIC_CERT_FILE", Usage: "Alipay public key certificate alipayCertPublicKey_RSA2.crt (certificate mode)"},
	{Name: "ALIPAY_ROOT_CERT_FILE", Usage: "Alipay root certificate bundle alipayRootCert.crt (certificate mode)"},
	{Name: "ALIPAY_TIMEOUT", Default: worker.DefaultUploadTimeout.String(), Usage: "time limit of one gateway request"},
	{Name: "ALIPAY_RATE_LIMIT", Default: rateOff, Usage: "calls to the gateway per second for the whole fleet (every worker with this app_id and Redis), shared through Redis: a whole number, or N/s, N/m, N/h; off: no shared limit (a throttled worker only slows itself down)"},
	{Name: "ALIPAY_RATE_BURST", Default: strconv.Itoa(ratelimit.DefaultBurst), Usage: "with ALIPAY_RATE_LIMIT: calls the fleet may make at once after a quiet spell; at most limit + burst calls in any second"},
	{Name: "ALIPAY_RATE_COOLDOWN", Default: ratelimit.DefaultCoolDown.String(), Usage: "with ALIPAY_RATE_LIMIT: how long every worker of the fleet pauses its calls once any of them is throttled (40005, HTTP 429); off: no pause"},
	{Name: "ALIPAY_RATE_MAX_WAIT", Default: ratelimit.DefaultMaxWait.String(), Usage: "with ALIPAY_RATE_LIMIT: longest wait of one call for its slot; a call that would wait longer is throttled (tried again after RETRY_THROTTLE_DELAY, outside the retry budget)"},
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
}

// defaultTypes is the validate package's default type list as the
// settings write it (jpeg is jpg).
func defaultTypes() string {
	return strings.Join(slices.DeleteFunc(slices.Clone(validate.DefaultAllowed), func(t string) bool { return t == "jpeg" }), ",")
}

// keyFiles are the paths of the key material.
type keyFiles struct {
	privateKey, publicKey     string // public key mode
	appCert, alipayCert, root string // certificate mode
}

// settings is everything the command read.
type settings struct {
	redisURL    string
	pingTimeout time.Duration
	keys        keyFiles
	logFormat   string
	logLevel    string
	worker      worker.Config     // all but Keys
	s3          map[string]string // S3_* settings, for s3env
}

// problem is one thing to fix, named by the variable that sets it.
type problem struct {
	vars string // e.g. "MEDIA_ROOTS", or "RETRY_*"
	err  error
}

func (p problem) String() string { return p.vars + ": " + p.err.Error() }

// problems collects what is wrong, remembering which variables are at fault.
type problems struct {
	list []problem
	bad  map[string]bool
}

func (ps *problems) add(vars string, err error) {
	if ps.bad == nil {
		ps.bad = map[string]bool{}
	}
	ps.list = append(ps.list, problem{vars, err})
	ps.bad[vars] = true
}

func (ps *problems) addf(vars, format string, args ...any) {
	ps.add(vars, fmt.Errorf(format, args...))
}

// parseSetting parses s, the trimmed value of the setting name, with
// parse: an empty one is the zero value (the default), and one that parse
// refuses is the zero value and a problem saying that s is not want.
func parseSetting[T any](ps *problems, name, s, want string, parse func(string) (T, bool)) T {
	var zero T
	if s == "" {
		return zero
	}
	v, ok := parse(s)
	if !ok {
		ps.addf(name, "%q is not %s", s, want)
		return zero
	}
	return v
}

// read reads the settings through get (the flag if given, else the
// environment). It checks syntax and what only the command knows: the
// key files' mode. The rest is worker.New's to check.
func read(get func(string) string) (settings, problems) {
	var ps problems
	trimmed := func(name string) string { return strings.TrimSpace(get(name)) }
	duration := func(name string) time.Duration {
		return parseSetting(&ps, name, trimmed(name), "a positive duration (write e.g. 500ms, 30s or 2m)",
			func(s string) (time.Duration, bool) {
				d, err := time.ParseDuration(s)
				return d, err == nil && d > 0
			})
	}
	positive := func(name string) int64 {
		return parseSetting(&ps, name, trimmed(name), "a positive whole number", func(s string) (int64, bool) {
			n, err := strconv.ParseInt(s, 10, 64)
			return n, err == nil && n > 0
		})
	}
	boolean := func(name string) bool {
		return parseSetting(&ps, name, trimmed(name), "true or false", func(s string) (bool, bool) {
			b, err := strconv.ParseBool(s)
			return b, err == nil
		})
	}

	st := settings{
		redisURL:    trimmed("REDIS_URL"),
		pingTimeout: duration("REDIS_PING_TIMEOUT"),
		keys: keyFiles{
			privateKey: trimmed("ALIPAY_PRIVATE_KEY_FILE"),
			publicKey:  trimmed("ALIPAY_PUBLIC_KEY_FILE"),
			appCert:    trimmed("ALIPAY_APP_CERT_FILE"),
			alipayCert: trimmed("ALIPAY_PUBLIC_CERT_FILE"),
			root:       trimmed("ALIPAY_ROOT_CERT_FILE"),
		},
		logFormat: strings.ToLower(trimmed("LOG_FORMAT")),
		logLevel:  strings.ToLower(trimmed("LOG_LEVEL")),
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
		ps.add("REDIS_URL", err)
	}
	w.GatewayURL = trimmed("ALIPAY_GATEWAY_URL")
	if w.Protocol, err = upload.ParseProtocol(trimmed("ALIPAY_API")); err != nil {
		ps.add("ALIPAY_API", err)
	}
	w.V3Endpoint = trimmed("ALIPAY_V3_ENDPOINT")
	w.AppID = trimmed("ALIPAY_APP_ID")
	w.UploadTimeout = duration("ALIPAY_TIMEOUT")
	w.RateLimit = readRateLimit(trimmed, positive, duration, &ps)
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
			ps.add("MERCHANT_KEY_FILE", err)
		}
	}
	w.MerchantRefreshBefore = duration("MERCHANT_REFRESH_BEFORE")
	if n := positive("WORKER_CONCURRENCY"); n > 10000 {
		ps.addf("WORKER_CONCURRENCY", "%d is more than 10000", n)
	} else {
		w.Concurrency = int(n)
	}
	if s := trimmed("WORKER_QUEUES"); s != "" {
		if w.Queues, err = worker.ParseQueues(s); err != nil {
			ps.add("WORKER_QUEUES", err)
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
			ps.addf("RETRY_JITTER", "%q is not a number from 0 to 1", s)
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
		ps.add("LOG_FORMAT", err)
	}
	if _, err := command.ParseLevel(st.logLevel); err != nil {
		ps.add("LOG_LEVEL", err)
	}
	st.keys.check(&ps)
	w.HTTP = readHTTP(get, boolean, &ps)
	return st, ps
}

// readConvert reads UPLOAD_CONVERT and its settings: nil when off. The
// settings are checked even when off, so a typo does not wait for the day
// conversion is turned on.
func readConvert(trimmed func(string) string, positive func(string) int64, ps *problems) *convert.Config {
	c := &convert.Config{
		MaxInputBytes: positive("UPLOAD_CONVERT_MAX_BYTES"),
		MaxPixels:     positive("UPLOAD_CONVERT_MAX_PIXELS"),
		MaxMemory:     positive("UPLOAD_CONVERT_MAX_MEMORY"),
		ScratchDir:    trimmed("UPLOAD_CONVERT_SCRATCH_DIR"),
	}
	if n := positive("UPLOAD_CONVERT_CONCURRENCY"); n > 1000 {
		ps.addf("UPLOAD_CONVERT_CONCURRENCY", "%d is more than 1000", n)
	} else {
		c.Concurrency = int(n)
	}
	if n := positive("UPLOAD_CONVERT_MIN_QUALITY"); n > convert.DefaultMaxQuality {
		ps.addf("UPLOAD_CONVERT_MIN_QUALITY", "%d is over %d, the highest quality a conversion uses", n, convert.DefaultMaxQuality)
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
		ps.addf("UPLOAD_CONVERT", "%q is not on or off", s)
		return nil
	}
}

// readRateLimit reads ALIPAY_RATE_LIMIT and its settings: nil when off.
// The settings are checked even when off, as conversion's are.
func readRateLimit(trimmed func(string) string, positive func(string) int64, duration func(string) time.Duration, ps *problems) *ratelimit.Config {
	c := &ratelimit.Config{MaxWait: duration("ALIPAY_RATE_MAX_WAIT")}
	if n := positive("ALIPAY_RATE_BURST"); n > 1_000_000 {
		ps.addf("ALIPAY_RATE_BURST", "%d is more than 1000000", n)
	} else {
		c.Burst = int(n)
	}
	switch s := strings.ToLower(trimmed("ALIPAY_RATE_COOLDOWN")); s {
	case "", "0", rateOff:
		if s != "" {
			c.CoolDown = -1 // none
		}
	default:
		c.CoolDown = duration("ALIPAY_RATE_COOLDOWN")
	}
	s := trimmed("ALIPAY_RATE_LIMIT")
	if s == "" || strings.EqualFold(s, rateOff) {
		return nil
	}
	rate, err := ratelimit.ParseRate(s)
	if err != nil {
		ps.addf("ALIPAY_RATE_LIMIT", "%q is not off or a rate: write calls per second as a positive whole number (e.g. 20), or N/s, N/m, N/h", s)
		return nil
	}
	c.Rate = rate
	return c
}

// check reports missing key files and a mix of the two modes.
func (k keyFiles) check(ps *problems) {
	if k.privateKey == "" {
		ps.addf("ALIPAY_PRIVATE_KEY_FILE", "required (path of the application private key)")
	}
	certs := []struct{ name, val string }{
		{"ALIPAY_APP_CERT_FILE", k.appCert},
		{"ALIPAY_PUBLIC_CERT_FILE", k.alipayCert},
		{"ALIPAY_ROOT_CERT_FILE", k.root},
	}
	var set []string
	for _, c := range certs {
		if c.val != "" {
			set = append(set, c.name)
		}
	}
	switch {
	case len(set) > 0 && k.publicKey != "":
		ps.addf("ALIPAY_PUBLIC_KEY_FILE", "set together with %s: use either ALIPAY_PUBLIC_KEY_FILE (public key mode) or the three certificate files (certificate mode)", strings.Join(set, ", "))
	case len(set) > 0 && len(set) < len(certs):
		for _, c := range certs {
			if c.val == "" {
				ps.addf(c.name, "required in certificate mode (%s is set)", strings.Join(set, ", "))
			}
		}
	case len(set) == 0 && k.publicKey == "":
		ps.addf("ALIPAY_PUBLIC_KEY_FILE", "required (Alipay's public key), unless certificate mode is configured with ALIPAY_APP_CERT_FILE, ALIPAY_PUBLIC_CERT_FILE and ALIPAY_ROOT_CERT_FILE")
	}
}

// load reads the key files of the configured mode. In public key mode both
// files are read, so both problems are reported at once. It reports
// nothing more when the settings already have a key problem.
func (k keyFiles) load(ps *problems) (upload.Keys, bool) {
	for _, name := range []string{"ALIPAY_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE", "ALIPAY_APP_CERT_FILE", "ALIPAY_PUBLIC_CERT_FILE", "ALIPAY_ROOT_CERT_FILE"} {
		if ps.bad[name] {
			return upload.Keys{}, false
		}
	}
	priv, err := sign.LoadPrivateKeyFile(k.privateKey)
	if err != nil {
		ps.add("ALIPAY_PRIVATE_KEY_FILE", err)
	}
	if k.appCert == "" {
		pub, err := sign.LoadPublicKeyFile(k.publicKey)
		if err != nil {
			ps.add("ALIPAY_PUBLIC_KEY_FILE", err)
		}
		if priv == nil || pub == nil {
			return upload.Keys{}, false
		}
		return upload.Keys{Signer: sign.RSA2{Key: priv}, AlipayPublicKey: pub}, true
	}
	ok := priv != nil
	for _, f := range []struct{ name, path string }{
		{"ALIPAY_APP_CERT_FILE", k.appCert},
		{"ALIPAY_PUBLIC_CERT_FILE", k.alipayCert},
		{"ALIPAY_ROOT_CERT_FILE", k.root},
	} {
		if _, err := conffile.Read(f.path, conffile.MaxSize); err != nil {
			ps.add(f.name, err)
			ok = false
		}
	}
	if !ok {
		return upload.Keys{}, false
	}
	keys, err := upload.CertKeysFromFiles(k.privateKey, k.appCert, k.alipayCert, k.root)
	if err != nil {
		ps.add("ALIPAY_*_CERT_FILE", err)
		return upload.Keys{}, false
	}
	return keys, true
}

// readHTTP reads HTTP_ADDR and DASHBOARD_*: nil when HTTP_ADDR is "off".
func readHTTP(get func(string) string, boolean func(string) bool, ps *problems) *dashboard.Config {
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
			ps.addf("DASHBOARD_PASSWORD_FILE", "set DASHBOARD_PASSWORD or DASHBOARD_PASSWORD_FILE, not both")
		} else if data, err := conffile.Read(file, conffile.MaxSize); err != nil {
			ps.add("DASHBOARD_PASSWORD_FILE", err)
		} else {
			line, _, _ := strings.Cut(string(data), "\n")
			if c.Password = strings.TrimSuffix(line, "\r"); c.Password == "" {
				ps.addf("DASHBOARD_PASSWORD_FILE", "%s holds an empty password", file)
			}
		}
	}
	if c.User != "" && c.Password == "" && !ps.bad["DASHBOARD_PASSWORD_FILE"] {
		ps.addf("DASHBOARD_PASSWORD", "required with DASHBOARD_USER (or DASHBOARD_PASSWORD_FILE)")
	}
	if c.User == "" && c.Password != "" {
		ps.addf("DASHBOARD_USER", "required with DASHBOARD_PASSWORD")
	}
	if strings.EqualFold(addr, httpOff) {
		return nil
	}
	return c
}

// fromNew turns what worker.New reported into problems named by
// variables, leaving out the fields whose variables already have one.
func (ps *problems) fromNew(err error, st settings) {
	var se *worker.StartupError
	if !errors.As(err, &se) {
		ps.add("worker", err)
		return
	}
	for _, p := range se.Problems {
		var ce *worker.ConfigError
		if !errors.As(p, &ce) {
			ps.add("worker", p)
			continue
		}
		var re *worker.RedisError
		switch {
		case errors.As(ce, &re):
			ps.addf("REDIS_URL", "Redis at %s is unreachable: %w", redisurl.Redact(st.redisURL), re.Err)
		case ce.Field == "HTTP" && errors.Is(ce, dashboard.ErrInsecureBind):
			ps.addf("HTTP_ADDR", "%s is reachable from other machines; set DASHBOARD_USER and DASHBOARD_PASSWORD (or DASHBOARD_PASSWORD_FILE), "+
				"listen on 127.0.0.1, or set DASHBOARD_INSECURE=true to serve it without authentication anyway", st.worker.HTTP.Addr)
		case ce.Field == "Keys" && ps.keysBad():
			// The key files were reported already.
		default:
			name, ok := fieldVars[ce.Field]
			if !ok {
				name = ce.Field
			}
			if !ps.anyBad(name) {
				ps.add(name, ce.Err)
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

// anyBad reports whether one of the variables in names (comma-separated)
// already has a problem.
func (ps *problems) anyBad(names string) bool {
	for _, n := range strings.Split(names, ", ") {
		if ps.bad[n] {
			return true
		}
	}
	return false
}

// keysBad reports whether a key or certificate variable has a problem.
func (ps *problems) keysBad() bool {
	for n := range ps.bad {
		if strings.HasPrefix(n, "ALIPAY_") && strings.HasSuffix(n, "_FILE") {
			return true
		}
	}
	return false
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
