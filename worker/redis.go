package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

// describeRedis names the Redis of opt for logs and errors, without its
// password.
func describeRedis(opt asynq.RedisConnOpt) string {
	switch o := opt.(type) {
	case asynq.RedisClientOpt:
		if o.Network == "unix" {
			return "unix:" + o.Addr + "?db=" + strconv.Itoa(o.DB)
		}
		return o.Addr + "/" + strconv.Itoa(o.DB)
	case asynq.RedisFailoverClientOpt:
		return "master " + o.MasterName + " of sentinels " + strings.Join(o.SentinelAddrs, ",")
	case asynq.RedisClusterClientOpt:
		return "cluster " + strings.Join(o.Addrs, ",")
	}
	return fmt.Sprintf("%T", opt)
}

// ping checks that Redis answers the worker's client before ctx ends.
func (w *Worker) ping(ctx context.Context) error {
	if err := redisurl.Ping(ctx, w.rdb); err != nil {
		return &RedisError{Addr: describeRedis(w.cfg.Redis), Err: err}
	}
	return nil
}
