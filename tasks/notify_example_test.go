package tasks_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/tasks"
)

func ExampleNotifyEnded() {
	conn, err := redisurl.Parse(exampleRedisURL)
	if err != nil {
		panic(err)
	}
	rdb := conn.MakeRedisClient().(redis.UniversalClient)
	defer rdb.Close()

	// worker.New installs it in front of the upload handler, so that
	// waiters hear when an attempt ends.
	mux := asynq.NewServeMux()
	mux.Use(tasks.NotifyEnded(rdb, nil))
	mux.HandleFunc(tasks.TypeUpload, func(context.Context, *asynq.Task) error { return nil })
	fmt.Println(tasks.NoticeChannel(tasks.QueueDefault))
	// Output: alipay-media-worker:ended:default
}

func ExampleClient_Watch() {
	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{exampleRoot},
		Queue:      "example-watch",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	w := client.Watch("upload:one", "upload:two")
	defer w.Close()
	// Once subscribed, the watch asks for a look at every task, in case
	// a notice came before the subscription.
	<-w.Changed()
	_, all := w.Take()
	fmt.Println("look at all:", all)

	// The worker publishes the ID of a task when an attempt at it ends.
	opt, err := redis.ParseURL(exampleRedisURL)
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	rdb.Publish(context.Background(), tasks.NoticeChannel("example-watch"), "upload:two")
	select {
	case <-w.Changed():
		ended, _ := w.Take()
		fmt.Println("ended:", ended) // then: client.Recheck(ctx, id)
	case <-time.After(time.Minute):
		fmt.Println("no notice")
	}
	// Output:
	// look at all: true
	// ended: [upload:two]
}
