package redisurl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
)

// Describe names the Redis of opt for logs and messages, without its
// password: "127.0.0.1:6379/0", "unix:/run/redis.sock?db=0", "master m of
// sentinels h1:26379,h2:26379" or "cluster h1:7000,h2:7001".
func Describe(opt asynq.RedisConnOpt) string {
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
