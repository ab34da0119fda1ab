package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// objectRig is a set-up whose hosts share only Redis and an S3-compatible
// store (a private versitygw): each worker and command runs in working
// and temporary directories of its own, and reads media only from the
// bucket.
type objectRig struct {
	t     *testing.T
	bins  commands
	redis *testproc.Redis
	s3    *testproc.S3
	store *objstore.Store
	gw    *alipaytest.Gateway
	front *front
	keys  alipaytest.KeyFiles
	procs []*testproc.Proc
}

const (
	objectBucket = "media"
	objectPrefix = "shop/"
	objectRoot   = mediaroot.ObjectScheme + objectBucket + "/" + objectPrefix
)

func newObjectRig(t *testing.T) *objectRig {
	r := &objectRig{t: t, bins: binaries(t)}
	r.redis = testproc.StartRedis(t)
	r.s3 = testproc.StartS3(t, testproc.S3Options{Buckets: []string{objectBucket, "other"}})
	var err error
	r.store, err = objstore.New(context.Background(), objstore.Config{
		Endpoint: r.s3.URL(), PathStyle: true, AccessKeyID: r.s3.AccessKey(), SecretAccessKey: r.s3.SecretKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.gw, r.keys = newGateway(t, alipaytest.Config{KeepContent: true})
	r.front = newFront(t, r.gw)
	t.Cleanup(func() { killAll(t, r.procs, 32<<10) })
	return r
}

// host returns a new working directory with a tmp/ of its own, and the
// environment of a process there: this one's, the store's settings and
// TMPDIR.
func (r *objectRig) host(name string) (string, []string) {
	dir := filepath.Join(r.t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		r.t.Fatal(err)
	}
	return dir, append(append(os.Environ(), r.s3.Env()...), "TMPDIR="+filepath.Join(dir, "tmp"))
}

// startWorker starts a cmd/worker on a host of its own with mediaRoots.
func (r *objectRig) startWorker(name, mediaRoots string) {
	dir, env := r.host(name)
	w := testproc.NewWorker(name, r.bins.worker, testproc.WorkerConfig{
		RedisURL: r.redis.URL(), GatewayURL: r.front.url(), Keys: r.keys, MediaRoot: mediaRoots,
		Env: append(workerEnv(), env[len(os.Environ()):]...),
	})
	w.Dir = dir
	if err := w.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.procs = append(r.procs, w)
}

// put stores data as bucket/key.
func (r *objectRig) put(bucket, key string, data []byte) string {
	r.t.Helper()
	if err := r.store.Put(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data))); err != nil {
		r.t.Fatal(err)
	}
	return mediaroot.ObjectScheme + bucket + "/" + key
}

// uploadSet generates a mixed set on this (the uploading) host's disk,
// stores it under the bucket prefix, and returns the samples named by
// their s3:// URLs.
func (r *objectRig) uploadSet(files int) []Sample {
	local := r.t.TempDir()
	mp4, mov := templates(r.t)
	samples, err := GenerateSet(local, SetConfig{Files: files, Seed: uint64(time.Now().UnixNano()), MP4: mp4, MOV: mov})
	if err != nil {
		r.t.Fatal(err)
	}
	for i, s := range samples {
		data, err := os.ReadFile(s.Path)
		if err != nil {
			r.t.Fatal(err)
		}
		rel, _ := filepath.Rel(local, s.Path)
		samples[i].Path = r.put(objectBucket, objectPrefix+filepath.ToSlash(rel), data)
	}
	return samples
}

// runEnqueue runs cmd/enqueue with args on a host of its own and returns
// its exit status.
func (r *objectRig) runEnqueue(name string, args ...string) int {
	dir, env := r.host(name)
	p := &testproc.Proc{Name: name, Path: r.bins.enqueue, Dir: dir, Args: args,
		Env: append(env, "REDIS_URL="+r.redis.URL(), "MEDIA_ROOTS="+objectRoot)}
	r.procs = append(r.procs, p)
	if err := p.Start(); err != nil {
		r.t.Fatal(err)
	}
	err := p.Wait(3 * time.Minute)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	r.t.Fatalf("%s: %v", name, err)
	return -1
}

