package upload_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// recordingLimiter counts what a Client asks of its Limiter; Wait answers
// err, or blocks until its context ends when block is set.
type recordingLimiter struct {
	mu        sync.Mutex
	waits     int
	throttled int
	err       error
	block     bool
}

func (l *recordingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	l.waits++
	err, block := l.err, l.block
	l.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (l *recordingLimiter) Throttled(context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttled++
}

func (l *recordingLimiter) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits, l.throttled
}

// A Client asks its Limiter before every upload, in both protocols, and
// reports the gateway's throttled answers (40005, v3 HTTP 429) to it, and
// nothing else. (JSON calls: TestLimiterPacesJSONCalls.)
func TestLimiterPacesUploads(t *testing.T) {
	t.Parallel()
	for _, p := range []upload.Protocol{upload.Classic, upload.V3} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{})
			lim := &recordingLimiter{}
			c := emulatorClient(t, srv, func(cfg *upload.Config) { cfg.Limiter = lim; cfg.Protocol = p })
			ctx := context.Background()
			jpg := mediagen.Sample("jpg", 1)
			if _, err := c.Upload(ctx, request(jpg, "jpg", "paced")); err != nil {
				t.Fatal(err)
			}
			if err := srv.Faults().Next(alipaytest.FaultThrottled, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Upload(ctx, request(jpg, "jpg", "throttled")); upload.Classify(err) != upload.Throttled {
				t.Fatalf("err = %v, want throttled", err)
			}
			// An upload the client refuses before sending asks for no slot.
			if _, err := c.Upload(ctx, upload.Request{Content: nil, Size: 1, ImageType: "jpg", ImageName: "x"}); !errors.Is(err, upload.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if waits, throttled := lim.counts(); waits != 2 || throttled != 1 {
				t.Errorf("Wait called %d times, Throttled %d; want 2 and 1", waits, throttled)
			}
		})
	}
}

// A Limiter's refusal sends nothing: no slot in time is throttled (and not
// reported back as the gateway's), any other failure retryable.
func TestLimiterRefusalSendsNothing(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	for _, tc := range []struct {
		err   error
		class upload.Class
	}{
		{upload.ErrRateLimit, upload.Throttled},
		{errors.New("redis: connection refused"), upload.Retryable},
		{context.DeadlineExceeded, upload.Retryable},
	} {
		lim := &recordingLimiter{err: tc.err}
		c := emulatorClient(t, srv, func(cfg *upload.Config) { cfg.Limiter = lim })
		_, err := c.Upload(context.Background(), request(mediagen.Sample("jpg", 1), "jpg", "refused"))
		if upload.Classify(err) != tc.class || !errors.Is(err, tc.err) {
			t.Errorf("limiter error %v: upload error %v, class %v, want %v", tc.err, err, upload.Classify(err), tc.class)
		}
		if _, throttled := lim.counts(); throttled != 0 {
			t.Errorf("limiter error %v: reported as a throttled answer", tc.err)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("the gateway got %d requests, want none", n)
	}
}

// WithWaitContext: a caller sending under a context that is never
// cancelled stops waiting for a slot when its own context ends.
func TestWithWaitContext(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	lim := &recordingLimiter{block: true}
	c := emulatorClient(t, srv, func(cfg *upload.Config) { cfg.Limiter = lim })
	task, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	ctx := upload.WithWaitContext(context.WithoutCancel(task), task)
	_, err := c.Upload(ctx, request(mediagen.Sample("jpg", 1), "jpg", "never"))
	if !errors.Is(err, context.Canceled) || upload.Classify(err) != upload.Retryable {
		t.Errorf("err = %v, want a retryable context.Canceled", err)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("the gateway got %d requests, want none", n)
	}
}
