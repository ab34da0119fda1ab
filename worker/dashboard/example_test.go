package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/worker/dashboard"
)

func ExampleFormatPayload() {
	p := []byte(`{"path":"/media/shop/front.jpg","image_name":"front","app_auth_token":"merchant-token"}`)
	fmt.Println(dashboard.FormatPayload("alipay:material_image_upload", p))
	fmt.Println(dashboard.FormatPayload("other", []byte("raw bytes")))
	// Output:
	// {
	//   "path": "/media/shop/front.jpg",
	//   "image_name": "front",
	//   "app_auth_token": "[redacted]"
	// }
	// (payload of 9 bytes, not JSON)
}

func ExampleScrubText() {
	fmt.Println(dashboard.ScrubText(`Post "https://gw/gateway.do?app_auth_token=abc&sign=xyz&sign_type=RSA2": EOF`))
	// Output: Post "https://gw/gateway.do?app_auth_token=[redacted]&sign=[redacted]&sign_type=RSA2": EOF
}

func ExampleNew() {
	// The client of the queue's Redis; the dashboard opens none of its own.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	_, err := dashboard.New(dashboard.Config{Addr: "0.0.0.0:8090", Redis: rdb})
	fmt.Println(errors.Is(err, dashboard.ErrInsecureBind))

	s, err := dashboard.New(dashboard.Config{
		Redis:    rdb,
		ReadOnly: true,
		Checks: []dashboard.Check{{Name: "gateway", Func: func(context.Context) error {
			return nil // e.g. check that a gateway URL and keys are loaded
		}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(s.URL())
	// s.Run(ctx) would now serve until ctx is done.
	// Output:
	// true
	// http://127.0.0.1:8090/monitoring/
}
