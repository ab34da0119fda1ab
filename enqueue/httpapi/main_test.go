package httpapi_test

import (
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// exampleRedisURL is a private Redis for the runnable examples, which
// cannot take a *testing.T; tests start their own with testproc.StartRedis.
var exampleRedisURL string

func TestMain(m *testing.M) {
	url, stop := testproc.StartRedisMain()
	exampleRedisURL = url
	code := m.Run()
	stop()
	os.Exit(code)
}
