package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
)

// v3Config is testConfig speaking v3, with nonces 000000000001,
// 000000000002, ... so that requests are reproducible.
func v3Config(t testing.TB, g *gateway) Config {
	cfg := testConfig(t, g)
	cfg.Protocol = V3
	var n atomic.Int64
	cfg.Nonce = func() string { return fmt.Sprintf("5f0c6a1e-7d2b-4c3a-9e8f-%012d", n.Add(1)) }
	return cfg
}

// The known answer of a v3 upload: a fixed key (testdata/app_private_key.pem),
// clock and nonce give this exact Authorization header. The signatures were
// computed independently with
//
//	printf '%s' "$content" | openssl dgst -sha256 -sign testdata/app_private_key.pem | base64 -w0
//
// where $content is the string to sign shown in each case (see also
// sign/testdata/README.md).
func TestV3UploadKnownAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		certMode    bool
		req         func() Request
		wantData    string
		wantContent string
		wantSign    string
	}{
		{
			name: "public key mode, token and pid",
			req: func() Request {
				r := testRequest("门店照片.jpg")
				r.ImagePID = "2088000000000001"
				r.AppAuthToken = "202405BBtesttoken01"
				return r
			},
			wantData: `{"image_type":"jpg","image_name":"门店照片.jpg","image_pid":"2088000000000001"}`,
			wantContent: "app_id=2021000000000001,nonce=5f0c6a1e-7d2b-4c3a-9e8f-000000000001,timestamp=1714536000000\n" +
				"POST\n/v3/alipay/offline/material/image/upload\n" +
				`{"image_type":"jpg","image_name":"门店照片.jpg","image_pid":"2088000000000001"}` + "\n" +
				"202405BBtesttoken01\n",
			wantSign: "TSMWZ7Spf1K0ZgZg1t9aqjDGeVIeufJrJof5xLzSlRxhvFW17pvn2r7ct/hVKLlH/oEBQsAXjFlDU3KxkrLJ6reYXW8p0CwmAAswugAi4R+JPC1Z1oNc//mnEhh6h3MtebpPDpeqwPbe93r3aYmcfswMDDsdN1EN2Gx6Jdk+G1WCgNNYXu1rpXC6KaP4R1S/UMmHilb5G+QB4IhC7nkXN2C0yApWCGhYcw6/4Gm7OJ1aCsv945iwCn8YuiW4xo0IWx36sneCNym6KSkGa+jLMrxJpevUJiFYNbxdteaH1AM5BIJdCZWX+OmeCpfcMdymrex9LZTFIYba4BrDr0nhcg==",
		},
		{
			name:     "certificate mode, no token",
			certMode: true,
			req: func() Request {
				r := testRequest("shop-front")
				r.ImageType = "png"
				return r
			},
			wantData: `{"image_type":"png","image_name":"shop-front"}`,
			wantContent: "app_id=2021000000000001,app_cert_sn=3e1c5f0b9d4a2e8f7c6b5a4d3e2f1a0b,nonce=5f0c6a1e-7d2b-4c3a-9e8f-000000000001,timestamp=1714536000000\n" +
				"POST\n/v3/alipay/offline/material/image/upload\n" +
				`{"image_type":"png","image_name":"shop-front"}` + "\n",
			wantSign: "OO0KjHdpSNBYOx8EhWOU9IpX9Qo/nGZx4jEr8moO7EuSUoLGW36FOmFG5lT5OlCaw01xna+RokvMsqXmUc3/jB1OjkgO+3u+4xC2+ZH7K0/KXnQ9gYopqJn0RFgAsiBgwaciIj1xqTdE2hnvmfSZ9zTomGwrjCRhanxQgbd4qe0uSXW+j50ZK5ALp45dPh7zXy6U5T/oMJyP2+lxA5q/FpPAkVeJBWQ6Nunj/IFQ6sLe8W0CA66R/Ol3pItd2e7WbLWKM7i1w/zANkHx0VsGfGcArLFUtl3PQecrB00uT+giC4Mk8ZX9BeeXFyexTFsXcZXQn1kxN3aptw+JrdTw4g==",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			cfg := v3Config(t, g)
			if tc.certMode {
				cfg.AppCertSN, cfg.AlipayRootCertSN = "3e1c5f0b9d4a2e8f7c6b5a4d3e2f1a0b", "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
			}
			c := newClient(t, cfg)
			req := tc.req()
			res, err := c.Upload(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if want := "img-" + req.ImageName; res.ImageID != want || res.TraceID != testTrace ||
				res.ImageURL != "http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=abc&zoom=original" {
				t.Errorf("result %+v", res)
			}
			r := g.received()[0]
			if r.RequestURI != alipayapi.V3UploadPath || len(r.Query) != 0 {
				t.Errorf("request URI %q, want %q and no query", r.RequestURI, alipayapi.V3UploadPath)
			}
			if r.SignContent != tc.wantContent {
				t.Errorf("the gateway signs %q\nwant            %q", r.SignContent, tc.wantContent)
			}
			auth := strings.TrimSuffix(strings.SplitN(tc.wantContent, "\n", 2)[0], "\n")
			if got, want := r.Header.Get("Authorization"), "ALIPAY-SHA256withRSA "+auth+",sign="+tc.wantSign; got != want {
				t.Errorf("Authorization = %s\nwant            %s", got, want)
			}
			if r.SignErr != nil {
				t.Errorf("request signature: %v", r.SignErr)
			}
			if got := r.Header.Get("Alipay-Request-Id"); got != "5f0c6a1e-7d2b-4c3a-9e8f-000000000002" {
				t.Errorf("alipay-request-id = %q", got)
			}
			if got := r.Header.Get("Alipay-App-Auth-Token"); got != req.AppAuthToken {
				t.Errorf("alipay-app-auth-token = %q, want %q", got, req.AppAuthToken)
			}
			if got, want := r.Header.Get("Alipay-Root-Cert-Sn"), cfg.AlipayRootCertSN; got != want {
				t.Errorf("alipay-root-cert-sn = %q, want %q", got, want)
			}
			// The body: a data part of JSON, then the file, streamed under
			// an exact Content-Length.
			if len(r.Fields) != 1 || r.Fields["data"] != tc.wantData || r.PartTypes["data"] != "application/json" {
				t.Errorf("text parts %v (types %v), want only data = %s as application/json", r.Fields, r.PartTypes, tc.wantData)
			}
			if r.TransferEncoding != nil || r.ContentLength <= 0 || r.ContentLength != r.BodyBytes {
				t.Errorf("Transfer-Encoding %v, Content-Length %d, body bytes %d", r.TransferEncoding, r.ContentLength, r.BodyBytes)
			}
			if r.Size != int64(len(testContent)) || r.Sum != testContentSum || r.FileType != contentType(&req) {
				t.Errorf("file arrived with %d bytes, sum match %v, type %q", r.Size, r.Sum == testContentSum, r.FileType)
			}
		})
	}
}

