package dashboard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true, "127.1.2.3:80": true, "[::1]:8090": true, "localhost:8090": true,
		"LOCALHOST:1": true, "[::ffff:127.0.0.1]:1": true,
		":8090": false, "0.0.0.0:8090": false, "[::]:8090": false, "10.0.0.5:8090": false,
		"example.com:8090": false, "127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestNewRefusesOpenBindWithoutAuth(t *testing.T) {
	t.Parallel()
	redis := asynq.RedisClientOpt{Addr: "127.0.0.1:1"}
	_, err := New(Config{Addr: "0.0.0.0:8090", RedisConnOpt: redis})
	if !errors.Is(err, ErrInsecureBind) {
		t.Fatalf("err = %v, want ErrInsecureBind", err)
	}
	for _, hint := range []string{"0.0.0.0:8090", "DASHBOARD_USER", "DASHBOARD_PASSWORD", "DASHBOARD_INSECURE=true", "127.0.0.1"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}
	for name, cfg := range map[string]Config{
		"auth":     {Addr: ":8090", RedisConnOpt: redis, User: "ops", Password: "pw"},
		"insecure": {Addr: ":8090", RedisConnOpt: redis, Insecure: true},
		"loopback": {Addr: "localhost:0", RedisConnOpt: redis},
	} {
		s, err := New(cfg)
		if err != nil {
			t.Errorf("%s: New: %v", name, err)
			continue
		}
		_ = s.Close()
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	redis := asynq.RedisClientOpt{Addr: "127.0.0.1:1"}
	for name, cfg := range map[string]Config{
		"no redis":      {},
		"user only":     {RedisConnOpt: redis, User: "ops"},
		"password only": {RedisConnOpt: redis, Password: "pw"},
		"colon in user": {RedisConnOpt: redis, User: "a:b", Password: "pw"},
		"root is /":     {RedisConnOpt: redis, RootPath: "/"},
		"relative root": {RedisConnOpt: redis, RootPath: "mon/"},
		"space in root": {RedisConnOpt: redis, RootPath: "/a b/"},
		"no port":       {RedisConnOpt: redis, Addr: "127.0.0.1"},
		"unnamed check": {RedisConnOpt: redis, Checks: []Check{{Func: nil}}},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ConfigFromEnv(env(map[string]string{
		EnvAddr: "0.0.0.0:9000", EnvUser: "ops", EnvPasswordFile: pwFile,
		EnvReadOnly: "true", EnvInsecure: "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.User != "ops" || c.Password != "s3cret" || !c.ReadOnly || c.Insecure || c.Disabled {
		t.Errorf("ConfigFromEnv = %+v", c)
	}

	c, err = ConfigFromEnv(env(nil))
	if err != nil || c.Addr != "" || c.Disabled || c.ReadOnly {
		t.Errorf("empty env: %+v, %v", c, err)
	}
	if c.withDefaults().Addr != DefaultAddr {
		t.Errorf("default address %q, want %q", c.withDefaults().Addr, DefaultAddr)
	}

	c, err = ConfigFromEnv(env(map[string]string{EnvAddr: "off"}))
	if err != nil || !c.Disabled {
		t.Errorf("HTTP_ADDR=off: %+v, %v", c, err)
	}

	for name, m := range map[string]map[string]string{
		"both passwords": {EnvPassword: "a", EnvPasswordFile: pwFile},
		"missing file":   {EnvPasswordFile: filepath.Join(dir, "absent")},
		"bad bool":       {EnvReadOnly: "yes please"},
		"empty file":     {EnvPasswordFile: os.DevNull},
	} {
		if _, err := ConfigFromEnv(env(m)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}
