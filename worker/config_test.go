package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
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

func TestConfigFromEnvDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(envOf(minimalEnv()))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.withDefaults()
	if d.RedisURL != DefaultRedisURL || d.Concurrency != DefaultConcurrency || d.ShutdownTimeout != DefaultShutdownTimeout ||
		d.DelayedTaskCheckInterval != 5*time.Second || d.LogFormat != "text" || d.LogLevel != "info" {
		t.Errorf("defaults not applied: %+v", d)
	}
	if d.Queues["critical"] != 6 || d.Queues["default"] != 3 || d.Queues["low"] != 1 || len(d.Queues) != 3 {
		t.Errorf("queues = %v", d.Queues)
	}
	if len(cfg.MediaRoots) != 1 || cfg.MediaRoots[0] != "/srv/media" {
		t.Errorf("media roots = %q", cfg.MediaRoots)
	}
}

func TestConfigFromEnvReadsEverything(t *testing.T) {
	t.Parallel()
	env := minimalEnv()
	for k, v := range map[string]string{
		"REDIS_URL":                          "rediss://:pw@redis.internal:6380/2",
		"REDIS_PING_TIMEOUT":                 "2s",
		"ALIPAY_GATEWAY_URL":                 "http://127.0.0.1:9999/gateway.do",
		"ALIPAY_TIMEOUT":                     "90s",
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
		"LOG_FORMAT":                         "JSON",
		"LOG_LEVEL":                          "debug",
	} {
		env[k] = v
	}
	cfg, err := ConfigFromEnv(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"redis", cfg.RedisURL, "rediss://:pw@redis.internal:6380/2"},
		{"ping", cfg.RedisPingTimeout, 2 * time.Second},
		{"gateway", cfg.GatewayURL, "http://127.0.0.1:9999/gateway.do"},
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
		{"format", cfg.LogFormat, "json"},
		{"level", cfg.LogLevel, "debug"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigFromEnvCertificateMode(t *testing.T) {
	t.Parallel()
	env := minimalEnv()
	delete(env, "ALIPAY_PUBLIC_KEY_FILE")
	env["ALIPAY_APP_CERT_FILE"] = "/etc/alipay/appCertPublicKey.crt"
	env["ALIPAY_PUBLIC_CERT_FILE"] = "/etc/alipay/alipayCertPublicKey_RSA2.crt"
	env["ALIPAY_ROOT_CERT_FILE"] = "/etc/alipay/alipayRootCert.crt"
	if _, err := ConfigFromEnv(envOf(env)); err != nil {
		t.Fatalf("certificate mode: %v", err)
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  map[string]string
		drop []string
		want []string
	}{
		{"missing app id", nil, []string{"ALIPAY_APP_ID"}, []string{"ALIPAY_APP_ID: required"}},
		{"missing private key", nil, []string{"ALIPAY_PRIVATE_KEY_FILE"}, []string{"ALIPAY_PRIVATE_KEY_FILE: required"}},
		{"missing public key", nil, []string{"ALIPAY_PUBLIC_KEY_FILE"}, []string{"ALIPAY_PUBLIC_KEY_FILE: required"}},
		{"missing roots", nil, []string{"MEDIA_ROOTS"}, []string{"MEDIA_ROOTS: required"}},
		{"relative root", map[string]string{"MEDIA_ROOTS": "media"}, nil, []string{`MEDIA_ROOTS: "media" is not an absolute path`}},
		{"both modes", map[string]string{"ALIPAY_ROOT_CERT_FILE": "/r.crt"}, nil, []string{"use either ALIPAY_PUBLIC_KEY_FILE"}},
		{"partial cert mode", map[string]string{"ALIPAY_APP_CERT_FILE": "/a.crt"}, []string{"ALIPAY_PUBLIC_KEY_FILE"},
			[]string{"ALIPAY_PUBLIC_CERT_FILE: required in certificate mode", "ALIPAY_ROOT_CERT_FILE: required in certificate mode"}},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "30"}, nil, []string{`SHUTDOWN_TIMEOUT: "30" is not a positive duration`}},
		{"bad concurrency", map[string]string{"WORKER_CONCURRENCY": "-2"}, nil, []string{"WORKER_CONCURRENCY"}},
		{"bad queues", map[string]string{"WORKER_QUEUES": "a:0"}, nil, []string{`WORKER_QUEUES: queue "a": weight "0"`}},
		{"dup queue", map[string]string{"WORKER_QUEUES": "a,a:2"}, nil, []string{"appears twice"}},
		{"bad jitter", map[string]string{"RETRY_JITTER": "2"}, nil, []string{"RETRY_JITTER"}},
		{"max below base", map[string]string{"RETRY_BASE_DELAY": "1m", "RETRY_MAX_DELAY": "1s"}, nil, []string{"shorter than the base delay"}},
		{"bad bool", map[string]string{"WORKER_STRICT_PRIORITY": "maybe"}, nil, []string{"WORKER_STRICT_PRIORITY"}},
		{"bad format", map[string]string{"LOG_FORMAT": "xml"}, nil, []string{"LOG_FORMAT"}},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, nil, []string{"LOG_LEVEL"}},
		{"bad gateway", map[string]string{"ALIPAY_GATEWAY_URL": "ftp://x"}, nil, []string{"ALIPAY_GATEWAY_URL"}},
		{"bad redis scheme", map[string]string{"REDIS_URL": "http://:hunter2@h:1"}, nil, []string{"REDIS_URL", "unsupported uri scheme"}},
		{"sentinel without master", map[string]string{"REDIS_URL": "redis-sentinel://:hunter2@h1:26379"}, nil, []string{"master"}},
		{"unparsable redis", map[string]string{"REDIS_URL": "redis://:hunter2@h:port/0"}, nil, []string{"REDIS_URL: not a valid URL"}},
		{"two at once", map[string]string{"LOG_FORMAT": "xml"}, []string{"ALIPAY_APP_ID"}, []string{"LOG_FORMAT", "ALIPAY_APP_ID"}},
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
			_, err := ConfigFromEnv(envOf(env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals the Redis password: %q", err)
			}
		})
	}
}

