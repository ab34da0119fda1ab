package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

// parseRedisURL turns REDIS_URL into asynq's connection options (see
// internal/redisurl). Its errors never quote the password.
func parseRedisURL(s string) (asynq.RedisConnOpt, error) { return redisurl.Parse(s) }

// redactedURL returns s with any password replaced by "xxxxx".
func redactedURL(s string) string { return redisurl.Redact(s) }

// pingRedis checks that Redis answers within timeout.
func pingRedis(ctx context.Context, opt asynq.RedisConnOpt, timeout time.Duration) error {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return fmt.Errorf("unsupported connection options %T", opt)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// go-redis keeps redialling until the deadline and then
			// reports only the deadline; a plain dial tells why.
			if o, ok := opt.(asynq.RedisClientOpt); ok && (o.Network == "" || o.Network == "tcp") {
				c, derr := net.DialTimeout("tcp", o.Addr, time.Second)
				if derr != nil {
					return fmt.Errorf("no answer within %v: %w", timeout, derr)
				}
				c.Close()
			}
			return fmt.Errorf("no answer within %v", timeout)
		}
		return err
	}
	return nil
}
