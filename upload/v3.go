package upload

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/storemedia/alipay-media-worker/sign"
)

// v3Data is the text of the v3 upload's "data" part: the text fields as a
// JSON object, image_pid only when set.
func v3Data(r *Request) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Field order as in the classic body; encoding a struct cannot fail.
	_ = enc.Encode(struct {
		ImageType string `json:"image_type"`
		ImageName string `json:"image_name"`
		ImagePID  string `json:"image_pid,omitempty"`
	}{r.ImageType, r.ImageName, r.ImagePID})
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// v3Request signs a v3 POST of body to path and sets its headers
// (Authorization, alipay-request-id, alipay-app-auth-token when a token is
// given, alipay-root-cert-sn in certificate mode) in h. It returns the URL
// to post to.
func (c *Client) v3Request(h http.Header, path, body, appAuthToken string, now time.Time) (string, error) {
	u := *c.v3
	u.Path += path
	auth := sign.V3Auth{AppID: c.appID, AppCertSN: c.appCertSN, Nonce: c.nonce(), Timestamp: now.UnixMilli()}.String()
	sig, err := c.signer.Sign([]byte(sign.V3Content(auth, http.MethodPost, u.RequestURI(), body, appAuthToken)))
	if err != nil {
		return "", fmt.Errorf("upload: signing: %w", err)
	}
	h.Set("Authorization", sign.V3Authorization(auth, sig))
	h.Set("Alipay-Request-Id", c.nonce())
	if appAuthToken != "" {
		h.Set("Alipay-App-Auth-Token", appAuthToken)
	}
	if c.rootCertSN != "" {
		h.Set("Alipay-Root-Cert-Sn", c.rootCertSN)
	}
	return u.String(), nil
}

// readV3 checks a v3 answer and returns its verified body when it is a
// success (2xx). Every success must be signed; an error answer is verified
// when it carries a signature. A non-2xx answer with a JSON code becomes an
// [*APIError], any other an [*HTTPError].
func (c *Client) readV3(a *answer) ([]byte, error) {
	ok := c.success(a.status)
	if ok || a.header.Get("alipay-signature") != "" {
		if err := c.verifyV3(a); err != nil {
			f := withTrace(permanent(err), a.trace)
			if ok {
				f.claimed = a.body
			}
			return nil, f
		}
	}
	if ok {
		return a.body, nil
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(a.body, &e) == nil && e.Code != "" {
		return nil, &APIError{Code: e.Code, Msg: a.clean(e.Message), StatusCode: a.status, TraceID: a.trace,
			Unsigned: a.header.Get("alipay-signature") == ""}
	}
	return nil, a.httpError()
}

// verifyV3 checks alipay-signature over alipay-timestamp, alipay-nonce and
// the raw body, and that alipay-sn, when the answer names a certificate and
// one is configured, is Alipay's. Errors wrap [ErrBadSignature].
func (c *Client) verifyV3(a *answer) error {
	ts, nonce, sig := a.header.Get("alipay-timestamp"), a.header.Get("alipay-nonce"), a.header.Get("alipay-signature")
	if ts == "" || nonce == "" || sig == "" {
		return fmt.Errorf("%w: answer lacks alipay-timestamp, alipay-nonce or alipay-signature", ErrBadSignature)
	}
	if sn := a.header.Get("alipay-sn"); sn != "" && c.alipayCertSN != "" && sn != c.alipayCertSN {
		return fmt.Errorf("%w: answer signed with certificate %s, not Alipay's %s", ErrBadSignature, sn, c.alipayCertSN)
	}
	if err := c.verifier.Verify(sign.V3ResponseContent(ts, nonce, a.body), sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// uploadResult reads a verified v3 upload answer.
func uploadResult(body []byte, trace string) (Result, error) {
	var f struct {
		ImageID  string `json:"image_id"`
		ImageURL string `json:"image_url"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return Result{}, withTrace(permanent(fmt.Errorf("%w: %v", ErrBadResponse, err)), trace)
	}
	if f.ImageID == "" {
		return Result{}, withTrace(permanent(fmt.Errorf("%w: success without image_id", ErrBadResponse)), trace)
	}
	return Result{ImageID: f.ImageID, ImageURL: f.ImageURL, TraceID: trace}, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[:8], b[:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