func TestParseRedisURLSchemes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"redis://127.0.0.1:6379/0",
		"rediss://:pw@redis.example:6380/1",
		"redis-socket:///run/redis.sock?db=2",
		"redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379?master=mymaster",
	} {
		opt, err := parseRedisURL(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if s[:8] == "rediss:/" {
			if o, ok := opt.(asynq.RedisClientOpt); !ok || o.TLSConfig == nil {
				t.Errorf("%s: TLS not enabled: %#v", s, opt)
			}
		}
		if s[:8] == "redis-se" {
			if o, ok := opt.(asynq.RedisFailoverClientOpt); !ok || len(o.SentinelAddrs) != 2 || o.MasterName != "mymaster" {
				t.Errorf("%s: %#v", s, opt)
			}
		}
	}
	if got := redactedURL("redis://:hunter2@h:6379/0"); strings.Contains(got, "hunter2") {
		t.Errorf("redactedURL = %q", got)
	}
}

func TestParseQueues(t *testing.T) {
	t.Parallel()
	q, err := ParseQueues("critical:6,default:3,low:1")
	if err != nil || len(q) != 3 || q["critical"] != 6 || q["low"] != 1 {
		t.Fatalf("ParseQueues = %v, %v", q, err)
	}
	for _, bad := range []string{"", ",", "a:x", ":3", "a b:1"} {
		if _, err := ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) = nil error", bad)
		}
	}
}

func TestEnvVarsDocumentEveryVariableRead(t *testing.T) {
	t.Parallel()
	documented := map[string]bool{}
	for _, v := range EnvVars() {
		documented[v.Name] = true
	}
	env := minimalEnv()
	_, _ = ConfigFromEnv(func(k string) string {
		if !documented[k] {
			t.Errorf("ConfigFromEnv reads %s, which EnvVars does not document", k)
		}
		return env[k]
	})
}
