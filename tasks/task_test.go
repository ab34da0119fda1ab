package tasks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNewUploadTaskDefaults(t *testing.T) {
	t.Parallel()
	p := validPayload()
	p.Version = 0
	task, err := NewUploadTask(p)
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != TypeUpload {
		t.Errorf("type %q", task.Type())
	}
	var got UploadPayload
	if err := json.Unmarshal(task.Payload(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != PayloadVersion {
		t.Errorf("version %d, want %d", got.Version, PayloadVersion)
	}
	// The payload uses snake_case keys and omits empty optional fields.
	var raw map[string]any
	_ = json.Unmarshal(task.Payload(), &raw)
	for _, k := range []string{"version", "path", "image_name", "sha256", "size"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("payload lacks %q: %s", k, task.Payload())
		}
	}
	for _, k := range []string{"image_type", "image_pid", "app_auth_token"} {
		if _, ok := raw[k]; ok {
			t.Errorf("payload has empty %q: %s", k, task.Payload())
		}
	}
}

func TestNewUploadTaskRejectsBadPayload(t *testing.T) {
	t.Parallel()
	p := validPayload()
	p.Path = "relative.jpg"
	if _, err := NewUploadTask(p); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("err = %v, want ErrInvalidPayload", err)
	}
}

func TestTaskID(t *testing.T) {
	t.Parallel()
	base := validPayload()
	if got, want := TaskID(base), "upload:"+sumHello+":self"; got != want {
		t.Errorf("TaskID = %q, want %q", got, want)
	}

	// Path and name do not matter: same content, same merchant.
	other := base
	other.Path, other.ImageName = "/elsewhere/x.jpg", "another"
	if TaskID(other) != TaskID(base) {
		t.Error("TaskID depends on path or name")
	}

	a, b := base, base
	a.AppAuthToken = "202401BBmerchantA"
	b.AppAuthToken = "202401BBmerchantB"
	if TaskID(a) == TaskID(b) || TaskID(a) == TaskID(base) {
		t.Error("different merchants share a task ID")
	}
	if strings.Contains(TaskID(a), "merchantA") {
		t.Errorf("TaskID %q contains the token", TaskID(a))
	}
	c := base
	c.ImagePID = "2088000000000001"
	if TaskID(c) == TaskID(base) {
		t.Error("image_pid does not change the task ID")
	}
	// Field boundaries are unambiguous.
	d, e := base, base
	d.AppAuthToken, d.ImagePID = "ab", "c"
	e.AppAuthToken, e.ImagePID = "a", "bc"
	if TaskID(d) == TaskID(e) {
		t.Error("token/pid boundary is ambiguous")
	}
}
