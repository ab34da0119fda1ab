package objstore_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
)

func Example() {
	ctx := context.Background()
	// Empty credentials and endpoint take the SDK's chain instead
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, ...).
	store, err := objstore.New(ctx, objstore.Config{
		Endpoint: server.URL(), PathStyle: true,
		AccessKeyID: server.AccessKey(), SecretAccessKey: server.SecretKey(),
	})
	if err != nil {
		panic(err)
	}
	if err := store.Put(ctx, "example-media", "shop/front.jpg", strings.NewReader("not really a photo"), 18); err != nil {
		panic(err)
	}
	_ = store.List(ctx, "example-media", "shop/", func(o mediaroot.ObjectInfo) error {
		fmt.Println(o.Key, o.Size)
		return nil
	})

	// Jobs read objects through the media roots, which refuse anything
	// outside them.
	roots, err := mediaroot.New("s3://example-media/shop/")
	if err != nil {
		panic(err)
	}
	roots = roots.WithStore(store)
	obj, err := roots.OpenObject(ctx, "s3://example-media/shop/front.jpg")
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(obj)
	obj.Close()
	fmt.Printf("%q\n", b)
	_, err = roots.OpenObject(ctx, "s3://example-media/private/keys.pem")
	fmt.Println(mediaroot.ReasonOf(err))
	// Output:
	// shop/front.jpg 18
	// "not really a photo"
	// outside_roots
}
