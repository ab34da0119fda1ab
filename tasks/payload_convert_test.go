package tasks

import (
	"strings"
	"testing"
)

// A payload without "convert" (as written before the field existed)
// decodes as not asking; one with it round-trips, and the field is left
// out of payloads that do not ask.
func TestPayloadConvertField(t *testing.T) {
	t.Parallel()
	old := `{"version":1,"path":"/srv/a.jpg","image_name":"a.jpg","sha256":"` + strings.Repeat("ab", 32) + `","size":3}`
	p, err := decodeUploadPayload([]byte(old))
	if err != nil || p.Convert {
		t.Fatalf("old payload: %+v, %v", p, err)
	}
	task, err := NewUploadTask(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(task.Payload()), "convert") {
		t.Errorf("payload %s mentions convert", task.Payload())
	}
	p.Convert = true
	task, err = NewUploadTask(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeUploadPayload(task.Payload())
	if err != nil || !back.Convert || !strings.Contains(string(task.Payload()), `"convert":true`) {
		t.Errorf("payload %s decodes as %+v, %v", task.Payload(), back, err)
	}
}
