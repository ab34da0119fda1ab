package worker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestRedisClusterURL(t *testing.T) {
	t.Parallel()
	opt, err := parseRedisURL("redis-cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002")
	if err != nil {
		t.Fatal(err)
	}
	want := asynq.RedisClusterClientOpt{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}, Password: "s3cret"}
	if !reflect.DeepEqual(opt, want) {
		t.Errorf("got %#v, want %#v", opt, want)
	}
	for _, bad := range []string{
		"redis-cluster://:s3cret@10.0.0.1:7000/2",
		"redis-cluster://:s3cret@10.0.0.1,10.0.0.2:7001",
	} {
		_, err := parseRedisURL(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error quotes the password: %v", bad, err)
		}
	}
}
