package dashboard

import (
	"errors"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true, "127.1.2.3:80": true, "[::1]:8090": true, "localhost:8090": true,
		"LOCALHOST:1": true, "[::ffff:127.0.0.1]:1": true,
		":8090": false, "0.0.0.0:8090": false, "[::]:8090": false, "10.0.0.5:8090": false,
		"example.com:8090": false, "127.0.0.1": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestNewRefusesOpenBindWithoutAuth(t *testing.T) {
	t.Parallel()
	redis := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer redis.Close()
	_, err := New(Config{Addr: "0.0.0.0:8090", Redis: redis})
	if !errors.Is(err, ErrInsecureBind) {
		t.Fatalf("err = %v, want ErrInsecureBind", err)
	}
	for _, hint := range []string{"0.0.0.0:8090", "User", "Password", "Insecure", "127.0.0.1"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}
	for name, cfg := range map[string]Config{
		"auth":     {Addr: ":8090", Redis: redis, User: "ops", Password: "pw"},
		"insecure": {Addr: ":8090", Redis: redis, Insecure: true},
		"loopback": {Addr: "localhost:0", Redis: redis},
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
	redis := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer redis.Close()
	for name, cfg := range map[string]Config{
		"no redis":       {},
		"user only":      {Redis: redis, User: "ops"},
		"password only":  {Redis: redis, Password: "pw"},
		"colon in user":  {Redis: redis, User: "a:b", Password: "pw"},
		"root is /":      {Redis: redis, RootPath: "/"},
		"relative root":  {Redis: redis, RootPath: "mon/"},
		"space in root":  {Redis: redis, RootPath: "/a b/"},
		"no port":        {Redis: redis, Addr: "127.0.0.1"},
		"unnamed check":  {Redis: redis, Checks: []Check{{Func: nil}}},
		"host with port": {Redis: redis, AllowedHosts: []string{"dash.example.com:443"}},
		"host as URL":    {Redis: redis, AllowedHosts: []string{"https://dash.example.com"}},
		"empty host":     {Redis: redis, AllowedHosts: []string{""}},
	} {
		if _, err := New(cfg); !errors.Is(err, errConfig) {
			t.Errorf("%s: err = %v, want errConfig", name, err)
		}
	}
}
