package upload

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
)

const (
	okNode        = `{"code":"10000","msg":"Success","image_id":"A1b2C3","image_url":"http:\/\/oalipay.example.com\/img?id=A1b2C3"}`
	okNodeURL     = "http://oalipay.example.com/img?id=A1b2C3"
	throttledNode = `{"code":"40005","msg":"Call Limited","sub_code":"isv.app-call-limited","sub_msg":"调用频次超限"}`
)

// Every shape of answer the gateway can give, with what Upload must make
// of it.
func TestAnswers(t *testing.T) {
	t.Parallel()
	_, alipay, other := keys(t)
	sig := func(raw string) string { return signWith(t, alipay, raw) }
	body := func(s string) func(http.ResponseWriter, *received) {
		return func(w http.ResponseWriter, _ *received) { io.WriteString(w, s) }
	}
	status := func(code int, s string) func(http.ResponseWriter, *received) {
		return func(w http.ResponseWriter, _ *received) {
			w.WriteHeader(code)
			io.WriteString(w, s)
		}
	}
	node := func(name, raw, sign string) string {
		return `{"` + name + `":` + raw + `,"sign":"` + sign + `"}`
	}
	weird := `{"code":"10000","msg":"Success","image_id":"a}b{\"c\\","image_url":"http:\/\/x.example\/{y}[z]"}`
	pretty := "{\n  \"code\": \"10000\",\n  \"msg\": \"\\u6210\\u529f\",\n  \"image_id\": \"P1\",\n  \"image_url\": \"http:\\/\\/x\"\n}"

	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter, *received)
		want   Result // when the upload succeeds
		class  Class  // otherwise
		is     error  // and the error matches this
		api    *APIError
	}{
		{name: "success", answer: body(node(alipayapi.ResponseNode, okNode, sig(okNode))),
			want: Result{ImageID: "A1b2C3", ImageURL: okNodeURL}},
		{name: "sign before the node", answer: body(`{"sign":"` + sig(okNode) + `", "` + alipayapi.ResponseNode + `" : ` + okNode + ` }`),
			want: Result{ImageID: "A1b2C3", ImageURL: okNodeURL}},
		{name: "signed over unescaped slashes", answer: body(node(alipayapi.ResponseNode, okNode, sig(strings.ReplaceAll(okNode, `\/`, "/")))),
			want: Result{ImageID: "A1b2C3", ImageURL: okNodeURL}},
		{name: "braces and escapes inside strings", answer: body(`{"other":{"x":"}"},` + node(alipayapi.ResponseNode, weird, sig(weird))[1:]),
			want: Result{ImageID: `a}b{"c\`, ImageURL: "http://x.example/{y}[z]"}},
		{name: "pretty-printed node with \\u escapes", answer: body(node(alipayapi.ResponseNode, pretty, sig(pretty))),
			want: Result{ImageID: "P1", ImageURL: "http://x"}},
		{name: "certificate mode member", answer: body(`{"` + alipayapi.ResponseNode + `":` + okNode + `,"alipay_cert_sn":"abc","sign":"` + sig(okNode) + `"}`),
			want: Result{ImageID: "A1b2C3", ImageURL: okNodeURL}},

		{name: "success without sign", answer: body(`{"` + alipayapi.ResponseNode + `":` + okNode + `}`),
			class: Permanent, is: ErrBadSignature},
		{name: "tampered image_id", answer: body(node(alipayapi.ResponseNode, strings.Replace(okNode, "A1b2C3", "A1b2C4", 1), sig(okNode))),
			class: Permanent, is: ErrBadSignature},
		{name: "re-signed with another key", answer: body(node(alipayapi.ResponseNode, okNode, signWith(t, other, okNode))),
			class: Permanent, is: ErrBadSignature},
		{name: "sign is not Base64", answer: body(node(alipayapi.ResponseNode, okNode, "%%%")),
			class: Permanent, is: ErrBadSignature},
		{name: "20000 with a bad sign is not retried", answer: body(node(alipayapi.ResponseNode, `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"x"}`, sig(okNode))),
			class: Permanent, is: ErrBadSignature},
		{name: "error_response with a bad sign", answer: body(node(alipayapi.ErrorNode, `{"code":"40002","msg":"Invalid Arguments"}`, sig(okNode))),
			class: Permanent, is: ErrBadSignature},

		{name: "business error, signed", answer: body(node(alipayapi.ResponseNode, `{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAM","sub_msg":"图片格式错误"}`, sig(`{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAM","sub_msg":"图片格式错误"}`))),
			class: Permanent, api: &APIError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAM", SubMsg: "图片格式错误", TraceID: testTrace}},
		// Unsigned refusals may be forged: transient, unless Alipay answers
		// them unsigned because it cannot sign (UnsignedFinalSubCodes).
		{name: "invalid signature, unsigned", answer: body(`{"` + alipayapi.ResponseNode + `":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}`),
			class: Retryable, api: &APIError{Code: "40002", Msg: "Invalid Arguments", SubCode: "isv.invalid-signature", SubMsg: "验签出错", TraceID: testTrace, Unsigned: true}},
		{name: "business error, unsigned", answer: body(`{"` + alipayapi.ResponseNode + `":{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAM"}}`),
			class: Retryable, api: &APIError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAM", TraceID: testTrace, Unsigned: true}},
		{name: "token refused, unsigned", answer: body(`{"` + alipayapi.ResponseNode + `":{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.invalid-app-auth-token"}}`),
			class: Retryable, api: &APIError{Code: "20001", Msg: "Insufficient Token Permissions", SubCode: "aop.invalid-app-auth-token", TraceID: testTrace, Unsigned: true}},
		{name: "unknown app_id, unsigned", answer: body(`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}`),
			class: Permanent, api: &APIError{Code: "40002", Msg: "Invalid Arguments", SubCode: "isv.invalid-app-id", SubMsg: "无效的AppID参数", TraceID: testTrace, Unsigned: true}},
		{name: "missing app_id, unsigned", answer: body(`{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-app-id"}}`),
			class: Permanent, api: &APIError{Code: "40001", Msg: "Missing Required Arguments", SubCode: "isv.missing-app-id", TraceID: testTrace, Unsigned: true}},
		{name: "service unavailable", answer: body(node(alipayapi.ResponseNode, `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`, sig(`{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`))),
			class: Retryable, api: &APIError{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "isp.unknow-error", SubMsg: "系统繁忙", TraceID: testTrace}},
		{name: "throttled, signed", answer: body(node(alipayapi.ResponseNode, throttledNode, sig(throttledNode))),
			class: Throttled, api: &APIError{Code: "40005", Msg: "Call Limited", SubCode: "isv.app-call-limited", SubMsg: "调用频次超限", TraceID: testTrace}},
		{name: "throttled, unsigned", answer: body(`{"` + alipayapi.ResponseNode + `":` + throttledNode + `}`),
			class: Throttled, api: &APIError{Code: "40005", Msg: "Call Limited", SubCode: "isv.app-call-limited", SubMsg: "调用频次超限", TraceID: testTrace, Unsigned: true}},
		{name: "error_response, unsigned", answer: body(`{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-signature","sub_msg":"缺少签名参数"}}`),
			class: Retryable, api: &APIError{Code: "40001", Msg: "Missing Required Arguments", SubCode: "isv.missing-signature", SubMsg: "缺少签名参数", TraceID: testTrace, Unsigned: true}},
		{name: "error_response, signed", answer: body(node(alipayapi.ErrorNode, `{"code":"20000","msg":"Service Currently Unavailable"}`, sig(`{"code":"20000","msg":"Service Currently Unavailable"}`))),
			class: Retryable, api: &APIError{Code: "20000", Msg: "Service Currently Unavailable", TraceID: testTrace}},
		{name: "10000 with a sub_code", answer: body(node(alipayapi.ResponseNode, `{"code":"10000","msg":"Success","sub_code":"isv.partial"}`, sig(`{"code":"10000","msg":"Success","sub_code":"isv.partial"}`))),
			class: Permanent, api: &APIError{Code: "10000", Msg: "Success", SubCode: "isv.partial", TraceID: testTrace}},

		{name: "duplicated node", answer: body(`{"` + alipayapi.ResponseNode + `":` + throttledNode + `,"` + alipayapi.ResponseNode + `":` + okNode + `,"sign":"` + sig(okNode) + `"}`),
			class: Permanent, is: ErrBadResponse},
		{name: "duplicated node, escaped key", answer: body(`{"` + alipayapi.ResponseNode + `":` + okNode + `,"\u0061lipay_offline_material_image_upload_response":` + okNode + `,"sign":"` + sig(okNode) + `"}`),
			class: Permanent, is: ErrBadResponse},
		{name: "duplicated sign", answer: body(`{"` + alipayapi.ResponseNode + `":` + okNode + `,"sign":"` + sig(okNode) + `","sign":"` + sig(okNode) + `"}`),
			class: Permanent, is: ErrBadResponse},
		{name: "both nodes", answer: body(`{"error_response":{"code":"40001","msg":"x"},"` + alipayapi.ResponseNode + `":` + okNode + `,"sign":"` + sig(okNode) + `"}`),
			class: Permanent, is: ErrBadResponse},
		{name: "no node", answer: body(`{"sign":"abc"}`), class: Permanent, is: ErrBadResponse},
		{name: "node is a string", answer: body(`{"` + alipayapi.ResponseNode + `":"{}","sign":"abc"}`), class: Permanent, is: ErrBadResponse},
		{name: "malformed JSON", answer: body(`{"` + alipayapi.ResponseNode + `":` + okNode), class: Permanent, is: ErrBadResponse},
		{name: "HTML instead of JSON", answer: body(`<html><body>502 Bad Gateway</body></html>`), class: Permanent, is: ErrBadResponse},
		{name: "top level array", answer: body(`[` + okNode + `]`), class: Permanent, is: ErrBadResponse},
		{name: "empty body", answer: body(``), class: Permanent, is: ErrBadResponse},
		{name: "empty object", answer: body(`{}`), class: Permanent, is: ErrBadResponse},
		{name: "code is a number", answer: body(node(alipayapi.ResponseNode, `{"code":10000,"image_id":"x"}`, sig(`{"code":10000,"image_id":"x"}`))),
			class: Permanent, is: ErrBadResponse},
		{name: "error without code", answer: body(`{"error_response":{"msg":"x"}}`), class: Permanent, is: ErrBadResponse},
		{name: "success without image_id", answer: body(node(alipayapi.ResponseNode, `{"code":"10000","msg":"Success"}`, sig(`{"code":"10000","msg":"Success"}`))),
			class: Permanent, is: ErrBadResponse},
		{name: "answer over 1 MiB", answer: body(`{"pad":"` + strings.Repeat("x", maxResponseBytes) + `",` + node(alipayapi.ResponseNode, okNode, sig(okNode))[1:]),
			class: Permanent, is: ErrBadResponse},

		{name: "HTTP 500", answer: status(500, "internal error"), class: Retryable, is: &HTTPError{}},
		{name: "HTTP 502", answer: status(502, "<html>bad gateway</html>"), class: Retryable, is: &HTTPError{}},
		{name: "HTTP 503", answer: status(503, ""), class: Retryable, is: &HTTPError{}},
		{name: "HTTP 408", answer: status(408, ""), class: Retryable, is: &HTTPError{}},
		{name: "HTTP 429", answer: status(429, ""), class: Throttled, is: &HTTPError{}},
		{name: "HTTP 404", answer: status(404, "not found"), class: Permanent, is: &HTTPError{}},
		{name: "HTTP 400 with a signed node", answer: status(400, node(alipayapi.ResponseNode, okNode, sig(okNode))), class: Permanent, is: &HTTPError{}},
		{name: "redirect is not followed", answer: func(w http.ResponseWriter, _ *received) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusFound)
		}, class: Permanent, is: &HTTPError{}},

		{name: "connection dropped before the answer", answer: hijack(""), class: Retryable},
		{name: "answer cut short", answer: hijack("HTTP/1.1 200 OK\r\nContent-Length: 500\r\ntrace_id: " + testTrace + "\r\n\r\n{\"" + alipayapi.ResponseNode + "\":"), class: Retryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			g.setAnswer(tc.answer)
			c := newClient(t, testConfig(t, g))
			res, err := c.Upload(context.Background(), testRequest("answer"))
			if tc.want != (Result{}) {
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				tc.want.TraceID = testTrace
				if res != tc.want {
					t.Errorf("Upload = %+v, want %+v", res, tc.want)
				}
				return
			}
			assertClass(t, err, tc.class)
			if res != (Result{}) {
				t.Errorf("failed Upload returned %+v", res)
			}
			switch want := tc.is.(type) {
			case nil:
			case *HTTPError:
				var he *HTTPError
				if !errors.As(err, &he) {
					t.Fatalf("err = %v, want an *HTTPError", err)
				}
				if len(he.Body) > 256 || !utf8.ValidString(he.Body) || he.TraceID != testTrace {
					t.Errorf("HTTPError body %q, trace %q", he.Body, he.TraceID)
				}
			default:
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
				if traceOf(err) != testTrace || !strings.Contains(err.Error(), testTrace) {
					t.Errorf("err %q does not carry the trace id", err)
				}
			}
			if tc.api != nil {
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want an *APIError", err)
				}
				if *ae != *tc.api {
					t.Errorf("APIError = %+v, want %+v", *ae, *tc.api)
				}
				if traceOf(err) != testTrace {
					t.Errorf("traceOf(err) = %q", traceOf(err))
				}
			} else if errors.As(err, new(*APIError)) {
				t.Errorf("err = %v is an *APIError", err)
			}
		})
	}
}

