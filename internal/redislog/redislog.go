package redislog

import (
	"context"

	"github.com/redis/go-redis/v9"
)

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// Discard drops every line go-redis would log itself.
func Discard() { redis.SetLogger(discard{}) }
