package worker

import (
	"strings"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// reasonObserver remembers the reason of every attempt.
type reasonObserver struct {
	mu      sync.Mutex
	reasons []string
}

func (o *reasonObserver) Observe(a tasks.Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reasons = append(o.reasons, string(a.Outcome)+" "+a.Reason)
}

func (o *reasonObserver) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.reasons, "; ")
}

func TestUnsignedRefusals(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testUnsignedRefusals)
}

// testUnsignedRefusals: an unsigned refusal of the token (which anything on
// the path could forge) is retried, and archived only when the budget is
// spent, saying "unsigned"; an unsigned "unknown app_id", which Alipay
// cannot sign, is archived at once. Before, both were trusted and archived
// at once.
func testUnsignedRefusals(t *testing.T, proto upload.Protocol) {
	obs := &reasonObserver{}
	e := startEnv(t, envOptions{protocol: proto,
		gateway: alipaytest.Config{AppAuthTokens: []string{"202401BBtheonlyvalidtoken"},
			LegacyErrors: []string{alipaytest.SubInvalidAppAuthToken, alipaytest.SubInvalidAppID}},
		config: func(c *Config) { c.Observer = obs }})
	p := payloadFor(t, e.sample(t, "photo.jpg"))
	p.Version, p.AppAuthToken = tasks.PayloadVersion1, "202401BBsomeothertoken" // version 1 jobs still run
	info := e.wait(t, e.enqueue(t, p, asynq.MaxRetry(1)))
	code := "20001"
	if proto == upload.V3 {
		code = "invalid-app-auth-token"
	}
	if info.State != asynq.TaskStateArchived || info.Retried != 1 || !strings.Contains(info.LastErr, "unsigned") {
		t.Errorf("forged token refusal: %s; want retried once, then archived saying unsigned", describe(info))
	}
	want := "retry alipay_" + code + "_unsigned; retry alipay_" + code + "_unsigned"
	if got := obs.String(); got != want {
		t.Errorf("observer saw %q, want %q", got, want)
	}

	// The same worker with an app_id the gateway does not know: Alipay
	// cannot sign that answer, so it is final.
	e.stopWorker(t)
	e.cfg.AppID = "2021999999999999"
	e.startWorker(t)
	obs.mu.Lock()
	obs.reasons = nil
	obs.mu.Unlock()
	q := payloadFor(t, e.sample(t, "photo.png"))
	info = e.wait(t, e.enqueue(t, q, asynq.MaxRetry(3)))
	if info.State != asynq.TaskStateArchived || info.Retried != 0 || !strings.Contains(info.LastErr, "unsigned") || !strings.Contains(info.LastErr, "invalid-app-id") {
		t.Errorf("unknown app_id: %s; want archived at once, saying unsigned", describe(info))
	}
}
