package redisurl_test

import (
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
)

func ExampleParse() {
	opt, err := redisurl.Parse("redis-cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(opt.(asynq.RedisClusterClientOpt).Addrs)

	_, err = redisurl.Parse("redis-sentinel://:s3cret@10.0.0.1:26379")
	fmt.Println(err)
	// Output:
	// [10.0.0.1:7000 10.0.0.2:7000]
	// redis-sentinel://:xxxxx@10.0.0.1:26379: sentinel URL without ?master=<name>
}

func ExampleRedact() {
	fmt.Println(redisurl.Redact("rediss://:s3cret@redis.example:6380/1"))
	// Output: rediss://:xxxxx@redis.example:6380/1
}

func ExampleDescribe() {
	opt, err := redisurl.Parse("redis://:s3cret@10.0.0.1:6380/2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(redisurl.Describe(opt))
	// Output: 10.0.0.1:6380/2
}

func ExampleNewClient() {
	opt, err := redisurl.Parse("redis://127.0.0.1:6379/2")
	if err != nil {
		fmt.Println(err)
		return
	}
	rdb, ok := redisurl.NewClient(opt) // nothing is dialled yet
	if !ok {
		fmt.Println("unsupported options")
		return
	}
	defer rdb.Close()
	o := rdb.(*redis.Client).Options()
	fmt.Println(o.Addr, o.DB, o.ReadBufferSize, o.WriteBufferSize)
	// Output: 127.0.0.1:6379 2 4096 4096
}
