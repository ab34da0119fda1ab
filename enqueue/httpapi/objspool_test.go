package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// setupBucketSpool is an API whose spool is a bucket prefix of a private
// versitygw, with no worker: the tasks it queues stay pending.
func setupBucketSpool(t *testing.T) (apiSetup, *objstore.Store) {
	t.Helper()
	srv := testproc.StartRedis(t)
	s3 := testproc.StartS3(t, testproc.S3Options{Buckets: []string{"media"}})
	store, err := objstore.New(context.Background(), objstore.Config{Endpoint: s3.URL(), PathStyle: true, AccessKeyID: s3.AccessKey(), SecretAccessKey: s3.SecretKey()})
	if err != nil {
		t.Fatal(err)
	}
	roots, err := mediaroot.New("s3://media/api/")
	if err != nil {
		t.Fatal(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), Roots: roots.WithStore(store)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if _, err := httpapi.New(httpapi.Config{Client: client, Token: token, SpoolDir: "s3://media/api/spool/"}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("a bucket spool without Objects: %v, want ErrConfig", err)
	}
	if _, err := httpapi.New(httpapi.Config{Client: client, Token: token, SpoolDir: "s3://media/elsewhere/", Objects: store}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("a bucket spool outside the roots: %v, want ErrConfig", err)
	}
	api, err := httpapi.New(httpapi.Config{Client: client, Token: token, SpoolDir: "s3://media/api/spool/", Objects: store})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	return apiSetup{url: hs.URL, redis: srv, http: hs.Client(), api: api}, store
}

func spooled(t *testing.T, store *objstore.Store) []string {
	t.Helper()
	var keys []string
	if err := store.List(context.Background(), "media", "api/spool/", func(o mediaroot.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// A spooled object stays while its task is pending, and while its task is
// missing from Redis (nothing proves it finished); a rejected file leaves
// no object; the grace period protects a new one.
func TestBucketSpoolSweepKeepsWhatIsNotProvenFinished(t *testing.T) {
	t.Parallel()
	s, store := setupBucketSpool(t)
	ct, body := multipartBody(nil, "photo.jpg", bytes.NewReader(sample(t, "photo.jpg")))
	a := s.do(t, "POST", "/v1/uploads", ct, body, "Bearer "+token)
	if a.status != http.StatusAccepted || !strings.HasPrefix(a.task.Path, "s3://media/api/spool/") {
		t.Fatalf("POST = %d %+v", a.status, a.task)
	}
	ct, body = multipartBody(nil, "text.jpg", bytes.NewReader(sample(t, "bad/text.jpg")))
	if a := s.do(t, "POST", "/v1/uploads", ct, body, "Bearer "+token); a.status < 400 {
		t.Errorf("POST of a text file = %d", a.status)
	}
	if keys := spooled(t, store); len(keys) != 1 {
		t.Fatalf("spooled objects %q, want the photo's alone", keys)
	}
	ctx := context.Background()
	res, err := s.api.SweepSpool(ctx, httpapi.SweepOptions{})
	if err != nil || res.Young != 1 || res.Removed != 0 {
		t.Errorf("sweep within the grace period: %+v %v", res, err)
	}
	later := httpapi.SweepOptions{Grace: time.Millisecond, Now: func() time.Time { return time.Now().Add(time.Hour) }}
	res, err = s.api.SweepSpool(ctx, later)
	if err != nil || res.Kept != 1 || res.Removed != 0 {
		t.Errorf("sweep with the task pending: %+v %v", res, err)
	}
	conn, err := redisurl.Parse(s.redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(conn)
	defer insp.Close()
	if err := insp.DeleteTask(tasks.QueueDefault, a.task.TaskID); err != nil {
		t.Fatal(err)
	}
	res, err = s.api.SweepSpool(ctx, later)
	if err != nil || res.Unproven != 1 || res.Removed != 0 {
		t.Errorf("sweep with the task gone from Redis: %+v %v", res, err)
	}
	if keys := spooled(t, store); len(keys) != 1 {
		t.Errorf("spooled objects after the sweeps %q, want the photo's still", keys)
	}
}
