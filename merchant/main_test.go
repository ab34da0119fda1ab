package merchant_test

import (
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// exampleRedisURL is a private Redis for the runnable examples, which
// cannot take a *testing.T; tests start their own with testproc.StartRedis.
var exampleRedisURL string

func TestMain(m *testing.M) {
	os.Exit(testproc.RunWithRedis(m, &exampleRedisURL))
}
