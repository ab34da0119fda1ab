package redisurl_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

func TestPing(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer c.Close()
	if err := redisurl.Ping(context.Background(), c); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	// Nothing listens: the error says so, not only that time ran out.
	dead := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))})
	defer dead.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := redisurl.Ping(ctx, dead)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ping of a closed port = %v, want connection refused", err)
	}
}
