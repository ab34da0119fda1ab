package worker

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/secret"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// sentSecrets is a transport that remembers the sign and app_auth_token of
// every request it sends.
type sentSecrets struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (s *sentSecrets) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	for _, k := range []string{"sign", "app_auth_token"} {
		if v := r.URL.Query().Get(k); v != "" {
			s.seen = append(s.seen, v)
		}
	}
	if _, _, sig, err := sign.ParseV3Authorization(r.Header.Get("Authorization")); err == nil {
		s.seen = append(s.seen, sig)
	}
	s.mu.Unlock()
	return s.base.RoundTrip(r)
}

func (s *sentSecrets) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func TestEchoed502LeaksNoSecret(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testEchoed502LeaksNoSecret)
}

// testEchoed502LeaksNoSecret: a proxy answers 502 with the request's URL and
// headers echoed (decoded and HTML-escaped, as sent, in JSON). A token
// holding '+', '/', '&' and '=' and the request's sign appear in no
// encoding, not even a prefix of the sign, in the task's last error in
// Redis or in the worker's logs at debug level.
func testEchoed502LeaksNoSecret(t *testing.T, proto upload.Protocol) {
	const token = "202401BB+Secret/Merchant&Tok=en+42"
	rec := &sentSecrets{base: http.DefaultTransport}
	e := startEnv(t, envOptions{protocol: proto, config: func(c *Config) {
		c.HTTPClient = &http.Client{Transport: rec}
	}})
	if err := e.gw.Faults().Next(alipaytest.FaultEcho502, 10); err != nil {
		t.Fatal(err)
	}
	p := payloadFor(t, e.sample(t, "photo.png"))
	p.Version, p.AppAuthToken = tasks.PayloadVersion1, token // version 1 jobs still run
	info := e.wait(t, e.enqueue(t, p, asynq.MaxRetry(1)))
	if info.State != asynq.TaskStateArchived || !strings.Contains(info.LastErr, "502") {
		t.Fatalf("%s, want archived after the 502s", describe(info))
	}
	sent := rec.all()
	if len(sent) < 2 {
		t.Fatalf("recorded secrets %q, want the sign of each attempt", sent)
	}
	sent = append(sent, token)
	for where, text := range map[string]string{"last error in Redis": info.LastErr, "logs": e.logs.String()} {
		for _, s := range sent {
			forms := append(secret.Encodings(s), s[:16], s[len(s)-12:], url.QueryEscape(s)[:16])
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("%s holds %q (a form of %q)", where, f, s)
				}
			}
		}
	}
	t.Logf("last error: %s", info.LastErr)
}
