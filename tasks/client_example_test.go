package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// The media root of the examples: the project's sample files.
var exampleRoot, _ = filepath.Abs("../testdata/media")

func ExampleClient_Enqueue() {
	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL, // e.g. "redis://127.0.0.1:6379/0"
		MediaRoots: []string{exampleRoot},
		Queue:      "example-enqueue",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// The file is checked and hashed here, before anything is queued.
	enq, err := client.Enqueue(ctx, tasks.UploadRequest{
		Path:      filepath.Join(exampleRoot, "photo.png"),
		ImageName: "Shop 12, front",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(enq.ID)
	fmt.Println(enq.State, enq.Duplicate, enq.Payload.ImageType, enq.Payload.Size)

	// The same content for the same merchant is the same task: nothing new
	// is queued, and the known task is returned.
	again, err := client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(exampleRoot, "photo.png")})
	if err != nil {
		panic(err)
	}
	fmt.Println(again.ID == enq.ID, again.Duplicate, again.Existing.Payload.ImageName)

	// A file that fails the local check is never queued.
	_, err = client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(exampleRoot, "bad", "text.jpg")})
	var rej *tasks.RejectError
	if errors.As(err, &rej) {
		fmt.Println("rejected:", rej.Reason)
	}
	// Output:
	// upload:534609891f41ae0eeac8b4fc7178e29e65868d05e93dbd114c1b64886a26b50e:self
	// pending false png 554
	// true true Shop 12, front
	// rejected: unsupported_type
}

func ExampleClient_Wait() {
	// A worker uploading to the gateway emulator stands in for the real
	// worker process.
	worker, err := workertest.New(workertest.Config{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{exampleRoot},
		Queue:      "example-wait",
	})
	if err != nil {
		panic(err)
	}
	defer worker.Stop()

	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:     exampleRedisURL,
		MediaRoots:   []string{exampleRoot},
		Queue:        "example-wait",
		PollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(exampleRoot, "clip.mp4")})
	if err != nil {
		panic(err)
	}
	st, err := client.Wait(ctx, enq.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, st.Result.ImageType, st.Result.Bytes, st.Result.ImageID != "")

	// Completed reads any number of tasks in one round trip; only the
	// completed ones are in the map.
	done, err := client.Completed(ctx, enq.ID, "upload:no-such-task")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(done), done[enq.ID].Result.ImageID == st.Result.ImageID)
	// Output:
	// completed mp4 2491 true
	// 1 true
}

func ExampleClient_Lookup() {
	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{exampleRoot},
		Queue:      "example-lookup",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(exampleRoot, "anim.gif"), ImagePID: "2088000000000002"})
	if err != nil {
		panic(err)
	}
	st, err := client.Lookup(ctx, enq.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, st.Retried, st.MaxRetry, st.Payload.ImagePID, st.Result == nil)

	_, err = client.Lookup(ctx, "upload:no-such-task")
	fmt.Println(errors.Is(err, tasks.ErrNotFound))
	// Output:
	// pending 0 10 2088000000000002 true
	// true
}

func ExampleClient_Find() {
	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{exampleRoot},
		Queue:      "example-find",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// The same photo for the application itself and for a merchant: two tasks.
	photo := filepath.Join(exampleRoot, "photo.bmp")
	own, err := client.Enqueue(ctx, tasks.UploadRequest{Path: photo})
	if err != nil {
		panic(err)
	}
	if _, err := client.Enqueue(ctx, tasks.UploadRequest{Path: photo, ImagePID: "2088000000000002"}); err != nil {
		panic(err)
	}

	// A prefix of the content's SHA-256 finds both, in every queue.
	found, err := client.Find(ctx, own.Payload.SHA256[:8])
	if err != nil {
		panic(err)
	}
	for _, st := range found {
		fmt.Println(st.Queue, st.State, st.Payload.ImagePID == "")
	}
	_, err = client.Find(ctx, "front.jpg")
	fmt.Println(errors.Is(err, tasks.ErrBadRef))
	// Output:
	// example-find pending false
	// example-find pending true
	// true
}

// A job names its merchant by auth_app_id; once the merchant is authorized
// again after its jobs failed as merchant_unauthorized (or
// merchant_not_found), RequeueMerchant runs those jobs again.
func ExampleClient_RequeueMerchant() {
	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{exampleRoot},
		Queue:      "example-merchant",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()
	enq, err := client.Enqueue(ctx, tasks.UploadRequest{Path: filepath.Join(exampleRoot, "photo.png"), Merchant: "2021000000000001"})
	if err != nil {
		panic(err)
	}
	fmt.Println(enq.Payload.Version, enq.Payload.Merchant)
	// No worker ran it, so none of its tasks failed for want of a token.
	ids, err := client.RequeueMerchant(ctx, "2021000000000001")
	fmt.Println(len(ids), err)
	// Output:
	// 2 2021000000000001
	// 0 <nil>
}
