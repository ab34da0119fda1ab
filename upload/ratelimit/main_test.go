package ratelimit_test

import (
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// redisURL is the private redis-server of the package's tests and examples.
var redisURL string

func TestMain(m *testing.M) {
	os.Exit(testproc.RunWithRedis(m, &redisURL))
}
