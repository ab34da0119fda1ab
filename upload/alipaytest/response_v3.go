package alipaytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/storemedia/alipay-media-worker/sign"
)

// v3Status is the HTTP status of a v3 rejection. Alipay does not document
// one per code; the emulator answers 401 for an app_auth_token problem,
// 429 for throttling, 500 for an unknown error and 400 for everything else.
func v3Status(rj *rejection) int {
	switch rj.code {
	case CodeInvalidToken:
		return http.StatusUnauthorized
	case CodeCallLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// V3Code returns the v3 error code of a classic sub_code: the sub_code
// without its "isv.", "aop." or "isp." prefix ("isv.invalid-signature"
// is "invalid-signature" on v3).
func V3Code(subCode string) string {
	if _, code, ok := strings.Cut(subCode, "."); ok {
		return code
	}
	return subCode
}

// v3ErrorBody is the body of a v3 rejection: {"code","message"}.
func v3ErrorBody(rj *rejection) []byte {
	return plainJSON(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{V3Code(rj.subCode), rj.subMsg})
}

// v3SuccessBody is the body of an accepted v3 upload.
func v3SuccessBody(imageID, imageURL string) []byte {
	return plainJSON(struct {
		ImageID  string `json:"image_id"`
		ImageURL string `json:"image_url"`
	}{imageID, imageURL})
}

// plainJSON encodes v without escaping '/', '<', '>' or '&'.
func plainJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // flat structs of strings always encode
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// answerV3 writes a v3 answer: status and body, signed with the gateway key
// over alipay-timestamp, alipay-nonce and the body, and in certificate
// mode naming the gateway certificate in alipay-sn. kind corrupts the
// answer: badsign signs other content, malformed cuts the body in half
// (and signs what is left, so that the client finds it unreadable rather
// than forged).
func (g *Gateway) answerV3(w http.ResponseWriter, status int, body []byte, kind FaultKind) {
	if kind == FaultMalformed {
		body = body[:len(body)/2]
	}
	ts := strconv.FormatInt(g.cfg.Now().UnixMilli(), 10)
	nonce := g.newID(hexID)
	sig, ok := g.signAnswer(w, sign.V3ResponseContent(ts, nonce, body), kind)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("alipay-timestamp", ts)
	h.Set("alipay-nonce", nonce)
	h.Set("alipay-signature", sig)
	if g.cfg.AppCertSN != "" {
		h.Set("alipay-sn", g.cfg.GatewayCertSN)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answerV3Unsigned writes a v3 error answer without the alipay-timestamp,
// alipay-nonce and alipay-signature headers, for the codes of
// Config.LegacyErrors.
func (g *Gateway) answerV3Unsigned(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
