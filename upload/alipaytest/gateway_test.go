package alipaytest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestAcceptsEveryFormat(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	for typ, file := range samples() {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			r := newRawRequest(typ, file)
			r.text["image_pid"] = "2088000000000001"
			r.query["app_auth_token"] = "202405BBtoken" + typ
			a := send(t, srv.Client(), r.build(t, srv.URL))
			if a.status != http.StatusOK || a.fields["code"] != "10000" || a.fields["sub_code"] != "" {
				t.Fatalf("answer %d %s", a.status, a.body)
			}
			if err := a.verify(srv.PublicKey()); err != nil {
				t.Fatalf("answer signature: %v", err)
			}
			id := a.fields["image_id"]
			if id == "" || len(id) > 32 {
				t.Errorf("image_id %q: want 1..32 characters", id)
			}
			if !strings.Contains(string(a.node), `http:\/\/`) {
				t.Errorf("node %s: want the URL written with \\/ escapes", a.node)
			}
			if a.traceID == "" {
				t.Error("no trace_id header")
			}
			var got *alipaytest.Upload
			for _, u := range srv.Uploads() {
				if u.ImageID == id {
					got = &u
				}
			}
			if got == nil {
				t.Fatalf("upload %s not recorded", id)
			}
			sum := sha256.Sum256(file)
			want := alipaytest.Upload{
				ImageID: id, ImageURL: a.fields["image_url"], API: alipaytest.APIClassic, AppID: alipaytest.TestAppID,
				AppAuthToken: "202405BBtoken" + typ, TokenState: alipaytest.TokenListed, ImageType: typ, ImageName: "photo " + typ,
				ImagePID: "2088000000000001", FileName: "photo " + typ, ContentType: "application/octet-stream",
				DetectedType: strings.Replace(typ, "jpeg", "jpg", 1), Size: int64(len(file)),
				SHA256: hex.EncodeToString(sum[:]), TraceID: a.traceID, Time: got.Time,
			}
			if *got != want {
				t.Errorf("recorded\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

// The official Node SDK's classic multipart call sends no format, and an
// app_auth_token given as a form field in both the query and the body,
// with the same value. The gateway accepts that shape.
func TestAcceptsTheNodeSDKShape(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	r := newRawRequest("png", mediagen.Sample("png", 1))
	r.query["format"] = ""
	r.query["app_auth_token"], r.text["app_auth_token"] = "202405BBsame", "202405BBsame"
	a := send(t, srv.Client(), r.build(t, srv.URL))
	if a.status != http.StatusOK || a.fields["code"] != "10000" {
		t.Fatalf("answer %d %s", a.status, a.body)
	}
	if u := srv.Uploads(); len(u) != 1 || u[0].AppAuthToken != "202405BBsame" {
		t.Errorf("recorded %+v", u)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	other := alipaytest.TestKeys().Gateway // any key but the app's
	jpg := mediagen.Sample("jpg", 1)
	png := mediagen.Sample("png", 1)
	str := func(s string) *string { return &s }
	cases := []struct {
		name    string
		cfg     func(*alipaytest.Config)
		mutate  func(*rawRequest)
		code    string
		subCode string
	}{
		{name: "missing app_id", mutate: func(r *rawRequest) { r.query["app_id"] = "" }, code: "40001", subCode: alipaytest.SubMissingAppID},
		{name: "missing method", mutate: func(r *rawRequest) { r.query["method"] = "" }, code: "40001", subCode: alipaytest.SubMissingMethod},
		{name: "missing sign_type", mutate: func(r *rawRequest) { r.query["sign_type"] = "" }, code: "40001", subCode: alipaytest.SubMissingSignatureType},
		{name: "missing sign", mutate: func(r *rawRequest) { r.sign = str("") }, code: "40001", subCode: alipaytest.SubMissingSignature},
		{name: "missing timestamp", mutate: func(r *rawRequest) { r.query["timestamp"] = "" }, code: "40001", subCode: alipaytest.SubMissingTimestamp},
		{name: "missing version", mutate: func(r *rawRequest) { r.query["version"] = "" }, code: "40001", subCode: alipaytest.SubMissingVersion},
		{name: "missing charset", mutate: func(r *rawRequest) { r.query["charset"] = "" }, code: "40001", subCode: alipaytest.SubMissingParameter},
		{name: "wrong app_id", mutate: func(r *rawRequest) { r.query["app_id"] = "2021999999999999" }, code: "40002", subCode: alipaytest.SubInvalidAppID},
		{name: "wrong method", mutate: func(r *rawRequest) { r.query["method"] = "alipay.trade.pay" }, code: "40002", subCode: alipaytest.SubInvalidMethod},
		{name: "wrong format", mutate: func(r *rawRequest) { r.query["format"] = "XML" }, code: "40002", subCode: alipaytest.SubInvalidFormat},
		{name: "wrong charset", mutate: func(r *rawRequest) { r.query["charset"] = "GBK" }, code: "40002", subCode: alipaytest.SubInvalidCharset},
		{name: "sign_type RSA", mutate: func(r *rawRequest) { r.query["sign_type"] = "RSA" }, code: "40002", subCode: alipaytest.SubInvalidSignatureType},
		{name: "version 2.0", mutate: func(r *rawRequest) { r.query["version"] = "2.0" }, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "timestamp layout", mutate: func(r *rawRequest) { r.query["timestamp"] = time.Now().Format(time.RFC3339) }, code: "40002", subCode: alipaytest.SubInvalidTimestamp},
		{name: "timestamp in UTC", mutate: func(r *rawRequest) {
			r.query["timestamp"] = time.Now().UTC().Format(alipayapi.TimestampLayout)
		}, code: "40002", subCode: alipaytest.SubInvalidTimestamp},
		{name: "timestamp beyond tolerance", cfg: func(c *alipaytest.Config) { c.MaxSkew = time.Minute }, mutate: func(r *rawRequest) {
			r.query["timestamp"] = time.Now().Add(-2 * time.Minute).In(alipayapi.Beijing).Format(alipayapi.TimestampLayout)
		}, code: "40002", subCode: alipaytest.SubInvalidTimestamp},
		{name: "signed with another key", mutate: func(r *rawRequest) { r.key = other }, code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "sign not Base64", mutate: func(r *rawRequest) { r.sign = str("not base64!") }, code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "query tampered after signing", mutate: func(r *rawRequest) {
			r.tamper = map[string]string{"timestamp": time.Now().Add(time.Second).In(alipayapi.Beijing).Format(alipayapi.TimestampLayout)}
		}, code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "body tampered after signing", mutate: func(r *rawRequest) { r.tamper = map[string]string{"image_name": "other"} }, code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "unsigned extra body field", mutate: func(r *rawRequest) { r.tamper = map[string]string{"extra": "x"} }, code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "parameter in query and body, different values", mutate: func(r *rawRequest) {
			r.query["app_auth_token"], r.text["app_auth_token"] = "202405BBone", "202405BBtwo"
		}, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "parameter twice in the body", mutate: func(r *rawRequest) { r.dupText = "image_name" }, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "app_cert_sn in public-key mode", mutate: func(r *rawRequest) { r.query["app_cert_sn"] = "abc" }, code: "40002", subCode: alipaytest.SubAppCertNotExist},
		{name: "unknown token", cfg: func(c *alipaytest.Config) { c.AppAuthTokens = []string{"good"} }, mutate: func(r *rawRequest) {
			r.query["app_auth_token"] = "bad"
		}, code: "20001", subCode: alipaytest.SubInvalidAppAuthToken},
		{name: "missing image_type", mutate: func(r *rawRequest) { delete(r.text, "image_type") }, code: "40001", subCode: alipaytest.SubMissingParameter},
		{name: "missing image_name", mutate: func(r *rawRequest) { delete(r.text, "image_name") }, code: "40001", subCode: alipaytest.SubMissingParameter},
		{name: "missing image_content", mutate: func(r *rawRequest) { r.noFile = true }, code: "40001", subCode: alipaytest.SubMissingParameter},
		{name: "image_type too long", mutate: func(r *rawRequest) { r.text["image_type"] = "jpgjpgjpg" }, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "image_name too long", mutate: func(r *rawRequest) { r.text["image_name"] = strings.Repeat("名", 129) }, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "image_pid too long", mutate: func(r *rawRequest) { r.text["image_pid"] = strings.Repeat("2", 17) }, code: "40002", subCode: alipaytest.SubInvalidParameter},
		{name: "type not allowed", mutate: func(r *rawRequest) { r.text["image_type"] = "tiff" }, code: "40002", subCode: alipaytest.SubInvalidFileExtension},
		{name: "content does not match type", mutate: func(r *rawRequest) { r.file = png }, code: "40002", subCode: alipaytest.SubInvalidFileExtension},
		{name: "unknown content", mutate: func(r *rawRequest) { r.file = []byte(strings.Repeat("text ", 100)) }, code: "40002", subCode: alipaytest.SubInvalidFileExtension},
		{name: "empty file", mutate: func(r *rawRequest) { r.file = nil }, code: "40002", subCode: alipaytest.SubInvalidFileSize},
		{name: "file too large", cfg: func(c *alipaytest.Config) { c.MaxFileSize = int64(len(jpg) - 1) }, code: "40002", subCode: alipaytest.SubInvalidFileSize},
		{name: "file far too large", cfg: func(c *alipaytest.Config) { c.MaxFileSize = 100 }, code: "40002", subCode: alipaytest.SubInvalidFileSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startWith(t, tc.cfg)
			r := newRawRequest("jpg", jpg)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			a := send(t, srv.Client(), r.build(t, srv.URL))
			if a.status != http.StatusOK {
				t.Fatalf("HTTP %d %s", a.status, a.body)
			}
			if a.fields["code"] != tc.code || a.fields["sub_code"] != tc.subCode {
				t.Fatalf("answer %s, want code %s sub_code %s", a.node, tc.code, tc.subCode)
			}
			if a.fields["msg"] == "" || a.fields["sub_msg"] == "" {
				t.Errorf("answer %s: want msg and sub_msg", a.node)
			}
			if err := a.verify(srv.PublicKey()); err != nil {
				t.Errorf("error answer signature: %v", err)
			}
			if a.traceID == "" {
				t.Error("no trace_id header")
			}
			if n := len(srv.Uploads()); n != 0 {
				t.Errorf("%d uploads recorded, want none", n)
			}
			if st := srv.Stats(); st.Rejections[tc.subCode] != 1 || st.Successes != 0 || st.Requests != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestLegacyErrorResponse(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{LegacyErrors: []string{alipaytest.SubMissingAppID}})
	r := newRawRequest("jpg", mediagen.Sample("jpg", 1))
	r.query["app_id"] = ""
	a := send(t, srv.Client(), r.build(t, srv.URL))
	if !a.legacy || a.sign != "" {
		t.Fatalf("answer %s: want an unsigned error_response node", a.body)
	}
	if a.fields["code"] != "40001" || a.fields["sub_code"] != alipaytest.SubMissingAppID {
		t.Errorf("node %s", a.node)
	}
	// Other errors still use the method's node, signed.
	r = newRawRequest("jpg", mediagen.Sample("jpg", 1))
	r.query["version"] = "9"
	a = send(t, srv.Client(), r.build(t, srv.URL))
	if a.legacy || a.verify(srv.PublicKey()) != nil {
		t.Errorf("answer %s: want a signed method node", a.body)
	}
}

func TestCertificateMode(t *testing.T) {
	t.Parallel()
	certs := alipaytest.TestCerts()
	srv := startWith(t, certs.Configure)
	withSNs := func(app, root string) *rawRequest {
		r := newRawRequest("png", mediagen.Sample("png", 1))
		r.query["app_cert_sn"], r.query["alipay_root_cert_sn"] = app, root
		return r
	}

	a := send(t, srv.Client(), withSNs(certs.AppCertSN, certs.RootCertSN).build(t, srv.URL))
	if a.fields["code"] != "10000" {
		t.Fatalf("answer %s", a.body)
	}
	if a.certSN != certs.AlipayCertSN {
		t.Errorf("alipay_cert_sn %q, want %q", a.certSN, certs.AlipayCertSN)
	}
	// The client verifies with the key of the Alipay certificate.
	if err := a.verify(rsaKey(certs.Alipay.PublicKey)); err != nil {
		t.Errorf("verify with the certificate's key: %v", err)
	}

	for _, tc := range []struct {
		name, app, root, sub string
	}{
		{"no app_cert_sn", "", certs.RootCertSN, alipaytest.SubAppCertNotExist},
		{"wrong app_cert_sn", "0123456789abcdef0123456789abcdef", certs.RootCertSN, alipaytest.SubAppCertNotExist},
		{"no root sn", certs.AppCertSN, "", alipaytest.SubInvalidRootCertSN},
		{"wrong root sn", certs.AppCertSN, certs.RootCertSN + "_00", alipaytest.SubInvalidRootCertSN},
	} {
		a := send(t, srv.Client(), withSNs(tc.app, tc.root).build(t, srv.URL))
		if a.fields["sub_code"] != tc.sub {
			t.Errorf("%s: answer %s, want %s", tc.name, a.node, tc.sub)
		}
		if a.certSN != certs.AlipayCertSN {
			t.Errorf("%s: error answer without alipay_cert_sn", tc.name)
		}
	}
}

// A body far beyond the limit is not read to its end: the gateway answers
// after the cap and closes the connection.
func TestBodyBeyondCap(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{MaxFileSize: 100})
	file := append(mediagen.Sample("jpg", 1), make([]byte, 3<<20)...)
	a := send(t, srv.Client(), newRawRequest("jpg", file).build(t, srv.URL))
	if a.fields["sub_code"] != alipaytest.SubInvalidFileSize {
		t.Fatalf("answer %s", a.body)
	}
	if err := a.verify(srv.PublicKey()); err != nil {
		t.Error(err)
	}
	if got, limit := srv.Stats().BytesReceived, int64(2*100+1<<20); got >= limit {
		t.Errorf("%d file bytes read, want fewer than the cap of %d body bytes", got, limit)
	}
}

func TestUploadRecordsAreCapped(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{MaxRecords: 3})
	file := mediagen.Sample("jpg", 1)
	var names []string
	for i := range 5 {
		r := newRawRequest("jpg", file)
		r.text["image_name"] = fmt.Sprintf("photo %d", i)
		names = append(names, r.text["image_name"])
		if a := send(t, srv.Client(), r.build(t, srv.URL)); a.fields["code"] != "10000" {
			t.Fatalf("upload %d: %d %s", i, a.status, a.body)
		}
	}
	var got []string
	for _, u := range srv.Uploads() {
		got = append(got, u.ImageName)
	}
	// The newest three are kept, oldest first; two were dropped and
	// counted, while the success counter still has all five.
	if !slices.Equal(got, names[2:]) {
		t.Errorf("kept %q, want %q", got, names[2:])
	}
	if st := srv.Stats(); st.RecordsDropped != 2 || st.Successes != 5 {
		t.Errorf("stats %+v", st)
	}
}

// With KeepContent the gateway keeps each accepted file's bytes, and
// forgets them with the records.
func TestKeepContent(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{KeepContent: true, MaxRecords: 1})
	files := [][]byte{mediagen.Sample("jpg", 1), mediagen.Sample("png", 2)}
	var ids []string
	for i, typ := range []string{"jpg", "png"} {
		a := send(t, srv.Client(), newRawRequest(typ, files[i]).build(t, srv.URL))
		if a.fields["code"] != "10000" {
			t.Fatalf("answer %d %s", a.status, a.body)
		}
		ids = append(ids, a.fields["image_id"])
	}
	if _, ok := srv.Content(ids[0]); ok {
		t.Error("the content of a dropped record is still kept")
	}
	if got, ok := srv.Content(ids[1]); !ok || !bytes.Equal(got, files[1]) {
		t.Errorf("kept %d bytes (%v), want the %d bytes sent", len(got), ok, len(files[1]))
	}
}
