package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/secret"
	"github.com/storemedia/alipay-media-worker/sign"
)

// TestEchoedSecretsLeaveNoTrace: a gateway or proxy that echoes the
// request (URL and secret-bearing headers) in a failed answer, in each
// encoding such pages use and at the very start of the body, does not put
// the sign or an app_auth_token holding '+', '/', '&' and '=' into the
// error or the client's debug log, on both protocols, for an HTTP error
// and for a v3 error message, from Upload and from a JSONCall. Before, the
// decoded HTML-escaped form passed ScrubText (its value stops at '&' or ends
// up as "&amp;..."), and the debug log printed every form in clear.
func TestEchoedSecretsLeaveNoTrace(t *testing.T) {
	t.Parallel()
	const token = "202401BB+tok/en&x=y+secret"
	encodings := map[string]func(string) string{
		"decoded":          func(s string) string { return s },
		"query-escaped":    url.QueryEscape,
		"path-escaped":     url.PathEscape,
		"html":             html.EscapeString,
		"html-template":    func(s string) string { return strings.ReplaceAll(html.EscapeString(s), "+", "&#43;") },
		"json":             func(s string) string { b, _ := json.Marshal(s); return string(b) },
		"json-slashes":     func(s string) string { b, _ := json.Marshal(s); return strings.ReplaceAll(string(b), "/", `\/`) },
		"twice-escaped":    func(s string) string { return url.QueryEscape(url.QueryEscape(s)) },
		"lower-hex-escape": func(s string) string { return strings.ToLower(url.QueryEscape(s)) },
	}
	app, alipay, _ := keys(t)
	for _, proto := range []Protocol{Classic, V3} {
		for _, status := range []int{http.StatusBadGateway, http.StatusBadRequest} {
			if proto == Classic && status != http.StatusBadGateway {
				continue // classic errors other than HTTP's come signed in a 200
			}
			for name, enc := range encodings {
				var (
					mu      sync.Mutex
					secrets []string
				)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					decoded, _ := url.QueryUnescape(r.URL.RequestURI())
					mu.Lock()
					secrets = append(secrets, r.URL.Query().Get("sign"))
					if _, _, sig, err := sign.ParseV3Authorization(r.Header.Get("Authorization")); err == nil {
						secrets = append(secrets, sig)
					}
					mu.Unlock()
					echo := enc(r.Header.Get("Alipay-App-Auth-Token") + " " + decoded + " " + r.Header.Get("Authorization"))
					if status == http.StatusBadRequest {
						b, _ := json.Marshal(map[string]string{"code": "invalid-parameter", "message": echo})
						w.WriteHeader(status)
						w.Write(b)
						return
					}
					w.WriteHeader(status)
					w.Write([]byte(echo))
				}))
				var logs bytes.Buffer
				c := newClient(t, Config{
					Protocol: proto, GatewayURL: srv.URL + "/gateway.do", AppID: testAppID,
					Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey,
					Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				})
				req := testRequest("echo")
				req.AppAuthToken = token
				_, err := c.Upload(context.Background(), req)
				_, jerr := tokenApp.Do(context.Background(), c, token, tokenRequest{GrantType: "refresh_token"})
				srv.Close()
				if err == nil || jerr == nil {
					t.Fatalf("%s %s %d: no error: %v, %v", proto, name, status, err, jerr)
				}
				mu.Lock()
				all := append(secrets, token)
				mu.Unlock()
				for _, s := range all {
					if s == "" {
						continue
					}
					forms := append(secret.Encodings(s), s[:12], url.QueryEscape(s)[:12])
					for _, f := range forms {
						for where, text := range map[string]string{"error": err.Error(), "JSONCall error": jerr.Error(), "debug log": logs.String()} {
							if strings.Contains(text, f) {
								t.Errorf("%s %s %d: %s holds %q (a form of a secret): %s", proto, name, status, where, f, text)
							}
						}
					}
				}
			}
		}
	}
}
