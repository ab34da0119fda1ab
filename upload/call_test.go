package upload

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
)

type tokenRequest struct {
	GrantType string `json:"grant_type"`
	Code      string `json:"code,omitempty"`
}

type tokenAnswer struct {
	UserID       string `json:"user_id"`
	AppAuthToken string `json:"app_auth_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

var tokenApp = JSONCall[tokenRequest, tokenAnswer]{
	Method: "alipay.open.auth.token.app",
	Path:   "/v3/alipay/open/auth/token/app",
}

// One JSONCall, both protocols: the request is signed as each protocol
// wants it, the answer verified and decoded into the same struct.
func TestJSONCallBothProtocols(t *testing.T) {
	t.Parallel()
	const answerFields = `"user_id":"2088102150527498","app_auth_token":"202405BB0f0e1d2c3b4a","expires_in":31536000`
	want := tokenAnswer{UserID: "2088102150527498", AppAuthToken: "202405BB0f0e1d2c3b4a", ExpiresIn: 31536000}
	in := tokenRequest{GrantType: "authorization_code", Code: "4b203fe6c11548bcabd8da5bb087a83b"}
	const wantJSON = `{"grant_type":"authorization_code","code":"4b203fe6c11548bcabd8da5bb087a83b"}`
	for _, p := range []Protocol{Classic, V3} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			g.setAnswer(func(w http.ResponseWriter, r *received) {
				if r.V3 {
					g.writeV3(w, http.StatusOK, `{`+answerFields+`}`, true)
					return
				}
				g.writeNode(w, "alipay_open_auth_token_app_response", `{"code":"10000","msg":"Success",`+answerFields+`}`, true)
			})
			cfg := v3Config(t, g)
			cfg.Protocol = p
			got, err := tokenApp.Do(context.Background(), newClient(t, cfg), "202405BBmerchant", in)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("answer %+v, want %+v", got, want)
			}
			r := g.received()[0]
			if r.SignErr != nil {
				t.Errorf("request signature: %v (signed %q)", r.SignErr, r.SignContent)
			}
			if p == V3 {
				if r.RequestURI != tokenApp.Path || r.Body != wantJSON || r.Header.Get("Content-Type") != "application/json" ||
					r.Header.Get("Alipay-App-Auth-Token") != "202405BBmerchant" {
					t.Errorf("v3 request %s %q %q", r.RequestURI, r.Body, r.Header)
				}
				return
			}
			if r.Query.Get("method") != tokenApp.Method || r.Query.Get("app_auth_token") != "202405BBmerchant" || r.Query.Has("biz_content") {
				t.Errorf("classic query %v", r.Query)
			}
			if form, _ := url.ParseQuery(r.Body); len(form) != 1 || form.Get("biz_content") != wantJSON {
				t.Errorf("classic body %q, want biz_content=%s only", r.Body, wantJSON)
			}
		})
	}
}

// JSON calls fail the way uploads do, with the same classes.
func TestJSONCallErrors(t *testing.T) {
	t.Parallel()
	const node = "alipay_open_auth_token_app_response"
	// The gateway's answer: a classic one in its node, or a v3 one with its
	// HTTP status; signed or not.
	classicAnswer := func(in, body string, signed bool) func(*gateway, http.ResponseWriter) {
		return func(g *gateway, w http.ResponseWriter) { g.writeNode(w, in, body, signed) }
	}
	v3Answer := func(status int, body string, signed bool) func(*gateway, http.ResponseWriter) {
		return func(g *gateway, w http.ResponseWriter) { g.writeV3(w, status, body, signed) }
	}
	for _, tc := range []struct {
		name     string
		protocol Protocol
		answer   func(*gateway, http.ResponseWriter)
		class    Class
		token    bool
		sentinel error
	}{
		{"classic 20001 token", Classic, classicAnswer(node, `{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.app-auth-token-time-out","sub_msg":"应用授权令牌已过期"}`, true), Permanent, true, nil},
		{"classic 40005", Classic, classicAnswer(node, `{"code":"40005","msg":"Call Limited","sub_code":"isv.app-call-limited"}`, true), Throttled, false, nil},
		{"classic code-invalid", Classic, classicAnswer("error_response", `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid"}`, true), Permanent, false, nil},
		// Unsigned, the same refusal may be forged: transient (item 13).
		{"classic code-invalid, unsigned", Classic, classicAnswer("error_response", `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid"}`, false), Retryable, false, nil},
		{"classic unknown app_id, unsigned", Classic, classicAnswer("error_response", `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}`, false), Permanent, false, nil},
		{"classic unsigned success", Classic, classicAnswer(node, `{"code":"10000","msg":"Success","user_id":"1"}`, false), Permanent, false, ErrBadSignature},
		{"classic wrong node", Classic, classicAnswer(alipayapi.ResponseNode, `{"code":"10000","msg":"Success"}`, true), Permanent, false, ErrBadResponse},
		{"v3 token", V3, v3Answer(http.StatusUnauthorized, `{"code":"invalid-app-auth-token","message":"无效的应用授权令牌"}`, true), Permanent, true, nil},
		// Unsigned v3 refusals may be forged: transient, and no token
		// verdict, but for the codes Alipay cannot sign for (item 13).
		{"v3 token, unsigned", V3, v3Answer(http.StatusUnauthorized, `{"code":"invalid-app-auth-token","message":"无效的应用授权令牌"}`, false), Retryable, false, nil},
		{"v3 unknown app_id, unsigned", V3, v3Answer(http.StatusBadRequest, `{"code":"invalid-app-id","message":"无效的AppID参数"}`, false), Permanent, false, nil},
		{"classic token, unsigned", Classic, classicAnswer(node, `{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.app-auth-token-time-out"}`, false), Retryable, false, nil},
		{"v3 429", V3, v3Answer(http.StatusTooManyRequests, `{"code":"app-call-limited","message":"应用调用频率超限"}`, true), Throttled, false, nil},
		{"v3 503", V3, v3Answer(http.StatusServiceUnavailable, "busy", false), Retryable, false, nil},
		{"v3 unsigned success", V3, v3Answer(http.StatusOK, `{"user_id":"1"}`, false), Permanent, false, ErrBadSignature},
		{"v3 not JSON", V3, v3Answer(http.StatusOK, `{"user_id":`, true), Permanent, false, ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			g.setAnswer(func(w http.ResponseWriter, _ *received) { tc.answer(g, w) })
			cfg := v3Config(t, g)
			cfg.Protocol = tc.protocol
			_, err := tokenApp.Do(context.Background(), newClient(t, cfg), "tok", tokenRequest{GrantType: "refresh_token"})
			assertClass(t, err, tc.class)
			if errors.Is(err, ErrAppAuthToken) != tc.token {
				t.Errorf("errors.Is(%v, ErrAppAuthToken) = %v", err, !tc.token)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err = %v, want %v", err, tc.sentinel)
			}
		})
	}

	// Requests that cannot be sent are refused before anything goes out.
	g := newGateway(t)
	classic := newClient(t, testConfig(t, g))
	if _, err := (JSONCall[tokenRequest, tokenAnswer]{Path: "/v3/x"}).Do(context.Background(), classic, "", tokenRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("classic without Method: %v", err)
	}
	v3 := newClient(t, v3Config(t, g))
	if _, err := (JSONCall[tokenRequest, tokenAnswer]{Method: "a.b"}).Do(context.Background(), v3, "", tokenRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("v3 without Path: %v", err)
	}
	if _, err := (JSONCall[chan int, tokenAnswer]{Method: "a.b"}).Do(context.Background(), classic, "", make(chan int)); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("request that is not JSON: %v", err)
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("%d requests went out", n)
	}
}