// hijack answers with raw bytes and closes the connection.
func hijack(raw string) func(http.ResponseWriter, *received) {
	return func(w http.ResponseWriter, _ *received) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		buf.WriteString(raw)
		buf.Flush()
		conn.Close()
	}
}

// The walk returns exactly the bytes of the node's value.
func TestSplitEnvelope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, raw, sign string }{
		{`{"` + alipayapi.ResponseNode + `":{"a":"b"},"sign":"s"}`, `{"a":"b"}`, "s"},
		{` { "sign" : "s\/x" , "` + alipayapi.ResponseNode + `" :  {"a": ["}", {"b":"\"}"}] , "c" : null}  } `, `{"a": ["}", {"b":"\"}"}] , "c" : null}`, "s/x"},
		{`{"x":1.5e3,"y":[true,false,null,{"z":"{"}],"error_response":{"code":"40001"}}`, `{"code":"40001"}`, ""},
	} {
		env, err := splitEnvelope([]byte(tc.body), alipayapi.ResponseNode)
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if string(env.raw) != tc.raw || env.sign != tc.sign {
			t.Errorf("%s:\nraw %s sign %q\nwant %s %q", tc.body, env.raw, env.sign, tc.raw, tc.sign)
		}
	}
}

// Fuzz the walk against encoding/json: whenever it accepts a body, the node
// it returns is the one a decoder finds, byte for byte, and the body has
// no duplicate node.
func FuzzSplitEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"` + alipayapi.ResponseNode + `":` + okNode + `,"sign":"abc"}`,
		`{"error_response":{"code":"40001","msg":"x\"}"}}`,
		`{"a":[1,{"b":"}"}],"` + alipayapi.ResponseNode + `":{"k":"\\"}}`,
		`{"` + alipayapi.ResponseNode + `":{},"` + alipayapi.ResponseNode + `":{}}`,
		`[]`, `{`, `{"sign":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := splitEnvelope(body, alipayapi.ResponseNode)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %v", err)
		}
		if string(m[env.name]) != string(env.raw) {
			t.Fatalf("node %s = %s, encoding/json says %s", env.name, env.raw, m[env.name])
		}
		if env.hasSign {
			var s string
			if json.Unmarshal(m["sign"], &s) != nil || s != env.sign {
				t.Fatalf("sign %q, encoding/json says %s", env.sign, m["sign"])
			}
		}
	})
}

