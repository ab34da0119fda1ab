package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func minimalEnv() map[string]string {
	return map[string]string{
		"ALIPAY_APP_ID":           "2021000000000001",
		"ALIPAY_PRIVATE_KEY_FILE": "/etc/alipay/app_private_key.pem",
		"ALIPAY_PUBLIC_KEY_FILE":  "/etc/alipay/alipay_public_key.pem",
		"MEDIA_ROOTS":             "/srv/media",
	}
}

func TestReadDefaults(t *testing.T) {
	t.Parallel()
	st, ps := read(envOf(minimalEnv()))
	if len(ps.List) > 0 {
		t.Fatal(fmt.Sprint(ps.List))
	}
	if st.redisURL != "redis://127.0.0.1:6379/0" || st.pingTimeout != 5*time.Second || st.logFormat != "" || st.logLevel != "" {
		t.Errorf("settings %+v", st)
	}
	if o, ok := st.worker.Redis.(asynq.RedisClientOpt); !ok || o.Addr != "127.0.0.1:6379" {
		t.Errorf("Redis = %#v", st.worker.Redis)
	}
	if st.worker.HTTP == nil || st.worker.HTTP.Addr != "" {
		t.Errorf("HTTP = %+v, want the default listener", st.worker.HTTP)
	}
	if st.worker.Convert != nil {
		t.Errorf("Convert = %+v, want nil (UPLOAD_CONVERT=off by default)", st.worker.Convert)
	}
	if st.worker.RateLimit != nil {
		t.Errorf("RateLimit = %+v, want nil (ALIPAY_RATE_LIMIT=off by default)", st.worker.RateLimit)
	}
	if st.worker.Protocol != upload.Classic || st.worker.V3Endpoint != "" {
		t.Errorf("protocol %q, v3 endpoint %q; want classic and the default", st.worker.Protocol, st.worker.V3Endpoint)
	}
	if len(st.worker.MediaRoots) != 1 || st.worker.MediaRoots[0] != "/srv/media" || st.worker.AppID != "2021000000000001" {
		t.Errorf("worker config %+v", st.worker)
	}
}

