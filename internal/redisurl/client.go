package redisurl

import (
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Buffer sizes of the connections [NewClient] makes, per connection.
// go-redis gives every connection 32 KiB to read and 32 KiB to write (128
// KiB each on its pipeline connections); the project's commands and
// replies are a few hundred bytes (a task, a result, a claim), and a
// longer reply is still read whole, in more pieces. A worker of
// concurrency 32 holds about 60 connections: with go-redis' sizes their
// buffers were three quarters of its heap (3.7 MB live, twice that before
// the collector runs).
const (
	// BufferSize is the read and the write buffer of a connection: 4 KiB,
	// what go-redis used before 9.12 and bufio's default.
	BufferSize = 4 << 10
	// PipelineBufferSize is the read and the write buffer of a connection
	// of the pipeline pool.
	PipelineBufferSize = 16 << 10
)

// NewClient makes the Redis client of opt: for the options [Parse]
// returns (asynq.RedisClientOpt, asynq.RedisFailoverClientOpt,
// asynq.RedisClusterClientOpt), the client asynq's MakeRedisClient makes,
// with the same settings, but with connection buffers of [BufferSize] and
// [PipelineBufferSize]; for any other options, opt.MakeRedisClient(). ok
// is false when that is not a go-redis universal client.
func NewClient(opt asynq.RedisConnOpt) (rdb redis.UniversalClient, ok bool) {
	switch o := opt.(type) {
	case asynq.RedisClientOpt:
		return redis.NewClient(&redis.Options{
			Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, TLSConfig: o.TLSConfig,
			ReadBufferSize: BufferSize, WriteBufferSize: BufferSize,
			PipelineReadBufferSize: PipelineBufferSize, PipelineWriteBufferSize: PipelineBufferSize,
		}), true
	case asynq.RedisFailoverClientOpt:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: o.MasterName, SentinelAddrs: o.SentinelAddrs,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
			Username: o.Username, Password: o.Password, DB: o.DB,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, TLSConfig: o.TLSConfig,
			ReadBufferSize: BufferSize, WriteBufferSize: BufferSize,
			PipelineReadBufferSize: PipelineBufferSize, PipelineWriteBufferSize: PipelineBufferSize,
		}), true
	case asynq.RedisClusterClientOpt:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: o.Addrs, MaxRedirects: o.MaxRedirects, Username: o.Username, Password: o.Password,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			TLSConfig:      o.TLSConfig,
			ReadBufferSize: BufferSize, WriteBufferSize: BufferSize,
			PipelineReadBufferSize: PipelineBufferSize, PipelineWriteBufferSize: PipelineBufferSize,
		}), true
	case nil:
		return nil, false
	}
	rdb, ok = opt.MakeRedisClient().(redis.UniversalClient)
	return rdb, ok
}
