package tasks_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/tasks"
)

// TestFindByIDSHAAndPrefixInEveryQueue queues one photo for the
// application itself in the default queue and for a merchant in another
// queue, and another photo beside them: Find reaches them by task ID, by
// SHA-256 and by a prefix of it in either case, across queues and
// merchants, and refuses references of another form.
func TestFindByIDSHAAndPrefixInEveryQueue(t *testing.T) {
	t.Parallel()
	s := setupClient(t, "photo.jpg", "photo.png")
	ctx := t.Context()
	other, err := tasks.NewClient(tasks.ClientConfig{RedisURL: s.redis.URL(), MediaRoots: []string{s.root},
		Queue: "merchants", PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	jpg, png := filepath.Join(s.root, "photo.jpg"), filepath.Join(s.root, "photo.png")
	self, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: jpg})
	if err != nil {
		t.Fatal(err)
	}
	merchant, err := other.Enqueue(ctx, tasks.UploadRequest{Path: jpg, ImagePID: "2088000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	pngTask, err := s.client.Enqueue(ctx, tasks.UploadRequest{Path: png})
	if err != nil {
		t.Fatal(err)
	}
	sum := self.Payload.SHA256

	ids := func(sts []tasks.Status) string {
		var out []string
		for _, st := range sts {
			out = append(out, st.Queue+"/"+st.ID)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ ref, want string }{
		{merchant.ID, "merchants/" + merchant.ID},
		{self.ID, "default/" + self.ID},
		{sum, "default/" + self.ID + " merchants/" + merchant.ID},
		{strings.ToUpper(sum[:8]), "default/" + self.ID + " merchants/" + merchant.ID},
		{pngTask.Payload.SHA256[:12], "default/" + pngTask.ID},
		{jpg, "default/" + self.ID + " merchants/" + merchant.ID},
	} {
		got, err := other.Find(ctx, c.ref)
		if err != nil || ids(got) != c.want {
			t.Errorf("Find(%q) = %q, %v; want %q", c.ref, ids(got), err, c.want)
		}
	}
	if got, err := s.client.Find(ctx, sum); err != nil || got[1].Payload.ImagePID != "2088000000000002" || got[1].Payload.Path != jpg {
		t.Errorf("Find(sha) statuses = %+v, %v; want the merchant's payload second", got, err)
	}

	for _, ref := range []string{"abc1234", "photo.jpg", "zzzzzzzz", strings.Repeat("a", 65), ""} {
		if _, err := s.client.Find(ctx, ref); !errors.Is(err, tasks.ErrBadRef) {
			t.Errorf("Find(%q) = %v, want ErrBadRef", ref, err)
		}
	}
	// A file is only hashed, beneath the roots: one outside is refused.
	outside := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(outside, []byte("not even a photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	var rej *tasks.RejectError
	if _, err := s.client.Find(ctx, outside); !errors.As(err, &rej) || rej.Reason != "outside_roots" {
		t.Errorf("Find(%s) = %v, want a rejection outside_roots", outside, err)
	}
	for _, ref := range []string{"0000000000", "upload:" + strings.Repeat("0", 64) + ":self"} {
		if _, err := s.client.Find(ctx, ref); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("Find(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}
