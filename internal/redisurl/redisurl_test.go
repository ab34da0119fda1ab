package redisurl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

func TestParseSchemes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want asynq.RedisConnOpt
	}{
		{"redis://127.0.0.1:6379/0", asynq.RedisClientOpt{Addr: "127.0.0.1:6379"}},
		{"redis://:s3cret@10.0.0.1:6380/4", asynq.RedisClientOpt{Addr: "10.0.0.1:6380", Password: "s3cret", DB: 4}},
		{"redis-socket://:s3cret@/run/redis.sock?db=2", asynq.RedisClientOpt{Network: "unix", Addr: "/run/redis.sock", Password: "s3cret", DB: 2}},
		{"redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379?master=mymaster",
			asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, SentinelPassword: "s3cret"}},
		{"redis-cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002",
			asynq.RedisClusterClientOpt{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}, Password: "s3cret"}},
		{"redis-cluster://app:s3cret@10.0.0.1:7000/0", asynq.RedisClusterClientOpt{Addrs: []string{"10.0.0.1:7000"}, Username: "app", Password: "s3cret"}},
		{"redis-cluster://node-a:7000,node-b:7001", asynq.RedisClusterClientOpt{Addrs: []string{"node-a:7000", "node-b:7001"}}},
		{"redis://:p%40ss%2Fw@h:6379", asynq.RedisClientOpt{Addr: "h:6379", Password: "p@ss/w"}},
	}
	for _, tt := range tests {
		got, err := redisurl.Parse(tt.url)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tt.url, got, tt.want)
		}
	}

	// TLS: asynq sets the server name from the host.
	opt, err := redisurl.Parse("rediss://:s3cret@redis.example:6380/1")
	if err != nil {
		t.Fatal(err)
	}
	o, ok := opt.(asynq.RedisClientOpt)
	if !ok || o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.example" || o.Addr != "redis.example:6380" || o.DB != 1 {
		t.Errorf("rediss: %#v", opt)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // part of the message
	}{
		{"", "empty"},
		{"http://:s3cret@h:1", `unsupported uri scheme "http" (want redis, rediss, redis-socket, redis-sentinel or redis-cluster)`},
		{"127.0.0.1:6379", "no scheme (want redis://host:port/db"},
		{":s3cret@127.0.0.1:6379", "no scheme"},
		{"redis://:s3cret@h:port/0", "not a valid URL: check host:port"},
		{"redis://h:port/0", `not a valid URL: invalid port ":port" after host`},
		{"redis://:s3cret@h:6379/x", "database number"},
		{"redis-socket://:s3cret@h:1", "path does not exist"},
		{"redis-socket:///run/r.sock?db=x", "`db` should be a number"},
		{"redis-sentinel://:s3cret@h1:26379,h2:26379", "sentinel URL without ?master=<name>"},
		{"redis-cluster://:s3cret@10.0.0.1:7000/2", "a cluster has only database 0"},
		{"redis-cluster://:s3cret@10.0.0.1,10.0.0.2:7001", `cluster node "10.0.0.1" is not host:port`},
		{"redis-cluster://:s3cret@", "no cluster nodes"},
		// Unescaped reserved characters in the password.
		{"redis://:s3/cret@h:6379/0", "check host:port"},
		{"redis://:12/s3cret@h:6379/0", "'@' outside the user info"},
		{"redis://:a@s3cret@h:6379/0", "percent-encode"},
		{"redis-cluster://:12/s3cret@h:6379", "'@' outside the user info"},
		{"redis-sentinel://:1#s3cret@h:26379?master=m", "'@' outside the user info"},
	}
	for _, tt := range tests {
		_, err := redisurl.Parse(tt.url)
		if err == nil {
			t.Errorf("%q: accepted", tt.url)
			continue
		}
		if !errors.Is(err, redisurl.ErrInvalid) {
			t.Errorf("%q: %v does not match ErrInvalid", tt.url, err)
		}
		var e *redisurl.Error
		if !errors.As(err, &e) {
			t.Errorf("%q: %T is not *Error", tt.url, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q does not contain %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "cret") {
			t.Errorf("%q: error quotes the password: %q", tt.url, err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"redis://:s3cret@h:6379/0", "redis://:xxxxx@h:6379/0"},
		{"redis://h:6379/0", "redis://h:6379/0"},
		{"redis-cluster://app:s3cret@h1:7000,h2:7001", "redis-cluster://app:xxxxx@h1:7000,h2:7001"},
		{"redis-sentinel://:s3cret@h1:26379?master=m", "redis-sentinel://:xxxxx@h1:26379?master=m"},
		{"redis://:s3cret@h:port/0", "redis://xxxxx@h:port/0"},
		{"redis://:12/s3cret@h:6379/0", "redis://xxxxx@h:6379/0"},
		{"redis://:a@s3cret@h:6379/0", "redis://xxxxx@h:6379/0"},
		{"redis://h:port", "(unparsable URL)"},
		{"s3cret@h:port", "xxxxx@h:port"},
	}
	for _, tt := range tests {
		if got := redisurl.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
