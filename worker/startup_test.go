package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

func TestStartupChecks(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadPort := testproc.FreePort(t)

	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"missing media root", func(c *Config) { c.MediaRoots = []string{filepath.Join(dir, "no-such-dir")} },
			[]string{"MediaRoots", "no-such-dir", "does not exist"}},
		{"media root is a file", func(c *Config) { c.MediaRoots = []string{file} },
			[]string{"MediaRoots", "not a directory"}},
		{"relative media root", func(c *Config) { c.MediaRoots = []string{"media"} },
			[]string{`MediaRoots: "media" is not an absolute path`}},
		{"no media root", func(c *Config) { c.MediaRoots = nil }, []string{"MediaRoots: required"}},
		{"unreachable redis", func(c *Config) {
			c.Redis = asynq.RedisClientOpt{Addr: fmt.Sprintf("127.0.0.1:%d", deadPort), Password: "hunter2"}
		}, []string{"Redis: Redis at " + fmt.Sprintf("127.0.0.1:%d/0 is unreachable", deadPort), "connection refused"}},
		{"no redis", func(c *Config) { c.Redis = nil }, []string{"Redis: required"}},
		{"unknown type", func(c *Config) { c.AllowedTypes = []string{"tiff"} },
			[]string{"AllowedTypes", "tiff"}},
		{"missing app id", func(c *Config) { c.AppID = "" }, []string{"AppID: required"}},
		{"no keys", func(c *Config) { c.Keys = upload.Keys{} }, []string{"Keys: no Signer", "Keys: no AlipayPublicKey"}},
		{"bad gateway", func(c *Config) { c.GatewayURL = "ftp://x" }, []string{"GatewayURL"}},
		{"max below base", func(c *Config) { c.Retry = tasks.RetryPolicy{BaseDelay: time.Minute, MaxDelay: time.Second} },
			[]string{"Retry", "shorter than the base delay"}},
		{"bad queue weight", func(c *Config) { c.Queues = map[string]int{"a": 0} }, []string{"Queues", `"a"`}},
		{"negative concurrency", func(c *Config) { c.Concurrency = -2 }, []string{"Concurrency"}},
		{"open dashboard", func(c *Config) { c.HTTP = &dashboard.Config{Addr: "0.0.0.0:0"} },
			[]string{"HTTP", "reachable from other machines"}},
		{"several problems at once", func(c *Config) {
			c.AppID = ""
			c.AllowedTypes = []string{"tiff"}
			c.MediaRoots = []string{filepath.Join(dir, "no-such-dir")}
		}, []string{"AppID", "AllowedTypes", "MediaRoots"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(asynq.RedisClientOpt{Addr: rs.Addr()}, gw, t.TempDir())
			tt.modify(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			w, err := New(ctx, cfg, nil)
			if err == nil {
				w.Close()
				t.Fatalf("New succeeded with %s", tt.name)
			}
			var se *StartupError
			if !errors.As(err, &se) {
				t.Errorf("err = %v, want a *StartupError", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a secret: %q", err)
			}
		})
	}
	t.Run("all problems are listed", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(asynq.RedisClientOpt{Addr: fmt.Sprintf("127.0.0.1:%d", deadPort)}, gw, t.TempDir())
		cfg.AllowedTypes = []string{"tiff"}
		cfg.MediaRoots = []string{filepath.Join(dir, "no-such-dir")}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := New(ctx, cfg, nil)
		var se *StartupError
		var re *RedisError
		if !errors.As(err, &se) || len(se.Problems) != 3 || !errors.As(err, &re) {
			t.Fatalf("err = %v, want a StartupError with 3 problems, Redis among them", err)
		}
		for _, p := range se.Problems {
			var ce *ConfigError
			if !errors.As(p, &ce) {
				t.Errorf("problem %v is not a *ConfigError", p)
			}
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	d := Config{}.withDefaults()
	if d.GatewayURL != upload.ProductionGateway || d.Concurrency != DefaultConcurrency || d.ShutdownTimeout != DefaultShutdownTimeout ||
		d.DelayedTaskCheckInterval != 5*time.Second || d.TaskCheckInterval != 50*time.Millisecond || d.UploadTimeout != time.Minute {
		t.Errorf("defaults not applied: %+v", d)
	}
	if d.Queues["critical"] != 6 || d.Queues["default"] != 3 || d.Queues["low"] != 1 || len(d.Queues) != 3 {
		t.Errorf("queues = %v", d.Queues)
	}
	if d.Retry.BaseDelay != tasks.DefaultBaseDelay || d.Retry.MaxDelay != tasks.DefaultMaxDelay || d.Retry.ThrottleDelay != tasks.DefaultThrottleDelay {
		t.Errorf("retry policy %+v", d.Retry)
	}
}

func TestParseQueues(t *testing.T) {
	t.Parallel()
	q, err := ParseQueues("critical:6,default:3,low:1")
	if err != nil || len(q) != 3 || q["critical"] != 6 || q["low"] != 1 {
		t.Fatalf("ParseQueues = %v, %v", q, err)
	}
	for _, bad := range []string{"", ",", "a:x", ":3", "a b:1", "a,a:2"} {
		if _, err := ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) = nil error", bad)
		}
	}
}
