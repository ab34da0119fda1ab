package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// JSONCall names one JSON operation of Alipay's OpenAPI in both protocols:
// Method on the classic gateway, where the request is sent as biz_content
// and the answer comes in the node "<method with '.' as '_'>_response", and
// Path on v3, where the request is the JSON body and the answer the body of
// a 2xx answer. In is the request and Out the answer's fields, both encoded
// with encoding/json; the same struct serves both protocols because both
// use the same snake_case field names.
//
// A JSONCall is a value, usually a package-level variable:
//
//	var tokenApp = upload.JSONCall[TokenRequest, TokenAnswer]{
//		Method: "alipay.open.auth.token.app",
//		Path:   "/v3/alipay/open/auth/token/app",
//	}
//	answer, err := tokenApp.Do(ctx, client, "", TokenRequest{GrantType: "authorization_code", Code: code})
type JSONCall[In, Out any] struct {
	// Method is the classic method name, e.g. "alipay.open.auth.token.app".
	Method string
	// Path is the v3 path, e.g. "/v3/alipay/open/auth/token/app".
	Path string
}

// Do calls the operation through c, in c's protocol, acting for a merchant
// when appAuthToken is not empty. Answers are verified as uploads' are,
// and errors have the same classes (see [Classify]): an [*APIError] for a
// refusal, an [*HTTPError] for an unexpected HTTP status, [ErrBadSignature]
// or [ErrBadResponse] for an answer that cannot be trusted or read. The
// call is bounded by Config.Timeout.
func (j JSONCall[In, Out]) Do(ctx context.Context, c *Client, appAuthToken string, in In) (Out, error) {
	var out Out
	raw, err := c.callJSON(ctx, j.Method, j.Path, appAuthToken, in)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, permanent(fmt.Errorf("%w: %v", ErrBadResponse, err))
	}
	return out, nil
}

// callJSON sends one JSON call and returns the verified raw JSON of its
// answer: the response node on the classic gateway, the body on v3.
func (c *Client) callJSON(ctx context.Context, method, path, appAuthToken string, in any) ([]byte, error) {
	start := time.Now()
	raw, trace, err := c.doJSON(ctx, method, path, appAuthToken, in)
	c.throttled(ctx, err)
	if err != nil {
		c.log.DebugContext(ctx, "call failed", "method", method, "class", Classify(err).String(),
			"trace_id", traceOf(err), "err", err)
		return nil, err
	}
	c.log.DebugContext(ctx, "call done", "method", method, "trace_id", trace, "elapsed", time.Since(start))
	return raw, nil
}

func (c *Client) doJSON(ctx context.Context, method, path, appAuthToken string, in any) ([]byte, string, error) {
	bad := func(format string, a ...any) error {
		return permanent(fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, a...)...))
	}
	switch {
	case c.protocol == Classic && method == "":
		return nil, "", bad("JSONCall.Method is required on the classic gateway")
	case c.protocol == V3 && !strings.HasPrefix(path, "/"):
		return nil, "", bad("JSONCall.Path %q must start with '/'", path)
	case !utf8.ValidString(appAuthToken):
		return nil, "", bad("app_auth_token is not valid UTF-8")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return nil, "", bad("encoding the request: %v", err)
	}
	body := strings.TrimSuffix(b.String(), "\n")
	if err := c.wait(ctx); err != nil {
		return nil, "", err
	}
	now := c.now()

	var (
		target string
		header = http.Header{}
		sent   string
		err    error
	)
	if c.protocol == V3 {
		target, err = c.v3Request(header, path, body, appAuthToken, now)
		header.Set("Content-Type", "application/json")
		sent = body
	} else {
		target, err = c.classicURL(method, map[string]string{"biz_content": body}, appAuthToken, now)
		header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
		sent = url.Values{"biz_content": {body}}.Encode()
	}
	if err != nil {
		return nil, "", permanent(err)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	a, err := c.send(ctx, target, header, strings.NewReader(sent), int64(len(sent)), nil)
	if err != nil {
		return nil, "", err
	}
	if c.protocol == V3 {
		raw, err := c.readV3(a)
		return raw, a.trace, err
	}
	if a.status != http.StatusOK {
		return nil, "", a.httpError()
	}
	raw, err := readNode(a.body, nodeName(method), c.verifier, a.trace)
	return raw, a.trace, a.cleanErr(err)
}

// nodeName is the classic answer's node for method:
// "alipay.open.auth.token.app" answers in "alipay_open_auth_token_app_response".
func nodeName(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}
