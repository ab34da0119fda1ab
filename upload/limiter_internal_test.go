package upload

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
)

// countingLimiter counts the calls of a Client's Limiter.
type countingLimiter struct{ waits, throttled atomic.Int32 }

func (l *countingLimiter) Wait(context.Context) error { l.waits.Add(1); return nil }
func (l *countingLimiter) Throttled(context.Context)  { l.throttled.Add(1) }

// JSON calls (token exchanges and refreshes) wait for their slot as
// uploads do, and their throttled answers are reported too.
func TestLimiterPacesJSONCalls(t *testing.T) {
	t.Parallel()
	const node = "alipay_open_auth_token_app_response"
	for _, p := range []Protocol{Classic, V3} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			throttle := atomic.Bool{}
			g.setAnswer(func(w http.ResponseWriter, r *received) {
				switch {
				case r.V3 && throttle.Load():
					g.writeV3(w, http.StatusTooManyRequests, `{"code":"app-call-limited","message":"应用调用频率超限"}`, true)
				case r.V3:
					g.writeV3(w, http.StatusOK, `{"user_id":"1"}`, true)
				case throttle.Load():
					g.writeNode(w, node, `{"code":"40005","msg":"Call Limited","sub_code":"isv.app-call-limited"}`, true)
				default:
					g.writeNode(w, node, `{"code":"10000","msg":"Success","user_id":"1"}`, true)
				}
			})
			lim := &countingLimiter{}
			cfg := v3Config(t, g)
			cfg.Protocol = p
			cfg.Limiter = lim
			c := newClient(t, cfg)
			if _, err := tokenApp.Do(context.Background(), c, "", tokenRequest{GrantType: "refresh_token"}); err != nil {
				t.Fatal(err)
			}
			throttle.Store(true)
			_, err := tokenApp.Do(context.Background(), c, "", tokenRequest{GrantType: "refresh_token"})
			assertClass(t, err, Throttled)
			if w, th := lim.waits.Load(), lim.throttled.Load(); w != 2 || th != 1 {
				t.Errorf("Wait called %d times, Throttled %d; want 2 and 1", w, th)
			}
		})
	}
}
