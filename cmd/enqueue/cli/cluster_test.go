package cli

import (
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
)

func TestImportOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := testproc.StartCluster(t)
	dir := goodTree(t)
	workertest.Start(t, workertest.Config{RedisURL: cluster.URL(), MediaRoots: []string{dir}})
	env := map[string]string{"REDIS_URL": cluster.URL(), "MEDIA_ROOTS": dir}
	code, _, errOut := run(t.Context(), env, "--wait", "--poll", "20ms", "--progress", "none", dir)
	if code != command.ExitOK || !strings.Contains(errOut, "3 completed") {
		t.Errorf("import --wait on %s: exit %d, stderr %q", cluster.URL(), code, errOut)
	}
}

func TestBadRedisURLNamesTheSetting(t *testing.T) {
	t.Parallel()
	dir := goodTree(t)
	for _, u := range []string{"http://:hunter2@h:1", "redis-cluster://:hunter2@h1,h2:7000", "redis://:hunt/er2@h:6379/0"} {
		code, _, errOut := run(t.Context(), map[string]string{"REDIS_URL": u, "MEDIA_ROOTS": dir}, dir)
		if code != command.ExitUsage || !strings.Contains(errOut, "--redis-url (env REDIS_URL): ") {
			t.Errorf("%s: exit %d, stderr %q", u, code, errOut)
		}
		if strings.Contains(errOut, "hunter2") || strings.Contains(errOut, "er2") {
			t.Errorf("%s: stderr quotes the password: %q", u, errOut)
		}
	}
}
