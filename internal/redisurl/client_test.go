package redisurl_test

import (
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

// TestNewClientBuffers: every kind of URL gives a client with the small
// buffers and the URL's settings; nothing is dialled.
func TestNewClientBuffers(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, read, write, pread, pwrite int) {
		t.Helper()
		if read != redisurl.BufferSize || write != redisurl.BufferSize || pread != redisurl.PipelineBufferSize || pwrite != redisurl.PipelineBufferSize {
			t.Errorf("buffers %d/%d, pipeline %d/%d; want %d and %d", read, write, pread, pwrite, redisurl.BufferSize, redisurl.PipelineBufferSize)
		}
	}
	for _, u := range []string{"redis://:pw@127.0.0.1:6390/3", "redis-sentinel://:pw@127.0.0.1:26390?master=m", "redis-cluster://127.0.0.1:7390,127.0.0.1:7391"} {
		t.Run(u, func(t *testing.T) {
			t.Parallel()
			opt, err := redisurl.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			rdb, ok := redisurl.NewClient(opt)
			if !ok {
				t.Fatalf("NewClient(%T) failed", opt)
			}
			defer rdb.Close()
			switch c := rdb.(type) {
			case *redis.Client:
				o := c.Options()
				check(t, o.ReadBufferSize, o.WriteBufferSize, o.PipelineReadBufferSize, o.PipelineWriteBufferSize)
				if want, ok := opt.(asynq.RedisClientOpt); ok && (o.Addr != want.Addr || o.DB != want.DB || o.Password != want.Password) {
					t.Errorf("client of %s: addr %q db %d", redisurl.Redact(u), o.Addr, o.DB)
				}
			case *redis.ClusterClient:
				o := c.Options()
				check(t, o.ReadBufferSize, o.WriteBufferSize, o.PipelineReadBufferSize, o.PipelineWriteBufferSize)
				if len(o.Addrs) != 2 {
					t.Errorf("cluster addrs %v", o.Addrs)
				}
			default:
				t.Fatalf("client %T", rdb)
			}
		})
	}
}

// other is connection options Parse never makes.
type other struct{ c redis.UniversalClient }

func (o other) MakeRedisClient() any { return o.c }

func TestNewClientOtherOptions(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6390"})
	defer c.Close()
	if rdb, ok := redisurl.NewClient(other{c}); !ok || rdb != c {
		t.Errorf("NewClient(other) = %v, %v; want the options' own client", rdb, ok)
	}
	if _, ok := redisurl.NewClient(nil); ok {
		t.Error("NewClient(nil) succeeded")
	}
	if _, ok := redisurl.NewClient(other{}); ok {
		t.Error("NewClient of options making no client succeeded")
	}
}
