package worker_test

import (
	"fmt"
	"sort"

	"github.com/storemedia/alipay-media-worker/worker"
)

func ExampleConfigFromEnv() {
	env := map[string]string{
		"REDIS_URL":               "redis://:s3cret@redis.internal:6379/2",
		"ALIPAY_APP_ID":           "2021000000000001",
		"ALIPAY_PRIVATE_KEY_FILE": "/etc/alipay/app_private_key.pem",
		"ALIPAY_PUBLIC_KEY_FILE":  "/etc/alipay/alipay_public_key.pem",
		"MEDIA_ROOTS":             "/srv/media/shops:/srv/media/imports",
		"WORKER_QUEUES":           "critical:6,default:3,low:1",
		"SHUTDOWN_TIMEOUT":        "40s",
	}
	cfg, err := worker.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.MediaRoots, cfg.ShutdownTimeout, cfg.Queues["critical"])
	// Then: w, err := worker.New(cfg, logger); w.Run(ctx)

	// Errors name the variables at fault.
	delete(env, "ALIPAY_APP_ID")
	env["WORKER_CONCURRENCY"] = "many"
	_, err = worker.ConfigFromEnv(func(k string) string { return env[k] })
	fmt.Println(err)
	// Output:
	// [/srv/media/shops /srv/media/imports] 40s 6
	// worker: configuration: WORKER_CONCURRENCY: "many" is not a positive whole number
	// ALIPAY_APP_ID: required (the application's app_id)
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
