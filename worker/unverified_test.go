package worker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestWrongAlipayKeyKeepsUnverifiedImageID(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testWrongAlipayKeyKeepsUnverifiedImageID)
}

// testWrongAlipayKeyKeepsUnverifiedImageID: with a wrong but well-formed
// Alipay public key (here the app's own), the upload is stored at the
// gateway but archived as bad_signature; the archived task keeps the
// image_id and trace id the answer claimed, marked unverified, in its
// error (with the fix: check the key, reconcile before re-running) and in
// its result record. Before, neither held the image_id.
func testWrongAlipayKeyKeepsUnverifiedImageID(t *testing.T, proto upload.Protocol) {
	e := startEnv(t, envOptions{protocol: proto, config: func(c *Config) {
		c.Keys.AlipayPublicKey = &alipaytest.TestKeys().App.PublicKey
	}})
	info := e.wait(t, e.enqueue(t, payloadFor(t, e.sample(t, "photo.jpg"))))
	stored := e.gw.Uploads()
	if len(stored) != 1 {
		t.Fatalf("gateway stored %d uploads, want 1", len(stored))
	}
	id, trace := stored[0].ImageID, stored[0].TraceID
	if info.State != asynq.TaskStateArchived || info.Retried != 0 {
		t.Fatalf("%s; want archived at once", describe(info))
	}
	for _, want := range []string{"UNVERIFIED", id, trace, "ALIPAY_PUBLIC_KEY_FILE", "reconcile"} {
		if !strings.Contains(info.LastErr, want) {
			t.Errorf("last error %q does not contain %q", info.LastErr, want)
		}
	}
	var r tasks.Result
	if err := json.Unmarshal(info.Result, &r); err != nil || !r.Unverified || r.ImageID != id || r.TraceID != trace {
		t.Errorf("result record %s (%v); want the unverified image_id %s and trace id %s", info.Result, err, id, trace)
	}
}
