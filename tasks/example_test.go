package tasks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
)

func ExampleNewUploadTask() {
	// The enqueuing side records the file's digest and size, so the worker
	// can refuse a file that changed in between.
	content := strings.NewReader("pretend these are JPEG bytes")
	sum, size, err := tasks.Digest(content)
	if err != nil {
		panic(err)
	}
	task, err := tasks.NewUploadTask(tasks.UploadPayload{
		Path:      "/srv/media/shop-42/front.jpg",
		ImageName: "shop-42 front",
		ImageType: "jpg",
		SHA256:    sum,
		Size:      size,
	}, asynq.Queue(tasks.QueueCritical))
	if err != nil {
		panic(err)
	}
	// Enqueue with an asynq.Client; a second Enqueue of the same file for
	// the same merchant fails with asynq.ErrTaskIDConflict.
	fmt.Println(task.Type())
	fmt.Println(string(task.Payload()))
	// Output:
	// alipay:material_image_upload
	// {"version":2,"path":"/srv/media/shop-42/front.jpg","image_name":"shop-42 front","image_type":"jpg","sha256":"aea8219678329ac6ce57247690d2ed7c815f5851fa2f03c44b982e050ba284ee","size":28}
}

func ExampleTaskID() {
	p := tasks.UploadPayload{
		SHA256:       "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		AppAuthToken: "202401BB-merchant-token",
	}
	id := tasks.TaskID(p)
	fmt.Println(strings.HasPrefix(id, "upload:"+p.SHA256+":"), strings.Contains(id, p.AppAuthToken))
	// Output: true false
}

func ExampleRetryPolicy_Delay() {
	p := tasks.RetryPolicy{BaseDelay: 10 * time.Second, MaxDelay: time.Minute, ThrottleDelay: 2 * time.Minute, Jitter: -1}
	transient := errors.New("alipay 20000 Service Currently Unavailable")
	for n := 0; n < 4; n++ {
		fmt.Println(n, p.Delay(n, transient, nil))
	}
	// Throttling waits its own delay whatever the retry count.
	fmt.Println("throttled", p.Delay(3, &tasks.ThrottledError{Err: errors.New("alipay 40005")}, nil))
	// Output:
	// 0 10s
	// 1 20s
	// 2 40s
	// 3 1m0s
	// throttled 2m0s
}

func ExampleIsFailure() {
	throttled := &tasks.ThrottledError{Err: errors.New("alipay 40005 Call Limited")}
	fmt.Println(tasks.IsFailure(throttled), tasks.IsFailure(errors.New("connection reset")))
	// Output: false true
}

// A reason outside tasks.KnownReasons, such as a gateway code nobody has
// seen, becomes "other" where values must stay few (metric labels).
func ExampleReason_Bounded() {
	for _, r := range []tasks.Reason{"too_large", "alipay_40004_unsigned", "alipay_99999", "http_502", "http_799"} {
		fmt.Println(r.Bounded())
	}
	// Output:
	// too_large
	// alipay_40004_unsigned
	// other
	// http_502
	// other
}

// ExampleExplain: a rejection's reason is said once, beside the text
// Explain gives.
func ExampleExplain() {
	root, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	path := filepath.Join(root, "empty.jpg")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		panic(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{MediaRoots: []string{root}})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	_, err = client.Prepare(context.Background(), tasks.UploadRequest{Path: path})
	var rej *tasks.RejectError
	if errors.As(err, &rej) {
		fmt.Printf("rejected empty.jpg (%s): %s\n", rej.Reason, tasks.Explain(rej.Err))
	}
	// Output: rejected empty.jpg (empty): the file has 0 bytes; the file was probably not fully written or copied; provide the complete file
}

// A second file with content already queued: the caller learns which job
// is reused and the image_name Alipay gets.
func ExampleReuseNote() {
	known := tasks.UploadPayload{Path: "/srv/media/shop-12/front.jpg", ImageName: "Shop 12 front"}
	fmt.Println(tasks.ReuseNote(tasks.UploadPayload{Path: "/srv/media/copy.jpg", ImageName: "copy.jpg"}, known))
	fmt.Println(tasks.ReuseNote(known, known) == "")
	// Output:
	// same content as /srv/media/shop-12/front.jpg: its task is reused and nothing new is queued; it carries image_name "Shop 12 front", not "copy.jpg"
	// true
}

// A job for a merchant names it by auth_app_id: its task ID hashes that,
// so the same file for the same merchant is one task whatever the
// merchant's token is when the job runs.
func ExampleUploadPayload_merchant() {
	p := tasks.UploadPayload{
		Path:      "/srv/media/shop-42/front.jpg",
		ImageName: "shop-42 front",
		Merchant:  "2021000000000001",
		SHA256:    "aea8219678329ac6ce57247690d2ed7c815f5851fa2f03c44b982e050ba284ee",
		Size:      28,
	}
	task, err := tasks.NewUploadTask(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(task.Payload()))
	fmt.Println(tasks.TaskID(p))
	// Output:
	// {"version":2,"path":"/srv/media/shop-42/front.jpg","image_name":"shop-42 front","merchant":"2021000000000001","sha256":"aea8219678329ac6ce57247690d2ed7c815f5851fa2f03c44b982e050ba284ee","size":28}
	// upload:aea8219678329ac6ce57247690d2ed7c815f5851fa2f03c44b982e050ba284ee:2a281f3d1800fab1
}

// TokenDigest names a token an application seals into a payload, for the
// task ID, without revealing it.
func ExampleTokenDigest() {
	d := tasks.TokenDigest("202612BB-app-held-token")
	fmt.Println(len(d), strings.Contains(d, "token"))
	// Output: 32 false
}

// An application that holds a merchant's token itself queues it sealed
// with the merchant key file; the worker opens it with the same file.
func ExampleKeyringSealer() {
	keys, err := merchant.NewKeyring(bytes.Repeat([]byte{42}, merchant.KeySize)) // usually merchant.LoadKeyring(MERCHANT_KEY_FILE)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := tasks.KeyringSealer(keys)
	sealed, err := s.SealToken("202612BB-app-held-token")
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := s.OpenToken(sealed)
	fmt.Println(strings.Contains(sealed, "app-held"), token, err)
	// Output: false 202612BB-app-held-token <nil>
}
