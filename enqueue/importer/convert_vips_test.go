//go:build vips

package importer_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// TestImportConvertWaitManifest: an import with Convert queues a HEIC and
// a JPEG over the limit for a converting worker, and the --wait manifest
// says what was sent (the original's size and SHA-256 kept); an import
// without it rejects them as before.
func TestImportConvertWaitManifest(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	heic, err := mediagen.HEIC(mediagen.Photo(320, 240, 11, 4), 60)
	if err != nil {
		t.Fatal(err)
	}
	big, err := mediagen.CameraJPEG(mediagen.Photo(3000, 2000, 12, 24), 95, mediagen.EXIF{})
	if err != nil {
		t.Fatal(err)
	}
	if len(big) <= int(validate.DefaultMaxSize) {
		t.Fatalf("the big JPEG has %d bytes, not over the limit", len(big))
	}
	for name, data := range map[string][]byte{"a.heic": heic, "big.jpg": big, "small.png": mediagen.Sample("png", 13)} {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	client := newClient(t, srv.URL(), root)

	sum, rows, err := runImport(t, t.Context(), importer.Config{Client: client, Paths: []string{root}, DryRun: true}, root)
	if err != nil || sum.Rejected != 2 || rows["a.heic"].Reason != "unsupported_type" || rows["big.jpg"].Reason != "too_large" {
		t.Fatalf("without Convert: %s, %v; rows %+v", sum, err, rows)
	}

	workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}, Convert: &convert.Config{ScratchDir: t.TempDir()}})
	sum, rows, err = runImport(t, t.Context(), importer.Config{Client: client, Paths: []string{root}, Convert: true, Wait: true}, root)
	if err != nil || !sum.OK() || sum.Completed != 3 {
		t.Fatalf("with Convert: %s, %v; rows %+v", sum, err, rows)
	}
	for name, from := range map[string]string{"a.heic": "heif", "big.jpg": "jpg"} {
		r := rows[name]
		c := r.Converted
		if c == nil || c.From != from || c.To != "jpg" || c.BytesBefore != r.Size || c.SourceSHA256 != r.SHA256 || c.BytesAfter >= validate.DefaultMaxSize || c.Quality == 0 || c.WidthAfter == 0 {
			t.Errorf("%s: row %+v, converted %+v", name, r, c)
		}
	}
	if rows["small.png"].Converted != nil || rows["small.png"].State != importer.StateCompleted {
		t.Errorf("small.png: %+v", rows["small.png"])
	}
}

// TestImportRequeueFailedConvertReplaces: a HEIC and a JPEG over the limit
// whose tasks were queued without asking for conversion, and so archived
// by a converting worker, are not re-run unchanged: an import with Convert
// says how to replace them, one with RequeueFailed and Convert replaces
// them under the same task IDs and they are converted and sent once.
func TestImportRequeueFailedConvertReplaces(t *testing.T) {
	t.Parallel()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	heic, err := mediagen.HEIC(mediagen.Photo(320, 240, 21, 4), 60)
	if err != nil {
		t.Fatal(err)
	}
	big, err := mediagen.CameraJPEG(mediagen.Photo(3000, 2000, 22, 24), 95, mediagen.EXIF{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"a.heic": heic, "big.jpg": big}
	w := workertest.Start(t, workertest.Config{RedisURL: srv.URL(), MediaRoots: []string{root}, Convert: &convert.Config{ScratchDir: t.TempDir()}})
	client := newClient(t, srv.URL(), root)
	opt, err := asynq.ParseRedisURI(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	producer := asynq.NewClient(opt)
	defer producer.Close()
	ctx := t.Context()
	ids := map[string]string{}
	for name, data := range files {
		path := filepath.Join(root, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// A producer of its own queues the file without conversion.
		sum := sha256.Sum256(data)
		p := tasks.UploadPayload{Version: tasks.PayloadVersion, Path: path, ImageName: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		task, err := tasks.NewUploadTask(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := producer.EnqueueContext(ctx, task); err != nil {
			t.Fatal(err)
		}
		st, err := client.Wait(ctx, tasks.TaskID(p))
		if err != nil || st.State != tasks.StateArchived || !strings.Contains(st.LastError, "--convert") {
			t.Fatalf("%s without conversion: %+v, %v", name, st, err)
		}
		ids[name] = tasks.TaskID(p)
	}

	cfg := importer.Config{Client: client, Paths: []string{root}, Convert: true, Wait: true}
	sum, rows, err := runImport(t, ctx, cfg, root)
	if err != nil || sum.Failed != 2 {
		t.Fatalf("Convert alone: %s, %v", sum, err)
	}
	for name := range files {
		if r := rows[name]; r.State != importer.StateFailed || r.Requeued || !strings.Contains(r.Note, "--requeue-failed --convert") {
			t.Errorf("Convert alone, %s: %+v", name, r)
		}
	}

	cfg.RequeueFailed = true
	dry := cfg
	dry.DryRun, dry.Wait = true, false
	if sum, rows, err := runImport(t, ctx, dry, root); err != nil || sum.WouldQueue != 2 || !rows["a.heic"].Requeued || !strings.Contains(rows["a.heic"].Note, "would be deleted") {
		t.Fatalf("dry run: %s, %v; rows %+v", sum, err, rows)
	}
	sum, rows, err = runImport(t, ctx, cfg, root)
	if err != nil || !sum.OK() || sum.Completed != 2 {
		t.Fatalf("RequeueFailed and Convert: %s, %v; rows %+v", sum, err, rows)
	}
	for name, id := range ids {
		r := rows[name]
		if r.TaskID != id || !r.Requeued || r.Converted == nil || r.Converted.BytesAfter >= validate.DefaultMaxSize || !strings.Contains(r.Note, "queued again with conversion") {
			t.Errorf("RequeueFailed and Convert, %s: %+v", name, r)
		}
	}
	// Run again: the completed tasks are reported, nothing is sent twice.
	sum, rows, err = runImport(t, ctx, cfg, root)
	if err != nil || sum.Completed != 2 || rows["a.heic"].Requeued || !rows["a.heic"].Duplicate {
		t.Fatalf("third run: %s, %v; rows %+v", sum, err, rows)
	}
	if n := len(w.Gateway.Uploads()); n != 2 {
		t.Errorf("the gateway received %d uploads, want 2", n)
	}
}
