package redisurl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ping checks that Redis answers c before ctx ends. It is the module's one
// Redis ping: the worker's start-up check and its /readyz probe both call
// it. When no answer comes in time go-redis reports only the deadline, so
// for a single server on TCP Ping dials its address once itself and says
// why (connection refused, no route to host).
func Ping(ctx context.Context, c redis.UniversalClient) error {
	err := c.Ping(ctx).Err()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if rc, ok := c.(*redis.Client); ok {
		if o := rc.Options(); o.Network == "" || o.Network == "tcp" {
			conn, derr := net.DialTimeout("tcp", o.Addr, time.Second)
			if derr != nil {
				return fmt.Errorf("no answer in time: %w", derr)
			}
			conn.Close()
		}
	}
	return fmt.Errorf("no answer in time: %w", err)
}
