package alipaytest_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// rawRequest is a hand-built gateway request, signed like the official SDKs
// do it, with knobs to break it.
type rawRequest struct {
	query   map[string]string // system parameters; "" deletes one
	text    map[string]string // multipart text parts, in name order
	file    []byte
	noFile  bool
	key     *rsa.PrivateKey   // signs; default TestKeys().App
	sign    *string           // overrides the computed sign
	tamper  map[string]string // changed after signing
	fileHdr string            // Content-Type of the file part
	dupText string            // a text part written a second time
}

func newRawRequest(typ string, file []byte) *rawRequest {
	return &rawRequest{
		query: map[string]string{
			"app_id":    alipaytest.TestAppID,
			"method":    alipayapi.Method,
			"format":    "JSON",
			"charset":   "utf-8",
			"sign_type": "RSA2",
			"timestamp": time.Now().In(alipayapi.Beijing).Format(alipayapi.TimestampLayout),
			"version":   "1.0",
		},
		text: map[string]string{"image_type": typ, "image_name": "photo " + typ},
		file: file,
	}
}

// build returns the request URL query and multipart body.
func (r *rawRequest) build(t testing.TB, gatewayURL string) *http.Request {
	t.Helper()
	params := map[string]string{}
	for k, v := range r.query {
		if v != "" {
			params[k] = v
		}
	}
	for k, v := range r.text {
		params[k] = v
	}
	key := r.key
	if key == nil {
		key = alipaytest.TestKeys().App
	}
	sig, err := sign.RSA2{Key: key}.Sign([]byte(sign.Content(params)))
	if err != nil {
		t.Fatal(err)
	}
	if r.sign != nil {
		sig = *r.sign
	}
	q := url.Values{}
	for k, v := range r.query {
		if v != "" {
			q.Set(k, v)
		}
	}
	if sig != "" {
		q.Set("sign", sig)
	}
	text := map[string]string{}
	for k, v := range r.text {
		text[k] = v
	}
	for k, v := range r.tamper {
		if _, ok := r.query[k]; ok {
			q.Set(k, v)
		} else {
			text[k] = v
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range slices.Sorted(maps.Keys(text)) {
		if err := mw.WriteField(k, text[k]); err != nil {
			t.Fatal(err)
		}
	}
	if r.dupText != "" {
		if err := mw.WriteField(r.dupText, text[r.dupText]); err != nil {
			t.Fatal(err)
		}
	}
	if !r.noFile {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="image_content"; filename="`+text["image_name"]+`"`)
		ct := r.fileHdr
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(r.file)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, gatewayURL+"?"+q.Encode(), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// answer is a decoded gateway answer.
type answer struct {
	status  int
	traceID string
	body    []byte
	node    json.RawMessage // the raw response node (or error_response)
	legacy  bool
	sign    string
	certSN  string
	fields  map[string]string
}

// send sends a request and decodes the answer.
func send(t testing.TB, c *http.Client, req *http.Request) *answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	a := &answer{status: resp.StatusCode, traceID: resp.Header.Get("trace_id"), body: b}
	if resp.StatusCode != http.StatusOK {
		return a
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, b)
	}
	if n, ok := top[alipayapi.ResponseNode]; ok {
		a.node = n
	} else if n, ok := top[alipayapi.ErrorNode]; ok {
		a.node, a.legacy = n, true
	} else {
		t.Fatalf("answer has no response node: %s", b)
	}
	if s, ok := top["sign"]; ok {
		if err := json.Unmarshal(s, &a.sign); err != nil {
			t.Fatal(err)
		}
	}
	if s, ok := top["alipay_cert_sn"]; ok {
		if err := json.Unmarshal(s, &a.certSN); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(a.node, &a.fields); err != nil {
		t.Fatalf("node: %v", err)
	}
	return a
}

// verify checks the answer's sign over the raw node bytes.
func (a *answer) verify(key *rsa.PublicKey) error {
	return sign.RSA2Verifier{Key: key}.Verify(a.node, a.sign)
}

// samples are small, real files of each format, by their image_type.
func samples() map[string][]byte {
	out := map[string][]byte{}
	for _, typ := range []string{"jpg", "jpeg", "png", "gif", "bmp", "mp4"} {
		out[typ] = mediagen.Sample(typ, 1)
	}
	return out
}

// rsaKey asserts a certificate's key is RSA.
func rsaKey(k any) *rsa.PublicKey {
	return k.(*rsa.PublicKey)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// isReset reports whether err comes from a connection reset. A reset that
// arrives while the client is still writing can also surface as a broken
// pipe, or as net.ErrClosed when the transport's reader saw the RST first
// and closed the connection under the writer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// startWith starts an emulator on the config that adjust, when not nil,
// fills in.
func startWith(t *testing.T, adjust func(*alipaytest.Config)) *alipaytest.Server {
	t.Helper()
	var cfg alipaytest.Config
	if adjust != nil {
		adjust(&cfg)
	}
	return alipaytest.Start(t, cfg)
}
