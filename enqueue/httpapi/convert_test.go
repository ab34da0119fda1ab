package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/validate"
)

// TestCreateAskingForConversion: "convert" in JSON and multipart queues a
// HEIC and a JPEG over the limit, which are refused as before without it
// (the message then hints at "convert"); a bad value is a bad request.
func TestCreateAskingForConversion(t *testing.T) {
	t.Parallel()
	s := setup(t)
	heic, err := mediagen.HEIC(mediagen.Photo(64, 48, 9, 4), 60)
	if err != nil {
		t.Fatal(err)
	}
	heicPath := filepath.Join(s.root, "IMG_0001.HEIC")
	if err := os.WriteFile(heicPath, heic, 0o644); err != nil {
		t.Fatal(err)
	}
	a := s.postJSON(t, fmt.Sprintf(`{"path":%q}`, heicPath))
	if a.status != http.StatusUnprocessableEntity || a.errCode != "unsupported_type" || !strings.Contains(a.errorMsg, `"convert": true`) {
		t.Errorf("HEIC without convert: %d %s %q; want 422 unsupported_type with a hint", a.status, a.errCode, a.errorMsg)
	}
	a = s.postJSON(t, fmt.Sprintf(`{"path":%q,"convert":true}`, heicPath))
	if a.status != http.StatusAccepted || !a.task.Convert || a.task.ImageType != "" || a.task.Size != int64(len(heic)) {
		t.Errorf("HEIC with convert: %d %s %q, task %+v", a.status, a.errCode, a.errorMsg, a.task)
	}

	big, err := mediagen.JPEGOfSize(validate.DefaultMaxSize+1, 10)
	if err != nil {
		t.Fatal(err)
	}
	a = s.postFile(t, nil, "big.jpg", bytes.NewReader(big))
	if a.status != http.StatusRequestEntityTooLarge || a.errCode != "too_large" || !strings.Contains(a.errorMsg, `"convert": true`) {
		t.Errorf("big JPEG without convert: %d %s %q; want 413 too_large with a hint", a.status, a.errCode, a.errorMsg)
	}
	a = s.postFile(t, map[string]string{"convert": "true"}, "big.jpg", bytes.NewReader(big))
	if a.status != http.StatusAccepted || !a.task.Convert || a.task.ImageType != "jpg" || a.task.Size != int64(len(big)) {
		t.Errorf("big JPEG with convert: %d %s %q, task %+v", a.status, a.errCode, a.errorMsg, a.task)
	}
	a = s.postFile(t, map[string]string{"convert": "perhaps"}, "a.jpg", bytes.NewReader(sample(t, "photo.jpg")))
	if a.status != http.StatusBadRequest || a.errCode != "invalid_request" {
		t.Errorf("convert=perhaps: %d %s", a.status, a.errCode)
	}
	if names := spoolFiles(t, s.spool); len(names) != 1 {
		t.Errorf("the spool holds %q, want only the big JPEG", names)
	}
}
