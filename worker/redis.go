package worker

import (
	"context"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

// ping checks that Redis answers the worker's client before ctx ends.
func (w *Worker) ping(ctx context.Context) error {
	if err := redisurl.Ping(ctx, w.rdb); err != nil {
		return &RedisError{Addr: redisurl.Describe(w.cfg.Redis), Err: err}
	}
	return nil
}
