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

	"github.com/storemedia/alipay-media-worker/internal/testredis"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestStartupChecks(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadPort := testredis.FreePort(t)

	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"missing private key", func(c *Config) { c.PrivateKeyFile = filepath.Join(dir, "nope.pem") },
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "nope.pem", "no such file"}},
		{"private key is a directory", func(c *Config) { c.PrivateKeyFile = dir },
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "is a directory"}},
		{"private key in the wrong format", func(c *Config) { c.PrivateKeyFile = garbage },
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "garbage.pem", "unrecognised key format"}},
		{"public key file holds no public key", func(c *Config) { c.AlipayPublicKeyFile = garbage },
			[]string{"ALIPAY_PUBLIC_KEY_FILE", "unrecognised key format"}},
		{"missing media root", func(c *Config) { c.MediaRoots = []string{filepath.Join(dir, "no-such-dir")} },
			[]string{"MEDIA_ROOTS", "no-such-dir", "does not exist"}},
		{"media root is a file", func(c *Config) { c.MediaRoots = []string{garbage} },
			[]string{"MEDIA_ROOTS", "not a directory"}},
		{"unreachable redis", func(c *Config) {
			c.RedisURL = fmt.Sprintf("redis://:hunter2@127.0.0.1:%d/0", deadPort)
			c.RedisPingTimeout = 300 * time.Millisecond
		}, []string{"REDIS_URL", fmt.Sprintf("redis://:xxxxx@127.0.0.1:%d/0 is unreachable", deadPort), "connection refused"}},
		{"unknown type", func(c *Config) { c.AllowedTypes = []string{"tiff"} },
			[]string{"UPLOAD_ALLOWED_TYPES", "tiff"}},
		{"several problems at once", func(c *Config) {
			c.PrivateKeyFile = filepath.Join(dir, "nope.pem")
			c.AlipayPublicKeyFile = filepath.Join(dir, "nope-either.pem")
			c.MediaRoots = []string{filepath.Join(dir, "no-such-dir")}
		}, []string{"ALIPAY_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE: sign: read public key: open " + filepath.Join(dir, "nope-either.pem"), "MEDIA_ROOTS"}},
		{"missing app id", func(c *Config) { c.AppID = "" }, []string{"ALIPAY_APP_ID: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, rs.URL(), gw.URL, t.TempDir())
			tt.modify(&cfg)
			w, err := New(cfg, nil)
			if err == nil {
				t.Fatalf("New succeeded: %+v", w)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error reveals a secret: %q", err)
			}
		})
	}
	t.Run("all problems are listed", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t, fmt.Sprintf("redis://127.0.0.1:%d/0", deadPort), gw.URL, t.TempDir())
		cfg.PrivateKeyFile = garbage
		cfg.MediaRoots = []string{filepath.Join(dir, "no-such-dir")}
		_, err := New(cfg, nil)
		var se *StartupError
		if !errors.As(err, &se) || len(se.Problems) != 3 {
			t.Fatalf("err = %v, want a StartupError with 3 problems", err)
		}
	})
}

func TestCertificateModeChecksTheAppCertificate(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	files, err := alipaytest.TestCerts().WriteFiles(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, rs.URL(), gw.URL, t.TempDir())
	cfg.AlipayPublicKeyFile = ""
	// The Alipay certificate holds the gateway's key, not the app's.
	cfg.AppCertFile, cfg.AlipayPublicCertFile, cfg.AlipayRootCertFile = files.AlipayCert, files.AlipayCert, files.RootCert
	_, err = New(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "does not match the private key") {
		t.Fatalf("err = %v, want a certificate/key mismatch", err)
	}
	cfg.AppCertFile = filepath.Join(t.TempDir(), "missing.crt")
	_, err = New(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "ALIPAY_APP_CERT_FILE") {
		t.Fatalf("err = %v, want ALIPAY_APP_CERT_FILE named", err)
	}
}

func TestWorkerAccessors(t *testing.T) {
	t.Parallel()
	rs := testredis.Start(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	cfg := testConfig(t, rs.URL(), gw.URL, t.TempDir())
	w, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.RedisConnOpt() == nil || w.Handler() == nil {
		t.Fatal("nil accessors")
	}
	if got := w.Config(); got.Concurrency != 2 || got.ShutdownTimeout != cfg.ShutdownTimeout {
		t.Errorf("Config() = %+v", got)
	}
	if err := w.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	rs.Kill()
	if err := w.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), rs.Addr()) {
		t.Errorf("Ping after Redis died: %v", err)
	}
}