// The known answer of a v3 answer's verification: this body, timestamp and
// nonce were signed with testdata/alipay_private_key.pem by
//
//	printf '%s' "$timestamp\n$nonce\n$body\n" | openssl dgst -sha256 -sign testdata/alipay_private_key.pem | base64 -w0
//
// A one-byte change anywhere is refused, and so is, in certificate mode, an
// answer naming another Alipay certificate.
func TestV3AnswerKnownAnswer(t *testing.T) {
	t.Parallel()
	const (
		body      = `{"image_id":"A8kWq3ZpL0mN5xR7tY2uV4bC6dE9fG1h","image_url":"http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=A8kWq3&zoom=original"}`
		timestamp = "1714536000456"
		nonce     = "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09"
		signature = "MJodmfjjkNNjRBVEnDr+Ep0ajfskvDCZIQYn3inp/qHoCp8V9dbdRghqG6+JSrcvQyB37H/rQCYuFDbLKc3TyTiFMiXdlfIxRLrlAYZxxL0cUw39W7dSUpA8oagyGPCrG7bm9CbbPwTBDQoiP1FHGNi7bAU04N+nB71JHDjx235QGJaMo35/bqSWC0Ng7GC7F7wznrvdj6qV5GMRDws13KvbXa/a6IozCW60r3pEsCxcgdeSdbAP6FCopzfjf4THX2XmWyxQNHyEz7bbqoW/fWHZ/QmuCHBxKldXv2PTdg+ZJbx1IwDu2RiyhOrToWlSiA9vDtxO/3qJn1zOLCArWw=="
		alipaySN  = "9b1c3a27d1f0e2b4c5a6978812345678"
	)
	tamper := func(s string) string { return s[:20] + string(s[20]^1) + s[21:] }
	answer := func(body, ts, nonce, sig, sn string) func(http.ResponseWriter, *received) {
		return func(w http.ResponseWriter, _ *received) {
			h := w.Header()
			for k, v := range map[string]string{"alipay-timestamp": ts, "alipay-nonce": nonce, "alipay-signature": sig, "alipay-sn": sn} {
				if v != "" {
					h.Set(k, v)
				}
			}
			io.WriteString(w, body)
		}
	}
	for _, tc := range []struct {
		name         string
		alipayCertSN string // configured
		answer       func(http.ResponseWriter, *received)
		ok           bool
	}{
		{"public key mode", "", answer(body, timestamp, nonce, signature, ""), true},
		{"certificate mode, alipay-sn matches", alipaySN, answer(body, timestamp, nonce, signature, alipaySN), true},
		{"certificate mode, no alipay-sn", alipaySN, answer(body, timestamp, nonce, signature, ""), true},
		{"certificate mode, other alipay-sn", alipaySN, answer(body, timestamp, nonce, signature, "0000000000000000000000000000beef"), false},
		{"body tampered by one byte", "", answer(tamper(body), timestamp, nonce, signature, ""), false},
		{"timestamp tampered", "", answer(body, "1714536000457", nonce, signature, ""), false},
		{"nonce tampered", "", answer(body, timestamp, tamper(nonce), signature, ""), false},
		{"signature tampered", "", answer(body, timestamp, nonce, tamper(signature), ""), false},
		{"unsigned", "", answer(body, timestamp, nonce, "", ""), false},
		{"no timestamp", "", answer(body, "", nonce, signature, ""), false},
		{"no nonce", "", answer(body, timestamp, "", signature, ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			g.setAnswer(tc.answer)
			cfg := v3Config(t, g)
			cfg.AlipayCertSN = tc.alipayCertSN
			res, err := newClient(t, cfg).Upload(context.Background(), testRequest("kat"))
			if tc.ok {
				if err != nil || res.ImageID != "A8kWq3ZpL0mN5xR7tY2uV4bC6dE9fG1h" ||
					res.ImageURL != "http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=A8kWq3&zoom=original" {
					t.Fatalf("Upload = %+v, %v", res, err)
				}
				return
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
			assertClass(t, err, Permanent)
			if traceOf(err) != testTrace {
				t.Errorf("trace id %q", traceOf(err))
			}
		})
	}
}

// v3 errors take the classic error classes: 5xx retryable, 429 throttled
// like 40005, other 4xx permanent; an invalid or expired app_auth_token is
// recognisable as such in both protocols.
func TestV3ErrorClasses(t *testing.T) {
	t.Parallel()
	type want struct {
		class  Class
		api    bool // an *APIError (else an *HTTPError)
		token  bool
		code   string
		status int
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		signed bool
		want   want
	}{
		{"invalid parameter", 400, `{"code":"invalid-parameter","message":"参数无效"}`, true, want{Permanent, true, false, "invalid-parameter", 400}},
		// Unsigned refusals may be forged: transient, but for the codes
		// Alipay cannot sign for (UnsignedFinalSubCodes).
		{"invalid signature, unsigned", 401, `{"code":"invalid-signature","message":"验签出错"}`, false, want{Retryable, true, false, "invalid-signature", 401}},
		{"invalid app_auth_token, unsigned", 401, `{"code":"invalid-app-auth-token","message":"无效的应用授权令牌"}`, false, want{Retryable, true, false, "invalid-app-auth-token", 401}},
		{"invalid app_id, unsigned", 400, `{"code":"invalid-app-id","message":"无效的AppID参数"}`, false, want{Permanent, true, false, "invalid-app-id", 400}},
		{"missing app_id, unsigned", 400, `{"code":"missing-app-id","message":"缺少AppID参数"}`, false, want{Permanent, true, false, "missing-app-id", 400}},
		{"invalid app_auth_token", 401, `{"code":"invalid-app-auth-token","message":"无效的应用授权令牌"}`, true, want{Permanent, true, true, "invalid-app-auth-token", 401}},
		{"expired app_auth_token", 401, `{"code":"app-auth-token-time-out","message":"应用授权令牌已过期"}`, true, want{Permanent, true, true, "app-auth-token-time-out", 401}},
		{"merchant has not authorized the API", 403, `{"code":"invalid-app-auth-token-no-api","message":"商户未授权当前接口"}`, true, want{Permanent, true, false, "invalid-app-auth-token-no-api", 403}},
		{"throttled by status", 429, `{"code":"app-call-limited","message":"应用调用频率超限"}`, true, want{Throttled, true, false, "app-call-limited", 429}},
		{"throttled by code", 400, `{"code":"method-call-limited","message":"方法调用频率超限"}`, true, want{Throttled, true, false, "method-call-limited", 400}},
		{"unknown error", 500, `{"code":"unknow-error","message":"系统繁忙"}`, true, want{Retryable, true, false, "unknow-error", 500}},
		{"bad gateway page", 502, `<html><body>502 Bad Gateway</body></html>`, false, want{Retryable, false, false, "", 502}},
		{"service unavailable, empty", 503, ``, false, want{Retryable, false, false, "", 503}},
		{"not found page", 404, `<html>404</html>`, false, want{Permanent, false, false, "", 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			g.setAnswer(func(w http.ResponseWriter, _ *received) { g.writeV3(w, tc.status, tc.body, tc.signed) })
			_, err := newClient(t, v3Config(t, g)).Upload(context.Background(), testRequest("err"))
			assertClass(t, err, tc.want.class)
			if got := errors.Is(err, ErrAppAuthToken); got != tc.want.token {
				t.Errorf("errors.Is(%v, ErrAppAuthToken) = %v", err, got)
			}
			var api *APIError
			var herr *HTTPError
			switch {
			case tc.want.api && errors.As(err, &api):
				if api.Code != tc.want.code || api.StatusCode != tc.want.status || api.TraceID != testTrace || api.Msg == "" ||
					api.Unsigned == tc.signed || strings.Contains(err.Error(), "unsigned") == tc.signed {
					t.Errorf("APIError %+v", api)
				}
			case !tc.want.api && errors.As(err, &herr):
				if herr.StatusCode != tc.want.status || herr.TraceID != testTrace {
					t.Errorf("HTTPError %+v", herr)
				}
			default:
				t.Errorf("err = %#v, want an APIError: %v", err, tc.want.api)
			}
		})
	}

	// A signed error whose signature does not match is a forgery, whatever
	// it says.
	g := newGateway(t)
	g.setAnswer(func(w http.ResponseWriter, _ *received) {
		w.Header().Set("alipay-timestamp", "1")
		w.Header().Set("alipay-nonce", "n")
		w.Header().Set("alipay-signature", signWith(t, g.key, "other content"))
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"code":"app-call-limited","message":"slow down"}`)
	})
	_, err := newClient(t, v3Config(t, g)).Upload(context.Background(), testRequest("forged"))
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged error: %v, want ErrBadSignature", err)
	}

	// Classic 20001 with a token sub_code is the same kind of problem.
	for sub, token := range map[string]bool{"aop.invalid-app-auth-token": true, "aop.app-auth-token-time-out": true, "aop.invalid-app-auth-token-no-api": false} {
		err := error(&APIError{Code: "20001", Msg: "Insufficient Token Permissions", SubCode: sub})
		if errors.Is(err, ErrAppAuthToken) != token {
			t.Errorf("classic 20001 %s: errors.Is ErrAppAuthToken = %v", sub, !token)
		}
		assertClass(t, err, Permanent)
	}
}

// An upload over v3 gets the same result as over the classic gateway.
func TestV3SameResultAsClassic(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	classic, err := newClient(t, testConfig(t, g)).Upload(context.Background(), testRequest("same"))
	if err != nil {
		t.Fatal(err)
	}
	v3, err := newClient(t, v3Config(t, g)).Upload(context.Background(), testRequest("same"))
	if err != nil {
		t.Fatal(err)
	}
	if classic != v3 {
		t.Errorf("classic %+v, v3 %+v", classic, v3)
	}
	reqs := g.received()
	if len(reqs) != 2 || reqs[0].V3 || !reqs[1].V3 {
		t.Fatalf("requests: %d", len(reqs))
	}
	if reqs[0].Size != reqs[1].Size || reqs[0].Sum != reqs[1].Sum || reqs[0].FileName != reqs[1].FileName || reqs[0].FileType != reqs[1].FileType {
		t.Errorf("the file went out differently")
	}
}

func TestV3Endpoint(t *testing.T) {
	t.Parallel()
	app, alipay, _ := keys(t)
	for _, tc := range []struct {
		gateway, endpoint, want string
	}{
		{"", "", ProductionV3Endpoint + alipayapi.V3UploadPath},
		{SandboxGateway, "", SandboxV3Endpoint + alipayapi.V3UploadPath},
		{"http://127.0.0.1:9090/gateway.do", "", "http://127.0.0.1:9090" + alipayapi.V3UploadPath},
		{"", "https://proxy.example.com/alipay/", "https://proxy.example.com/alipay" + alipayapi.V3UploadPath},
	} {
		c, err := New(Config{Protocol: V3, GatewayURL: tc.gateway, V3Endpoint: tc.endpoint, AppID: testAppID,
			Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.v3Request(http.Header{}, alipayapi.V3UploadPath, "{}", "", testNow)
		if err != nil || u != tc.want {
			t.Errorf("gateway %q, endpoint %q: URL %q, %v; want %q", tc.gateway, tc.endpoint, u, err, tc.want)
		}
	}
	for _, bad := range []string{"ftp://host", "https://", "https://host/?q=1", "https://user@host"} {
		if _, err := New(Config{Protocol: V3, V3Endpoint: bad, AppID: testAppID, Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey}); err == nil {
			t.Errorf("V3Endpoint %q accepted", bad)
		}
	}
	if _, err := New(Config{Protocol: "v4", AppID: testAppID, Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey}); !errors.Is(err, ErrProtocol) {
		t.Errorf("Protocol v4: %v", err)
	}
	for in, want := range map[string]Protocol{"": Classic, "classic": Classic, " V3 ": V3} {
		if p, err := ParseProtocol(in); p != want || err != nil {
			t.Errorf("ParseProtocol(%q) = %q, %v", in, p, err)
		}
	}
}
