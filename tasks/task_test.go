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

// Version 1 IDs stay what they were (these values were computed before
// version 2 existed), so queued version 1 jobs keep deduplicating.
func TestTaskIDVersion1Unchanged(t *testing.T) {
	t.Parallel()
	p := UploadPayload{Version: PayloadVersion1, SHA256: sumHello, AppAuthToken: "202401BBmerchantA", ImagePID: "2088000000000001"}
	if got, want := TaskID(p), "upload:"+sumHello+":b35ab5831a0d30af"; got != want {
		t.Errorf("version 1 TaskID = %q, want %q", got, want)
	}
	p.AppAuthToken = ""
	if got, want := TaskID(p), "upload:"+sumHello+":61126f74254efb85"; got != want {
		t.Errorf("image_pid only TaskID = %q, want %q", got, want)
	}
	p.Version = PayloadVersion // same ID in version 2 for an image_pid alone
	if got, want := TaskID(p), "upload:"+sumHello+":61126f74254efb85"; got != want {
		t.Errorf("version 2 image_pid only TaskID = %q, want %q", got, want)
	}
}

// A merchant's jobs are named by its auth_app_id: the token, which a
// refresh changes, plays no part, so a refresh never makes a file upload
// twice.
func TestTaskIDMerchant(t *testing.T) {
	t.Parallel()
	m := validPayload()
	m.Merchant = "2021000000000001"
	other := m
	other.Merchant = "2021000000000002"
	self := validPayload()
	if TaskID(m) == TaskID(self) || TaskID(m) == TaskID(other) {
		t.Error("merchants share task IDs")
	}
	if strings.Contains(TaskID(m), m.Merchant) {
		t.Errorf("TaskID %q shows the auth_app_id", TaskID(m))
	}
	pid := m
	pid.ImagePID = "2088000000000001"
	if TaskID(pid) == TaskID(m) {
		t.Error("image_pid does not change a merchant's task ID")
	}
	// A sealed token is named by its digest; a merchant and a digest
	// spelled alike still differ.
	s := validPayload()
	s.SealedToken, s.TokenDigest = "sealed-1", TokenDigest("202401BBmerchantA")
	s2 := s
	s2.SealedToken = "sealed-2" // sealing again gives another ciphertext
	if TaskID(s) != TaskID(s2) {
		t.Error("the ciphertext changes the task ID")
	}
	alike := validPayload()
	alike.Merchant = s.TokenDigest
	if TaskID(alike) == TaskID(s) {
		t.Error("a merchant and a token digest spelled alike share an ID")
	}
	v1 := validPayload()
	v1.Version, v1.AppAuthToken = PayloadVersion1, "202401BBmerchantA"
	if TaskID(s) == TaskID(v1) {
		t.Error("a digest ID equals the version 1 ID of the same token (the digest is not the token)")
	}
	if d := TokenDigest("202401BBmerchantA"); len(d) != 32 || strings.Contains(d, "merchantA") || d == TokenDigest("202401BBmerchantB") {
		t.Errorf("TokenDigest = %q", d)
	}
}