func TestReadEverything(t *testing.T) {
	t.Parallel()
	env := minimalEnv()
	for k, v := range map[string]string{
		"REDIS_URL":                          "rediss://:pw@redis.internal:6380/2",
		"REDIS_PING_TIMEOUT":                 "2s",
		"ALIPAY_GATEWAY_URL":                 "http://127.0.0.1:9999/gateway.do",
		"ALIPAY_API":                         "V3",
		"ALIPAY_V3_ENDPOINT":                 "http://127.0.0.1:9998",
		"ALIPAY_TIMEOUT":                     "90s",
		"ALIPAY_RATE_LIMIT":                  "300/m",
		"ALIPAY_RATE_BURST":                  "5",
		"ALIPAY_RATE_COOLDOWN":               "2s",
		"ALIPAY_RATE_MAX_WAIT":               "1m",
		"MEDIA_ROOTS":                        "/srv/a: /srv/b ::,/srv/c",
		"UPLOAD_ALLOWED_TYPES":               "jpg, png",
		"UPLOAD_MAX_BYTES":                   "1048576",
		"WORKER_CONCURRENCY":                 "3",
		"WORKER_QUEUES":                      "uploads:2, bulk",
		"WORKER_STRICT_PRIORITY":             "true",
		"SHUTDOWN_TIMEOUT":                   "1m",
		"RETRY_BASE_DELAY":                   "2s",
		"RETRY_MAX_DELAY":                    "1m",
		"RETRY_THROTTLE_DELAY":               "3m",
		"RETRY_JITTER":                       "0",
		"WORKER_DELAYED_TASK_CHECK_INTERVAL": "500ms",
		"WORKER_TASK_CHECK_INTERVAL":         "200ms",
		"WORKER_NOTICES":                     "false",
		"LOG_FORMAT":                         "JSON",
		"LOG_LEVEL":                          "debug",
		"HTTP_ADDR":                          "0.0.0.0:9000",
		"DASHBOARD_USER":                     "ops",
		"DASHBOARD_PASSWORD":                 " pw ",
		"DASHBOARD_READONLY":                 "true",
		"DASHBOARD_INSECURE":                 "false",
		"DASHBOARD_ALLOWED_HOSTS":            " dash.example.com, ops.internal ",
		"UPLOAD_CONVERT":                     "On",
		"UPLOAD_CONVERT_CONCURRENCY":         "3",
		"UPLOAD_CONVERT_MAX_BYTES":           "1000000",
		"UPLOAD_CONVERT_MIN_QUALITY":         "70",
		"UPLOAD_CONVERT_MAX_PIXELS":          "12000000",
		"UPLOAD_CONVERT_MAX_MEMORY":          "500000000",
		"UPLOAD_CONVERT_KEEP_EXIF":           "Make, Model",
		"UPLOAD_CONVERT_SCRATCH_DIR":         "/var/tmp",
	} {
		env[k] = v
	}
	st, ps := read(envOf(env))
	if len(ps.List) > 0 {
		t.Fatal(fmt.Sprint(ps.List))
	}
	cfg := st.worker
	redis, _ := cfg.Redis.(asynq.RedisClientOpt)
	checks := []struct {
		name      string
		got, want any
	}{
		{"redis url", st.redisURL, "rediss://:pw@redis.internal:6380/2"},
		{"redis", redis.Addr, "redis.internal:6380"},
		{"redis tls", redis.TLSConfig != nil, true},
		{"ping", st.pingTimeout, 2 * time.Second},
		{"gateway", cfg.GatewayURL, "http://127.0.0.1:9999/gateway.do"},
		{"protocol", cfg.Protocol, upload.V3},
		{"v3 endpoint", cfg.V3Endpoint, "http://127.0.0.1:9998"},
		{"timeout", cfg.UploadTimeout, 90 * time.Second},
		{"roots", strings.Join(cfg.MediaRoots, "|"), "/srv/a|/srv/b|/srv/c"},
		{"types", strings.Join(cfg.AllowedTypes, "|"), "jpg|png"},
		{"max", cfg.MaxFileSize, int64(1 << 20)},
		{"concurrency", cfg.Concurrency, 3},
		{"queue uploads", cfg.Queues["uploads"], 2},
		{"queue bulk", cfg.Queues["bulk"], 1},
		{"strict", cfg.StrictPriority, true},
		{"shutdown", cfg.ShutdownTimeout, time.Minute},
		{"base", cfg.Retry.BaseDelay, 2 * time.Second},
		{"max delay", cfg.Retry.MaxDelay, time.Minute},
		{"throttle", cfg.Retry.ThrottleDelay, 3 * time.Minute},
		{"jitter off", cfg.Retry.Jitter, -1.0},
		{"delayed", cfg.DelayedTaskCheckInterval, 500 * time.Millisecond},
		{"poll", cfg.TaskCheckInterval, 200 * time.Millisecond},
		{"notices off", cfg.NoNotices, true},
		{"format", st.logFormat, "json"},
		{"level", st.logLevel, "debug"},
		{"http addr", cfg.HTTP.Addr, "0.0.0.0:9000"},
		{"user", cfg.HTTP.User, "ops"},
		{"password, as it is", cfg.HTTP.Password, " pw "},
		{"read-only", cfg.HTTP.ReadOnly, true},
		{"insecure", cfg.HTTP.Insecure, false},
		{"allowed hosts", strings.Join(cfg.HTTP.AllowedHosts, "|"), "dash.example.com|ops.internal"},
		{"convert", cfg.Convert != nil, true},
		{"rate limit", cfg.RateLimit != nil, true},
	}
	if r := cfg.RateLimit; r != nil {
		checks = append(checks, []struct {
			name      string
			got, want any
		}{
			{"rate", r.Rate, ratelimit.Rate{Calls: 300, Per: time.Minute}},
			{"burst", r.Burst, 5},
			{"cool-down", r.CoolDown, 2 * time.Second},
			{"max wait", r.MaxWait, time.Minute},
		}...)
	}
	if c := cfg.Convert; c != nil {
		checks = append(checks, []struct {
			name      string
			got, want any
		}{
			{"convert concurrency", c.Concurrency, 3},
			{"convert max bytes", c.MaxInputBytes, int64(1000000)},
			{"convert min quality", c.MinQuality, 70},
			{"convert max pixels", c.MaxPixels, int64(12000000)},
			{"convert max memory", c.MaxMemory, int64(500000000)},
			{"convert keep exif", strings.Join(c.KeepEXIF, "|"), "Make|Model"},
			{"convert scratch", c.ScratchDir, "/var/tmp"},
		}...)
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// ALIPAY_RATE_COOLDOWN=off (or 0) keeps the shared rate without the
// fleet-wide pause.
func TestReadRateLimitWithoutCoolDown(t *testing.T) {
	t.Parallel()
	for _, off := range []string{"off", "0", "OFF"} {
		env := minimalEnv()
		env["ALIPAY_RATE_LIMIT"], env["ALIPAY_RATE_COOLDOWN"] = "20", off
		st, ps := read(envOf(env))
		if len(ps.List) > 0 || st.worker.RateLimit == nil || st.worker.RateLimit.CoolDown >= 0 || st.worker.RateLimit.Rate.Calls != 20 {
			t.Errorf("ALIPAY_RATE_COOLDOWN=%s: %+v, %s", off, st.worker.RateLimit, fmt.Sprint(ps.List))
		}
	}
}

func TestReadHTTP(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := minimalEnv()
	env["DASHBOARD_USER"], env["DASHBOARD_PASSWORD_FILE"] = "ops", pwFile
	st, ps := read(envOf(env))
	if len(ps.List) > 0 || st.worker.HTTP.Password != "s3cret" {
		t.Errorf("password file: %+v, %s", st.worker.HTTP, fmt.Sprint(ps.List))
	}
	env = minimalEnv()
	env["HTTP_ADDR"] = "OFF"
	if st, ps := read(envOf(env)); len(ps.List) > 0 || st.worker.HTTP != nil {
		t.Errorf("HTTP_ADDR=off: %+v, %s", st.worker.HTTP, fmt.Sprint(ps.List))
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyPW := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyPW, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pwFIFO := filepath.Join(dir, "pw.fifo")
	if err := syscall.Mkfifo(pwFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  map[string]string
		drop []string
		want []string
	}{
		{"missing private key", nil, []string{"ALIPAY_PRIVATE_KEY_FILE"}, []string{"ALIPAY_PRIVATE_KEY_FILE: required"}},
		{"missing public key", nil, []string{"ALIPAY_PUBLIC_KEY_FILE"}, []string{"ALIPAY_PUBLIC_KEY_FILE: required"}},
		{"both modes", map[string]string{"ALIPAY_ROOT_CERT_FILE": "/r.crt"}, nil, []string{"use either ALIPAY_PUBLIC_KEY_FILE"}},
		{"partial cert mode", map[string]string{"ALIPAY_APP_CERT_FILE": "/a.crt"}, []string{"ALIPAY_PUBLIC_KEY_FILE"},
			[]string{"ALIPAY_PUBLIC_CERT_FILE: required in certificate mode", "ALIPAY_ROOT_CERT_FILE: required in certificate mode"}},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "30"}, nil, []string{`SHUTDOWN_TIMEOUT: "30" is not a positive duration`}},
		{"bad protocol", map[string]string{"ALIPAY_API": "v2"}, nil, []string{`ALIPAY_API: upload: unknown protocol "v2": want classic or v3`}},
		{"bad concurrency", map[string]string{"WORKER_CONCURRENCY": "-2"}, nil, []string{"WORKER_CONCURRENCY"}},
		{"huge concurrency", map[string]string{"WORKER_CONCURRENCY": "20000"}, nil, []string{"WORKER_CONCURRENCY: 20000 is more than 10000"}},
		{"bad queues", map[string]string{"WORKER_QUEUES": "a:0"}, nil, []string{`WORKER_QUEUES: queue "a": weight "0"`}},
		{"dup queue", map[string]string{"WORKER_QUEUES": "a,a:2"}, nil, []string{"appears twice"}},
		{"bad jitter", map[string]string{"RETRY_JITTER": "2"}, nil, []string{"RETRY_JITTER"}},
		{"bad bool", map[string]string{"WORKER_STRICT_PRIORITY": "maybe"}, nil, []string{"WORKER_STRICT_PRIORITY"}},
		{"bad format", map[string]string{"LOG_FORMAT": "xml"}, nil, []string{"LOG_FORMAT"}},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, nil, []string{"LOG_LEVEL"}},
		{"bad redis scheme", map[string]string{"REDIS_URL": "http://:hunter2@h:1"}, nil, []string{"REDIS_URL", "unsupported uri scheme"}},
		{"sentinel without master", map[string]string{"REDIS_URL": "redis-sentinel://:hunter2@h1:26379"}, nil, []string{"master"}},
		{"unparsable redis", map[string]string{"REDIS_URL": "redis://:hunter2@h:port/0"}, nil, []string{"REDIS_URL: not a valid URL"}},
		{"two at once", map[string]string{"LOG_FORMAT": "xml"}, []string{"ALIPAY_PRIVATE_KEY_FILE"}, []string{"LOG_FORMAT", "ALIPAY_PRIVATE_KEY_FILE"}},
		{"both passwords", map[string]string{"DASHBOARD_PASSWORD": "a", "DASHBOARD_PASSWORD_FILE": pwFile}, nil, []string{"DASHBOARD_PASSWORD_FILE", "not both"}},
		{"missing password file", map[string]string{"DASHBOARD_PASSWORD_FILE": filepath.Join(dir, "absent")}, nil, []string{"DASHBOARD_PASSWORD_FILE", "absent"}},
		{"empty password file", map[string]string{"DASHBOARD_PASSWORD_FILE": emptyPW}, nil, []string{"DASHBOARD_PASSWORD_FILE", "empty password"}},
		// Issue 12 item 7: read only regular files, never block on a FIFO.
		{"password file is /dev/zero", map[string]string{"DASHBOARD_PASSWORD_FILE": "/dev/zero"}, nil, []string{"DASHBOARD_PASSWORD_FILE", "/dev/zero is a character device, not a regular file"}},
		{"password file is a FIFO", map[string]string{"DASHBOARD_PASSWORD_FILE": pwFIFO}, nil, []string{"DASHBOARD_PASSWORD_FILE", "is a named pipe (FIFO), not a regular file"}},
		{"bad readonly", map[string]string{"DASHBOARD_READONLY": "yes please"}, nil, []string{"DASHBOARD_READONLY"}},
		{"user without password", map[string]string{"DASHBOARD_USER": "ops"}, nil, []string{"DASHBOARD_PASSWORD: required with DASHBOARD_USER"}},
		{"password without user", map[string]string{"DASHBOARD_PASSWORD": "pw"}, nil, []string{"DASHBOARD_USER: required with DASHBOARD_PASSWORD"}},
		{"bad convert", map[string]string{"UPLOAD_CONVERT": "yes"}, nil, []string{`UPLOAD_CONVERT: "yes" is not on or off`}},
		// Checked while off, too.
		{"bad convert quality", map[string]string{"UPLOAD_CONVERT_MIN_QUALITY": "99"}, nil, []string{"UPLOAD_CONVERT_MIN_QUALITY: 99 is over 95"}},
		{"bad rate", map[string]string{"ALIPAY_RATE_LIMIT": "fast"}, nil, []string{`ALIPAY_RATE_LIMIT: "fast" is not off or a rate`}},
		{"zero rate", map[string]string{"ALIPAY_RATE_LIMIT": "0"}, nil, []string{`ALIPAY_RATE_LIMIT: "0" is not off or a rate`}},
		{"rate per day", map[string]string{"ALIPAY_RATE_LIMIT": "20/d"}, nil, []string{`ALIPAY_RATE_LIMIT: "20/d"`, "N/s, N/m, N/h"}},
		// Checked while off, too.
		{"bad burst", map[string]string{"ALIPAY_RATE_BURST": "0"}, nil, []string{`ALIPAY_RATE_BURST: "0" is not a positive whole number`}},
		{"bad cool-down", map[string]string{"ALIPAY_RATE_LIMIT": "20", "ALIPAY_RATE_COOLDOWN": "5"}, nil, []string{`ALIPAY_RATE_COOLDOWN: "5" is not a positive duration`}},
		{"bad max wait", map[string]string{"ALIPAY_RATE_MAX_WAIT": "-1s"}, nil, []string{`ALIPAY_RATE_MAX_WAIT: "-1s" is not a positive duration`}},
		{"bad convert bytes", map[string]string{"UPLOAD_CONVERT": "on", "UPLOAD_CONVERT_MAX_BYTES": "50MB"}, nil, []string{`UPLOAD_CONVERT_MAX_BYTES: "50MB" is not a positive whole number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := minimalEnv()
			for k, v := range tt.set {
				env[k] = v
			}
			for _, k := range tt.drop {
				delete(env, k)
			}
			_, ps := read(envOf(env))
			got := fmt.Sprint(ps.List)
			if len(ps.List) == 0 {
				t.Fatal("no problem reported")
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems %q do not contain %q", got, w)
				}
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("problems reveal the Redis password: %q", got)
			}
		})
	}
}

// TestEverySettingIsBound: read asks only for bound variables (a flag and
// a line in --help each), and asks for every one of them.
func TestEverySettingIsBound(t *testing.T) {
	t.Parallel()
	bound := map[string]bool{}
	for _, v := range vars {
		bound[v.Name] = true
	}
	asked := map[string]bool{}
	read(func(k string) string {
		if !bound[k] {
			t.Errorf("read asks for %s, which has no flag", k)
		}
		asked[k] = true
		return minimalEnv()[k]
	})
	for name := range bound {
		if !asked[name] {
			t.Errorf("%s is bound but never read", name)
		}
	}
}

// TestREADMEListsEverySetting: the README's table of the worker's
// settings names every variable, with its default, and no other.
func TestREADMEListsEverySetting(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "### The worker")
	end := strings.Index(text[start+1:], "\n### ")
	if start < 0 || end < 0 {
		t.Fatal("no worker section in README.md")
	}
	row := regexp.MustCompile("(?m)^\\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \\|([^|]*)\\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(text[start:start+1+end], -1) {
		names := strings.Split(m[1], ", ")
		defaults := strings.Split(strings.TrimSpace(m[2]), ", ")
		for i, n := range names {
			def := ""
			if len(defaults) == len(names) {
				def = strings.Trim(defaults[i], "`")
			}
			if def == "(required)" {
				def = ""
			}
			documented[strings.Trim(n, "`")] = def
		}
	}
	for _, v := range vars {
		def, ok := documented[v.Name]
		if !ok {
			t.Errorf("README.md does not list %s", v.Name)
			continue
		}
		delete(documented, v.Name)
		if !sameDefault(def, v.Default) {
			t.Errorf("README.md gives %s the default %q, the command %q", v.Name, def, v.Default)
		}
	}
	for name := range documented {
		t.Errorf("README.md lists %s, which the worker does not read", name)
	}
}

// sameDefault compares defaults as written, durations by value (1m is
// 1m0s).
func sameDefault(a, b string) bool {
	if a == b {
		return true
	}
	da, errA := time.ParseDuration(a)
	db, errB := time.ParseDuration(b)
	return errA == nil && errB == nil && da == db
}