// Workers with no shared disk, one reading only from the object store,
// import and upload a mixed set from a bucket prefix: every valid object
// completes byte for byte, every bad one is rejected by the importer or
// archived by a worker with its reason; an object overwritten after
// enqueue is refused as changed; a bucket outside the roots is refused.
func TestObjectStoreImport(t *testing.T) {
	t.Parallel()
	r := newObjectRig(t)
	samples := r.uploadSet(40)
	ctx := context.Background()

	// Before any worker runs: one object queued then overwritten, one of
	// a bucket outside the roots queued by a producer that does not
	// check, both in a queue of their own (the set's checks count the
	// default queue).
	roots, err := mediaroot.New(objectRoot)
	if err != nil {
		t.Fatal(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: r.redis.URL(), Roots: roots.WithStore(r.store), Queue: "critical"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var photo []byte
	for _, s := range samples {
		if s.Valid && s.Type == "jpg" {
			photo, err = os.ReadFile(filepath.Join(r.s3.Dir(), objectBucket, strings.TrimPrefix(s.Path, mediaroot.ObjectScheme+objectBucket+"/")))
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	replaced := r.put(objectBucket, objectPrefix+"later/replaced.jpg", append(bytes.Clone(photo), "v1"...))
	queued, err := client.Enqueue(ctx, tasks.UploadRequest{Path: replaced})
	if err != nil {
		t.Fatal(err)
	}
	r.put(objectBucket, objectPrefix+"later/replaced.jpg", append(bytes.Clone(photo), "v2"...)) // same size
	outside := r.put("other", objectPrefix+"secret.jpg", append(bytes.Clone(photo), "x"...))
	if _, err := client.Prepare(ctx, tasks.UploadRequest{Path: outside}); tasksReason(err) != string(mediaroot.ReasonOutsideRoots) {
		t.Errorf("Prepare of an object outside the roots = %v, want outside_roots", err)
	}
	outsideTask, err := tasks.NewUploadTask(tasks.UploadPayload{Path: outside, ImageName: "secret.jpg",
		SHA256: strings.Repeat("0", 64), Size: int64(len(photo) + 1)}, asynq.Queue("critical"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := redisurl.Parse(r.redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	ac := asynq.NewClient(conn)
	defer ac.Close()
	outsideInfo, err := ac.Enqueue(outsideTask)
	if err != nil {
		t.Fatal(err)
	}

	// Two worker hosts: one reads only from the bucket, the other has a
	// local root of its own besides.
	r.startWorker("worker-s3", objectRoot)
	localRoot := filepath.Join(t.TempDir(), "worker-local-media")
	if err := os.MkdirAll(localRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	r.startWorker("worker-mixed", localRoot+","+objectRoot)
	// Direct invalid samples, queued without the local check.
	for _, s := range samples {
		if !s.Direct {
			continue
		}
		task, err := tasks.NewUploadTask(tasks.UploadPayload{Path: s.Path, ImageName: filepath.Base(s.Path),
			ImageType: s.DeclaredType, SHA256: s.SHA256, Size: s.Size})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ac.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(t.TempDir(), "manifest.jsonl")
	start := time.Now()
	code := r.runEnqueue("enqueue", "--wait", "--manifest", manifest, "--progress", "none", "--poll", "200ms", objectRoot+ImportDir+"/")
	if code != 1 {
		t.Errorf("enqueue exited with %d, want 1 (files rejected)", code)
	}
	t.Logf("import of %d objects with --wait: %v", len(samples), time.Since(start).Round(10*time.Millisecond))

	insp := asynq.NewInspector(conn)
	defer insp.Close()
	waitFinal := func(queue, id string) *asynq.TaskInfo {
		deadline := time.Now().Add(time.Minute)
		for {
			info, err := insp.GetTaskInfo(queue, id)
			if err == nil && (info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted) {
				return info
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s not finished after a minute (%v)", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, s := range samples {
		if s.Direct {
			waitFinal(tasks.QueueDefault, TaskIDOf(s))
		}
	}
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	byID, qi, err := Gather(insp, tasks.QueueDefault, samples)
	if err != nil {
		t.Fatal(err)
	}
	rep := Check(Outcome{Samples: samples, Manifest: rows, Tasks: byID, Queue: qi, Uploads: r.gw.Uploads()})
	if !rep.OK() || rep.Valid == 0 || rep.Rejected == 0 || rep.Archived == 0 {
		t.Errorf("%s", rep)
	} else {
		t.Logf("%s", rep)
	}
	// Byte for byte: what the emulator received is each object as stored.
	for _, row := range rows {
		if row.ImageID == "" {
			continue
		}
		got, ok := r.gw.Content(row.ImageID)
		want, err := os.ReadFile(filepath.Join(r.s3.Dir(), objectBucket, strings.TrimPrefix(row.Path, mediaroot.ObjectScheme+objectBucket+"/")))
		if !ok || err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: the emulator received %d bytes (kept %v), the object has %d (%v)", row.Path, len(got), ok, len(want), err)
		}
	}
	// enqueue status finds an object's tasks by its URL, as a file's.
	for _, smp := range samples {
		if smp.Valid {
			found, err := client.Find(ctx, smp.Path)
			if err != nil || len(found) != 1 || found[0].State != tasks.StateCompleted {
				t.Errorf("Find(%s) = %+v, %v; want its completed task", smp.Path, found, err)
			}
			break
		}
	}
	if info := waitFinal("critical", queued.ID); info.State != asynq.TaskStateArchived || !strings.Contains(info.LastErr, "changed") {
		t.Errorf("object overwritten after enqueue: %v %q, want archived as changed", info.State, info.LastErr)
	}
	if info := waitFinal("critical", outsideInfo.ID); info.State != asynq.TaskStateArchived || !strings.HasPrefix(info.LastErr, string(mediaroot.ReasonOutsideRoots)) {
		t.Errorf("object of a bucket outside the roots: %v %q, want archived as outside_roots", info.State, info.LastErr)
	}
	for _, p := range r.procs[:2] {
		if strings.Contains(p.Log(), r.s3.SecretKey()) {
			t.Errorf("%s logged the secret key", p.Name)
		}
	}
	// The importer refuses a bucket outside the roots too.
	if code := r.runEnqueue("enqueue-other", "--manifest", "-", "--progress", "none", "s3://other/"+objectPrefix); code != 1 {
		t.Errorf("enqueue of a bucket outside the roots exited with %d, want 1", code)
	}
	if out := r.procs[len(r.procs)-1].Log(); !strings.Contains(out, `"reason":"outside_roots"`) {
		t.Errorf("enqueue of a bucket outside the roots:\n%s", out)
	}
}

// tasksReason is the reason of a *tasks.RejectError, or err's text.
func tasksReason(err error) string {
	var rej *tasks.RejectError
	if errors.As(err, &rej) {
		return string(rej.Reason)
	}
	return fmt.Sprint(err)
}

// `enqueue serve` and a worker as separate hosts, sharing only Redis and
// the object store: files posted to the API are kept in a bucket spool,
// uploaded by the worker byte for byte, and the spooled objects are
// deleted by the API's sweep once their tasks are proven finished; a
// rejected file leaves nothing behind.
func TestObjectStoreServe(t *testing.T) {
	t.Parallel()
	r := newObjectRig(t)
	r.startWorker("worker-api", objectRoot)
	const token = "object-store-serve-test-token-0123456789"
	port := testproc.FreePort(t)
	dir, env := r.host("enqueue-serve")
	api := &testproc.Proc{Name: "enqueue-serve", Path: r.bins.enqueue, Dir: dir, Args: []string{"serve"},
		Env: append(env, "REDIS_URL="+r.redis.URL(), "MEDIA_ROOTS="+objectRoot, "ENQUEUE_API_TOKEN="+token,
			"ENQUEUE_LISTEN=127.0.0.1:"+strconv.Itoa(port), "ENQUEUE_SPOOL_SWEEP=200ms", "ENQUEUE_SPOOL_GRACE=1ms", "LOG_LEVEL=info")}
	r.procs = append(r.procs, api)
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Minute}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || !api.Running() {
			t.Fatalf("enqueue serve not up: %v\n%s", err, api.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(name string, data []byte) (int, map[string]any) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/uploads", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	sent := map[string][]byte{}
	for i := range 4 {
		data := mediagen.Sample([]string{"jpg", "png", "gif", "bmp"}[i], uint64(i+100))
		code, out := post(fmt.Sprintf("photo%d", i), data)
		id, _ := out["task_id"].(string)
		if code != http.StatusAccepted && code != http.StatusCreated && code != http.StatusOK || id == "" {
			t.Fatalf("POST photo%d = %d %v", i, code, out)
		}
		if p, _ := out["path"].(string); !strings.HasPrefix(p, objectRoot+".enqueue-spool/") {
			t.Errorf("task path %q is not in the bucket spool", p)
		}
		sent[id] = data
	}
	broken := mediagen.Sample("jpg", 7)
	if code, out := post("broken.jpg", broken[:len(broken)/2]); code < 400 || code >= 500 {
		t.Errorf("POST of a broken photo = %d %v, want a refusal", code, out)
	}
	for id, data := range sent {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/uploads/"+id+"?wait=60s", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var task struct {
			State  string `json:"state"`
			Result struct {
				ImageID string `json:"image_id"`
			} `json:"result"`
			LastError string `json:"last_error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&task)
		resp.Body.Close()
		if err != nil || task.State != "completed" {
			t.Fatalf("task %s: %+v (%v)", id, task, err)
		}
		if got, ok := r.gw.Content(task.Result.ImageID); !ok || !bytes.Equal(got, data) {
			t.Errorf("task %s: the emulator received %d bytes, %d were posted", id, len(got), len(data))
		}
	}
	// The sweep deletes each spooled object once its task is completed,
	// and its bookkeeping with it.
	var left []string
	for deadline := time.Now().Add(20 * time.Second); ; {
		left = left[:0]
		err := r.store.List(context.Background(), objectBucket, objectPrefix, func(o mediaroot.ObjectInfo) error {
			left = append(left, o.Key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("spooled objects left after their tasks completed: %q\n%s", left, api.Log())
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.redis.Addr()})
	defer rdb.Close()
	if keys, err := rdb.Keys(context.Background(), tasks.KeyPrefix+"spool*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("spool bookkeeping left in Redis: %q (%v)", keys, err)
	}
	if strings.Contains(api.Log(), r.s3.SecretKey()) {
		t.Error("enqueue serve logged the secret key")
	}
}
