package objstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/objstore"
)

// server is the private versitygw every test and example of the package
// uses, each in buckets of its own.
var server *testproc.S3

func TestMain(m *testing.M) {
	s, err := testproc.RunS3(testproc.S3Options{Buckets: []string{"example-media"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// newStore is a Store on the test server with its root credentials.
func newStore(t *testing.T) *objstore.Store {
	t.Helper()
	s, err := objstore.New(context.Background(), objstore.Config{
		Endpoint: server.URL(), PathStyle: true,
		AccessKeyID: server.AccessKey(), SecretAccessKey: server.SecretKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
