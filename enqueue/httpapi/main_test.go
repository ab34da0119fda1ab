package httpapi_test

import (
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testredis"
)

// exampleRedisURL is a private Redis for the runnable examples, which
// cannot take a *testing.T; tests start their own with testredis.Start.
var exampleRedisURL string

func TestMain(m *testing.M) {
	url, stop := testredis.StartMain()
	exampleRedisURL = url
	code := m.Run()
	stop()
	os.Exit(code)
}
