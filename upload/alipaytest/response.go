package alipaytest

import (
	"net"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
)

// successNode is the response node of an accepted upload.
func successNode(imageID, imageURL string) []byte {
	b := make([]byte, 0, 128+len(imageID)+len(imageURL))
	b = append(b, `{"code":"10000","msg":"Success","image_id":`...)
	b = appendJSONString(b, imageID)
	b = append(b, `,"image_url":`...)
	b = appendJSONString(b, imageURL)
	return append(b, '}')
}

// errorNode is the response node of an error answer.
func errorNode(rj *rejection) []byte {
	b := make([]byte, 0, 160+len(rj.subMsg))
	b = append(b, `{"code":`...)
	b = appendJSONString(b, rj.code)
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, codeMsg[rj.code])
	b = append(b, `,"sub_code":`...)
	b = appendJSONString(b, rj.subCode)
	b = append(b, `,"sub_msg":`...)
	b = appendJSONString(b, rj.subMsg)
	return append(b, '}')
}

// answer writes an HTTP 200 gateway answer: the node under the method's
// response key (or under error_response, unsigned, when legacy), the
// certificate serial number in certificate mode, and the sign computed over
// the node's bytes exactly as written. kind corrupts the answer for the
// badsign and malformed faults.
func (g *Gateway) answer(w http.ResponseWriter, node []byte, legacy bool, kind FaultKind) {
	g.answerNode(w, alipayapi.ResponseNode, node, legacy, kind)
}

// signAnswer signs an answer's content with the gateway key; for the
// badsign fault, a well-formed signature over other content. When signing
// fails it answers HTTP 500 and reports false.
func (g *Gateway) signAnswer(w http.ResponseWriter, content []byte, kind FaultKind) (string, bool) {
	if kind == FaultBadSignature {
		content = append(content[:len(content):len(content)], ' ')
	}
	sig, err := g.signer.Sign(content)
	if err != nil {
		g.cfg.Logger.Error("sign response", "error", err)
		http.Error(w, "alipaytest: cannot sign the response", http.StatusInternalServerError)
		return "", false
	}
	return sig, true
}

// answerNode is answer for the method whose response node is name.
func (g *Gateway) answerNode(w http.ResponseWriter, name string, node []byte, legacy bool, kind FaultKind) {
	b := make([]byte, 0, len(node)+512)
	b = append(b, '{')
	if legacy {
		b = appendJSONString(b, alipayapi.ErrorNode)
		b = append(b, ':')
		b = append(b, node...)
	} else {
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = append(b, node...)
		if g.cfg.AppCertSN != "" {
			b = append(b, `,"alipay_cert_sn":`...)
			b = appendJSONString(b, g.cfg.GatewayCertSN)
		}
		sig, ok := g.signAnswer(w, node, kind)
		if !ok {
			return
		}
		b = append(b, `,"sign":`...)
		b = appendJSONString(b, sig)
	}
	b = append(b, '}')
	if kind == FaultMalformed {
		b = b[:len(b)/2]
	}
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// appendJSONString appends s as a JSON string the way Alipay's gateway
// writes it: '/' escaped as "\/", non-ASCII text left as raw UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\', '/':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

// resetConnection reads part of the body, then closes the TCP connection
// with SO_LINGER 0, so the peer gets an RST instead of an answer.
func (g *Gateway) resetConnection(w http.ResponseWriter, r *http.Request, body *bodyReader) {
	n := int64(32 << 10)
	if r.ContentLength > 0 {
		n = min(n, max(r.ContentLength/2, 1))
	}
	bp := bufPool.Get().(*[]byte)
	for body.n < n {
		if _, err := body.Read((*bp)[:min(int64(len(*bp)), n-body.n)]); err != nil {
			break
		}
	}
	bufPool.Put(bp)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0)
	} else if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		if l, ok := tc.NetConn().(interface{ SetLinger(int) error }); ok {
			_ = l.SetLinger(0)
		}
	}
	_ = conn.Close()
}
