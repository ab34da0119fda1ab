package alipaytest_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// rawV3 is a hand-built OpenAPI v3 upload, signed as the official SDKs sign
// it, with knobs to break it.
type rawV3 struct {
	auth      sign.V3Auth
	authExtra string // appended to the auth string, signed
	scheme    string // default sign.V3Scheme
	noSign    bool
	key       *rsa.PrivateKey // default TestKeys().App
	data      *string         // the data part; nil: none
	dataType  string          // its Content-Type, default application/json
	extraPart string          // a further text part, named so
	dupData   bool
	file      []byte
	token     string
	signToken *string // the token signed, default token
	rootSN    string
	header    map[string]string
	tamper    func(*http.Request)
}

func newRawV3(typ string, file []byte) *rawV3 {
	data := `{"image_type":"` + typ + `","image_name":"v3 photo ` + typ + `"}`
	return &rawV3{
		auth: sign.V3Auth{AppID: alipaytest.TestAppID, Nonce: "8d0b6f4e-1c2a-4e5f-9a7b-3c4d5e6f7a8b", Timestamp: time.Now().UnixMilli()},
		data: &data,
		file: file,
	}
}

func (r *rawV3) build(t testing.TB, baseURL string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	text := func(name, value, ct string) {
		h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="` + name + `"`}}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, value)
	}
	data := ""
	if r.data != nil {
		data = *r.data
		ct := r.dataType
		if ct == "" {
			ct = "application/json"
		}
		text("data", data, ct)
		if r.dupData {
			text("data", data, ct)
		}
	}
	if r.extraPart != "" {
		text(r.extraPart, "x", "")
	}
	if r.file != nil {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Disposition": {`form-data; name="image_content"; filename="photo"`},
			"Content-Type":        {"application/octet-stream"},
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(r.file)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, baseURL+alipayapi.V3UploadPath, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	auth := r.auth.String() + r.authExtra
	key := r.key
	if key == nil {
		key = alipaytest.TestKeys().App
	}
	signToken := r.token
	if r.signToken != nil {
		signToken = *r.signToken
	}
	sig, err := sign.RSA2{Key: key}.Sign([]byte(sign.V3Content(auth, http.MethodPost, alipayapi.V3UploadPath, data, signToken)))
	if err != nil {
		t.Fatal(err)
	}
	scheme := r.scheme
	if scheme == "" {
		scheme = sign.V3Scheme
	}
	h := scheme + " " + auth
	if !r.noSign {
		h += ",sign=" + sig
	}
	req.Header.Set("Authorization", h)
	req.Header.Set("alipay-request-id", "req-1")
	if r.token != "" {
		req.Header.Set("alipay-app-auth-token", r.token)
	}
	if r.rootSN != "" {
		req.Header.Set("alipay-root-cert-sn", r.rootSN)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.tamper != nil {
		r.tamper(req)
	}
	return req
}

// v3Answer is a v3 answer, its signature checked.
type v3Answer struct {
	status int
	header http.Header
	body   []byte
	fields map[string]string
	verify error
}

func sendV3(t testing.TB, srv *alipaytest.Server, req *http.Request) *v3Answer {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := &v3Answer{status: resp.StatusCode, header: resp.Header}
	if a.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(a.body, &a.fields)
	content := sign.V3ResponseContent(resp.Header.Get("alipay-timestamp"), resp.Header.Get("alipay-nonce"), a.body)
	a.verify = sign.RSA2Verifier{Key: srv.PublicKey()}.Verify(content, resp.Header.Get("alipay-signature"))
	return a
}

func TestV3AcceptsEveryFormat(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{AppAuthTokens: []string{"202405BBv3"}})
	for typ, file := range samples() {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			r := newRawV3(typ, file)
			data := `{"image_type":"` + typ + `","image_name":"门店 ` + typ + `","image_pid":"2088000000000003"}`
			r.data, r.token = &data, "202405BBv3"
			a := sendV3(t, srv, r.build(t, srv.BaseURL))
			if a.status != http.StatusOK || a.verify != nil {
				t.Fatalf("answer %d %s (signature: %v)", a.status, a.body, a.verify)
			}
			if bytes.Contains(a.body, []byte(`\/`)) || a.header.Get("alipay-trace-id") == "" || a.header.Get("alipay-sn") != "" {
				t.Errorf("answer %s, headers %v", a.body, a.header)
			}
			var got *alipaytest.Upload
			for _, u := range srv.Uploads() {
				if u.ImageID == a.fields["image_id"] {
					got = &u
				}
			}
			if got == nil {
				t.Fatalf("upload %s not recorded", a.fields["image_id"])
			}
			if got.API != alipaytest.APIV3 || got.ImageURL != a.fields["image_url"] || got.ImageName != "门店 "+typ ||
				got.ImagePID != "2088000000000003" || got.AppAuthToken != "202405BBv3" || got.AppID != alipaytest.TestAppID ||
				got.Size != int64(len(file)) || got.TraceID != a.header.Get("alipay-trace-id") {
				t.Errorf("recorded %+v", *got)
			}
		})
	}
}

func TestV3Rejections(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)
	str := func(s string) *string { return &s }
	cases := []struct {
		name    string
		cfg     func(*alipaytest.Config)
		mutate  func(*rawV3)
		status  int
		subCode string
	}{
		{"no Authorization", nil, func(r *rawV3) { r.header = map[string]string{"Authorization": ""} }, 400, alipaytest.SubMissingSignature},
		{"other scheme", nil, func(r *rawV3) { r.scheme = "RSA2" }, 400, alipaytest.SubInvalidSignatureType},
		{"no sign", nil, func(r *rawV3) { r.noSign = true }, 400, alipaytest.SubMissingSignature},
		{"timestamp not a number", nil, func(r *rawV3) { r.authExtra = ",timestamp=now" }, 400, alipaytest.SubInvalidSignature},
		{"no app_id", nil, func(r *rawV3) { r.auth.AppID = "" }, 400, alipaytest.SubMissingAppID},
		{"no nonce", nil, func(r *rawV3) { r.auth.Nonce = "" }, 400, alipaytest.SubMissingParameter},
		{"other app_id", nil, func(r *rawV3) { r.auth.AppID = "2021000000000999" }, 400, alipaytest.SubInvalidAppID},
		{"timestamp an hour off", nil, func(r *rawV3) { r.auth.Timestamp -= time.Hour.Milliseconds() }, 400, alipaytest.SubInvalidTimestamp},
		{"timestamp in seconds", nil, func(r *rawV3) { r.auth.Timestamp /= 1000 }, 400, alipaytest.SubInvalidTimestamp},
		{"app_cert_sn in public key mode", nil, func(r *rawV3) { r.auth.AppCertSN = "abc" }, 400, alipaytest.SubAppCertNotExist},
		{"signed by another key", nil, func(r *rawV3) { r.key = alipaytest.TestKeys().Gateway }, 400, alipaytest.SubInvalidSignature},
		{"data changed after signing", nil, func(r *rawV3) {
			r.tamper = func(req *http.Request) {
				b, _ := io.ReadAll(req.Body)
				req.Body = io.NopCloser(bytes.NewReader(bytes.Replace(b, []byte(`v3 photo`), []byte(`v3 phot0`), 1)))
			}
		}, 400, alipaytest.SubInvalidSignature},
		{"token not signed", nil, func(r *rawV3) { r.token, r.signToken = "202405BBtok", str("") }, 400, alipaytest.SubInvalidSignature},
		{"other token signed", nil, func(r *rawV3) { r.token, r.signToken = "202405BBtok", str("202405BBother") }, 400, alipaytest.SubInvalidSignature},
		{"unknown token", func(c *alipaytest.Config) { c.AppAuthTokens = []string{"good"} }, func(r *rawV3) { r.token = "bad" }, 401, alipaytest.SubInvalidAppAuthToken},
		{"no data part", nil, func(r *rawV3) { r.data = nil }, 400, alipaytest.SubMissingParameter},
		{"data not JSON", nil, func(r *rawV3) { r.data = str(`image_type=jpg`) }, 400, alipaytest.SubInvalidParameter},
		{"data field not a string", nil, func(r *rawV3) { r.data = str(`{"image_type":"jpg","image_name":7}`) }, 400, alipaytest.SubInvalidParameter},
		{"data part twice", nil, func(r *rawV3) { r.dupData = true }, 400, alipaytest.SubInvalidParameter},
		{"fields as form parts", nil, func(r *rawV3) { r.extraPart = "image_type" }, 400, alipaytest.SubInvalidParameter},
		{"no image_name", nil, func(r *rawV3) { r.data = str(`{"image_type":"jpg"}`) }, 400, alipaytest.SubMissingParameter},
		{"image_pid too long", nil, func(r *rawV3) { r.data = str(`{"image_type":"jpg","image_name":"a","image_pid":"20880000000000001"}`) }, 400, alipaytest.SubInvalidParameter},
		{"no file", nil, func(r *rawV3) { r.file = nil }, 400, alipaytest.SubMissingParameter},
		{"png sent as jpg", nil, func(r *rawV3) { r.file = mediagen.Sample("png", 1) }, 400, alipaytest.SubInvalidFileExtension},
		{"file too large", func(c *alipaytest.Config) { c.MaxFileSize = 100 }, nil, 400, alipaytest.SubInvalidFileSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startWith(t, tc.cfg)
			r := newRawV3("jpg", jpg)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			a := sendV3(t, srv, r.build(t, srv.BaseURL))
			if a.status != tc.status || a.fields["code"] != alipaytest.V3Code(tc.subCode) || a.fields["message"] == "" {
				t.Fatalf("answer %d %s, want %d with code %s", a.status, a.body, tc.status, alipaytest.V3Code(tc.subCode))
			}
			if a.verify != nil {
				t.Errorf("error answers are signed too: %v", a.verify)
			}
			if n := len(srv.Uploads()); n != 0 {
				t.Errorf("%d uploads recorded", n)
			}
			if st := srv.Stats(); st.Rejections[tc.subCode] != 1 {
				t.Errorf("rejections %v, want one %s", st.Rejections, tc.subCode)
			}
		})
	}
}

func TestV3CertificateMode(t *testing.T) {
	t.Parallel()
	certs := alipaytest.TestCerts()
	srv := startWith(t, certs.Configure)
	for name, tc := range map[string]struct {
		certSN, rootSN string
		status         int
		code           string
	}{
		"both serial numbers": {certs.AppCertSN, certs.RootCertSN, 200, ""},
		"no app_cert_sn":      {"", certs.RootCertSN, 400, "app-cert-not-exist"},
		"other app_cert_sn":   {"0123", certs.RootCertSN, 400, "app-cert-not-exist"},
		"no root cert sn":     {certs.AppCertSN, "", 400, "invalid-alipay-root-cert-sn"},
		"other root cert sn":  {certs.AppCertSN, "0123_4567", 400, "invalid-alipay-root-cert-sn"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRawV3("gif", mediagen.Sample("gif", 1))
			r.auth.AppCertSN, r.rootSN = tc.certSN, tc.rootSN
			a := sendV3(t, srv, r.build(t, srv.BaseURL))
			if a.status != tc.status || a.fields["code"] != tc.code || a.verify != nil {
				t.Fatalf("answer %d %s (signature %v), want %d %s", a.status, a.body, a.verify, tc.status, tc.code)
			}
			if got := a.header.Get("alipay-sn"); got != certs.AlipayCertSN {
				t.Errorf("alipay-sn %q, want %q", got, certs.AlipayCertSN)
			}
		})
	}
}

// The faults look on v3 as they look on the classic gateway, in v3's form.
func TestV3FaultAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind   alipaytest.FaultKind
		status int
		code   string
		signed bool
	}{
		{alipaytest.Fault502, 502, "", false},
		{alipaytest.Fault503, 503, "", false},
		{alipaytest.FaultUnavailable, 500, "unknow-error", true},
		{alipaytest.FaultThrottled, 429, "app-call-limited", true},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{})
			srv.Faults().Next(tc.kind, 1)
			a := sendV3(t, srv, newRawV3("jpg", mediagen.Sample("jpg", 1)).build(t, srv.BaseURL))
			if a.status != tc.status || a.fields["code"] != tc.code || (a.verify == nil) != tc.signed {
				t.Errorf("answer %d %s (signature %v)", a.status, a.body, a.verify)
			}
			if st := srv.Stats(); st.Faults[tc.kind] != 1 || st.Requests != 1 || len(srv.Uploads()) != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	for _, kind := range []alipaytest.FaultKind{alipaytest.FaultBadSignature, alipaytest.FaultMalformed} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{})
			srv.Faults().Next(kind, 1)
			a := sendV3(t, srv, newRawV3("jpg", mediagen.Sample("jpg", 1)).build(t, srv.BaseURL))
			ups := srv.Uploads()
			if a.status != 200 || len(ups) != 1 || ups[0].Fault != kind {
				t.Fatalf("answer %d %s, uploads %+v", a.status, a.body, ups)
			}
			switch kind {
			case alipaytest.FaultBadSignature:
				if a.verify == nil || a.fields["image_id"] != ups[0].ImageID {
					t.Errorf("badsign: signature %v, body %s", a.verify, a.body)
				}
			case alipaytest.FaultMalformed:
				if a.verify != nil || json.Valid(a.body) {
					t.Errorf("malformed: signature %v, body %s", a.verify, a.body)
				}
			}
		})
	}
}

func TestV3Code(t *testing.T) {
	t.Parallel()
	for sub, want := range map[string]string{
		alipaytest.SubInvalidSignature:    "invalid-signature",
		alipaytest.SubInvalidAppAuthToken: "invalid-app-auth-token",
		alipaytest.SubUnknownError:        "unknow-error",
		"plain":                           "plain",
	} {
		if got := alipaytest.V3Code(sub); got != want {
			t.Errorf("V3Code(%q) = %q, want %q", sub, got, want)
		}
	}
}
