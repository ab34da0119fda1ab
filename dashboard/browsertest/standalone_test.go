package browsertest

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/dashboard"
	"github.com/storemedia/alipay-media-worker/internal/testredis"
)

type quiet struct{}

func (quiet) Debug(...any) {}
func (quiet) Info(...any)  {}
func (quiet) Warn(...any)  {}
func (quiet) Error(...any) {}
func (quiet) Fatal(...any) {}

func TestStandaloneDashboardInBrowser(t *testing.T) {
	rs := testredis.Start(t)
	opt := asynq.RedisClientOpt{Addr: rs.Addr()}
	c := asynq.NewClient(opt)
	defer c.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	for _, id := range []string{"good", "bad"} {
		p := `{"path":"/m/` + id + `.jpg","app_auth_token":"SECRETTOKEN123"}`
		if _, err := c.Enqueue(asynq.NewTask("alipay:material_image_upload", []byte(p)), asynq.TaskID(id), asynq.Queue("uploads"), asynq.MaxRetry(0), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	srv := asynq.NewServer(opt, asynq.Config{Queues: map[string]int{"uploads": 1}, Logger: quiet{}, LogLevel: asynq.FatalLevel})
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		if strings.Contains(string(task.Payload()), "bad") {
			return errors.New("validate: unsupported_type: content is text/plain")
		}
		_, err := task.ResultWriter().Write([]byte(`{"image_id":"img_abc123","image_url":"http://x/img_abc123"}`))
		return err
	})); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	for {
		in, err := insp.GetQueueInfo("uploads")
		if err == nil && in.Completed == 1 && in.Archived == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	d, err := dashboard.New(dashboard.Config{RedisConnOpt: opt})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hs := httptest.NewServer(d.Handler())
	defer hs.Close()
	r := runScript(t, hs.URL+"/monitoring/", "uploads", artifactsDir(t), "SECRETTOKEN123")
	if len(r.Completed.ImageIDs) != 1 || r.Completed.ImageIDs[0] != "img_abc123" {
		t.Errorf("image ids %q", r.Completed.ImageIDs)
	}
	if len(r.Archived.Rows) != 1 || !strings.Contains(r.Archived.Rows[0], "unsupported_type") {
		t.Errorf("archived rows %q", r.Archived.Rows)
	}
	if len(r.Leaks) != 0 {
		t.Errorf("leaks %q", r.Leaks)
	}
}