// TestUnsignedFinalSubCodesDocumented: docs/protocol-notes.md, which gives
// the sources and reasons, lists every code of UnsignedFinalSubCodes.
func TestUnsignedFinalSubCodesDocumented(t *testing.T) {
	t.Parallel()
	notes, err := os.ReadFile(filepath.Join("..", "docs", "protocol-notes.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(notes), "## Unsigned error answers")
	for _, c := range UnsignedFinalSubCodes {
		if !strings.Contains(section, "`"+c+"`") {
			t.Errorf("docs/protocol-notes.md, Unsigned error answers, does not list %s", c)
		}
	}
	if !strings.Contains(section, "upload.UnsignedFinalSubCodes") {
		t.Error("docs/protocol-notes.md does not name upload.UnsignedFinalSubCodes")
	}
}

// TestWrongAlipayKeyKeepsUnverifiedResult: with a wrong but well-formed
// Alipay public key every successful answer fails verification; the error
// is ErrBadSignature, permanent, and keeps what the answer claimed
// (UnverifiedResult: image_id, image_url, trace id), named in its text as
// UNVERIFIED. Before, the image_id was dropped, so a re-run uploaded the
// file again with nothing to reconcile against. A refusal that fails
// verification claims nothing.
func TestWrongAlipayKeyKeepsUnverifiedResult(t *testing.T) {
	t.Parallel()
	_, _, other := keys(t)
	for _, proto := range []Protocol{Classic, V3} {
		g := newGateway(t)
		cfg := testConfig(t, g)
		if proto == V3 {
			cfg = v3Config(t, g)
		}
		cfg.AlipayPublicKey = &other.PublicKey
		_, err := newClient(t, cfg).Upload(context.Background(), testRequest("wrongkey"))
		assertClass(t, err, Permanent)
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: err = %v, want ErrBadSignature", proto, err)
		}
		u, ok := UnverifiedResult(err)
		want := Result{ImageID: "img-wrongkey", ImageURL: "http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=abc&zoom=original", TraceID: testTrace}
		if !ok || u != want {
			t.Errorf("%s: UnverifiedResult = %+v, %v; want %+v", proto, u, ok, want)
		}
		if msg := err.Error(); !strings.Contains(msg, "UNVERIFIED") || !strings.Contains(msg, "img-wrongkey") || !strings.Contains(msg, testTrace) {
			t.Errorf("%s: error text %q does not name the unverified image_id and trace id", proto, msg)
		}
	}
	g := newGateway(t)
	g.setAnswer(func(w http.ResponseWriter, _ *received) {
		g.writeNode(w, alipayapi.ResponseNode, `{"code":"40004","msg":"Business Failed","sub_code":"X"}`, true)
	})
	cfg := testConfig(t, g)
	cfg.AlipayPublicKey = &other.PublicKey
	_, err := newClient(t, cfg).Upload(context.Background(), testRequest("refused"))
	if _, ok := UnverifiedResult(err); ok || !errors.Is(err, ErrBadSignature) {
		t.Errorf("a refusal that fails verification: %v, unverified result %v", err, ok)
	}
}
