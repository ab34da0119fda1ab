//go:build vips

package importer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
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
