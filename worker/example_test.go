package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"

	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/worker"
	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

// A worker in a program of your own: load the keys and parse the Redis
// location yourself (cmd/worker reads them from its settings), then New
// checks everything else and Run serves until the context ends.
func ExampleNew() {
	keys, err := upload.KeysFromFiles("/etc/alipay/app_private_key.pem", "/etc/alipay/alipay_public_key.pem")
	if err != nil {
		fmt.Println(err)
		return
	}
	redis, err := redisurl.Parse("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w, err := worker.New(ctx, worker.Config{
		Redis:      redis,
		AppID:      "2021000000000001",
		Keys:       keys,
		MediaRoots: []string{"/srv/media"},
		HTTP:       &dashboard.Config{Addr: "127.0.0.1:8090"},
	}, slog.Default())
	if err != nil {
		fmt.Println(err) // every problem, each naming its Config field
		return
	}
	defer w.Close()
	if err := w.Run(ctx); err != nil {
		fmt.Println(err)
	}
}

func ExampleParseQueues() {
	q, err := worker.ParseQueues("uploads:5, bulk:1, retries")
	if err != nil {
		panic(err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Println(name, q[name])
	}
	// Output:
	// bulk 1
	// retries 1
	// uploads 5
}
