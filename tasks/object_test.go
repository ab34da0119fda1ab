package tasks

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/objstore"
	"github.com/storemedia/alipay-media-worker/validate"
)

// objectBundle is a handler whose media roots are a bucket prefix of a
// private versitygw, and a Client with the same roots.
type objectBundle struct {
	*bundle
	store *objstore.Store
}

func setupObjects(t *testing.T) *objectBundle {
	t.Helper()
	srv := testproc.StartS3(t, testproc.S3Options{Buckets: []string{"media", "private"}})
	store, err := objstore.New(context.Background(), objstore.Config{
		Endpoint: srv.URL(), PathStyle: true, AccessKeyID: srv.AccessKey(), SecretAccessKey: srv.SecretKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t)
	roots, err := mediaroot.New("s3://media/shop/")
	if err != nil {
		t.Fatal(err)
	}
	b.h.roots = roots.WithStore(store)
	return &objectBundle{bundle: b, store: store}
}

func (b *objectBundle) put(t *testing.T, bucket, key string, data []byte) string {
	t.Helper()
	if err := b.store.Put(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return "s3://" + bucket + "/" + key
}

func objectPayload(t *testing.T, u string, data []byte) UploadPayload {
	t.Helper()
	sum, size, err := Digest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return UploadPayload{Version: PayloadVersion, Path: u, ImageName: "shop front", SHA256: sum, Size: size}
}

// An object is streamed once from the store through the checks into the
// upload; one replaced since enqueue, outside the roots, missing or
// broken is refused with its reason, and nothing is sent.
func TestHandlerReadsObjects(t *testing.T) {
	t.Parallel()
	b := setupObjects(t)
	jpg := noiseFile(t, "jpg", 640, 480)
	u := b.put(t, "media", "shop/front.jpg", jpg)
	if err := b.h.ProcessTask(context.Background(), taskOf(t, objectPayload(t, u, jpg))); err != nil {
		t.Fatalf("good object: %v", err)
	}
	if !bytes.Equal(b.up.body, jpg) {
		t.Fatalf("sent %d bytes, want the object's %d byte for byte", len(b.up.body), len(jpg))
	}
	calls := b.up.Calls()

	refused := func(name string, p UploadPayload, reason string) {
		t.Helper()
		err := b.h.ProcessTask(context.Background(), taskOf(t, p))
		events := strings.Split(b.obs.String(), "; ")
		if last := events[len(events)-1]; !errors.Is(err, asynq.SkipRetry) || !strings.HasPrefix(last, "rejected "+reason+" ") {
			t.Errorf("%s: %v (observed %q), want a permanent %s", name, err, last, reason)
		}
	}
	// Overwritten after enqueue, same size: the SHA-256 tells, and the
	// upload never completes.
	changed := bytes.Clone(jpg)
	changed[len(changed)/2] ^= 1
	p := objectPayload(t, u, jpg)
	b.put(t, "media", "shop/front.jpg", changed)
	refused("replaced, same size", p, "changed")
	if !bytes.Equal(b.up.body, jpg) {
		t.Error("the replaced object's request completed")
	}
	// Another size: refused before anything is sent.
	b.put(t, "media", "shop/front.jpg", jpg[:1000])
	before := b.up.Calls()
	refused("replaced, other size", p, "changed")
	if b.up.Calls() != before {
		t.Error("an object of another size was sent")
	}
	data := []byte("secret")
	refused("other bucket", objectPayload(t, b.put(t, "private", "shop/key.jpg", data), data), "outside_roots")
	refused("other prefix", objectPayload(t, b.put(t, "media", "shop2/a.jpg", data), data), "outside_roots")
	refused("missing", objectPayload(t, "s3://media/shop/gone.jpg", data), "not_found")
	broken := jpg[:len(jpg)*3/4]
	refused("broken", objectPayload(t, b.put(t, "media", "shop/cut.jpg", broken), broken), string(validate.ReasonCorrupt))
	if got := b.up.Calls() - calls; got != 2 {
		t.Errorf("%d requests for the refused objects, want 2 (the replaced one and the broken one, both cut)", got)
	}
}

// A worker without bucket roots refuses an object job as outside its
// roots; a payload naming a bucket or a prefix is refused as invalid.
func TestHandlerObjectWithoutBuckets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := []byte("x")
	err := b.h.ProcessTask(context.Background(), taskOf(t, objectPayload(t, "s3://media/shop/a.jpg", data)))
	if !errors.Is(err, asynq.SkipRetry) || !strings.HasPrefix(err.Error(), "outside_roots:") {
		t.Errorf("object job on a worker with directories only: %v", err)
	}
	for _, u := range []string{"s3://media/", "s3://media", "s3://UP/a.jpg"} {
		p := objectPayload(t, u, data)
		if err := p.Validate(); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("Validate(%q) = %v, want ErrInvalidPayload", u, err)
		}
	}
}
