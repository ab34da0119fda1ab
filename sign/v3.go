package sign

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// V3Scheme is the authentication scheme of OpenAPI v3's Authorization
// header: SHA256withRSA, the same algorithm as the classic gateway's RSA2.
const V3Scheme = "ALIPAY-SHA256withRSA"

// ErrV3Authorization reports an Authorization header that is not a v3 one
// or lacks one of its parts.
var ErrV3Authorization = errors.New("sign: malformed v3 Authorization header")

// V3Auth is the signed part of an OpenAPI v3 Authorization header.
type V3Auth struct {
	// AppID is the application's app_id.
	AppID string
	// AppCertSN is the app_cert_sn of certificate mode; empty in public
	// key mode.
	AppCertSN string
	// Nonce is a fresh random value per request (a UUID).
	Nonce string
	// Timestamp is the request time in Unix milliseconds.
	Timestamp int64
}

// String returns the auth string as it is signed and sent:
// app_id=...[,app_cert_sn=...],nonce=...,timestamp=..., in that order.
func (a V3Auth) String() string {
	var b strings.Builder
	b.WriteString("app_id=")
	b.WriteString(a.AppID)
	if a.AppCertSN != "" {
		b.WriteString(",app_cert_sn=")
		b.WriteString(a.AppCertSN)
	}
	b.WriteString(",nonce=")
	b.WriteString(a.Nonce)
	b.WriteString(",timestamp=")
	b.WriteString(strconv.FormatInt(a.Timestamp, 10))
	return b.String()
}

// V3Content returns the string a v3 request is signed over:
//
//	<auth>\n<METHOD>\n<path?query>\n<body>\n
//
// followed by "<appAuthToken>\n" when a token is sent. auth is the auth
// string exactly as it appears in the header ([V3Auth.String]);
// pathQuery is the request's path and, when it has one, '?' and its raw
// query; body is the JSON body, or for a multipart request the text of its
// "data" part ("" when there is none).
func V3Content(auth, method, pathQuery, body, appAuthToken string) string {
	n := len(auth) + len(method) + len(pathQuery) + len(body) + 4
	if appAuthToken != "" {
		n += len(appAuthToken) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range []string{auth, method, pathQuery, body} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if appAuthToken != "" {
		b.WriteString(appAuthToken)
		b.WriteByte('\n')
	}
	return b.String()
}

// V3Authorization returns the Authorization header value for an auth
// string and its signature: "ALIPAY-SHA256withRSA <auth>,sign=<sig>".
func V3Authorization(auth, signature string) string {
	return V3Scheme + " " + auth + ",sign=" + signature
}

// ParseV3Authorization splits an Authorization header value into the
// signed auth string (everything between the scheme and ",sign="), its
// fields and the signature. The sign must be the last field; fields other
// than app_id, app_cert_sn, nonce and timestamp are kept in auth (they are
// signed) but not interpreted. Errors wrap [ErrV3Authorization].
func ParseV3Authorization(header string) (auth string, fields V3Auth, signature string, err error) {
	rest, ok := strings.CutPrefix(header, V3Scheme+" ")
	if !ok {
		return "", V3Auth{}, "", fmt.Errorf("%w: scheme is not %s", ErrV3Authorization, V3Scheme)
	}
	i := strings.LastIndex(rest, ",sign=")
	if i < 0 {
		return "", V3Auth{}, "", fmt.Errorf("%w: no sign", ErrV3Authorization)
	}
	auth, signature = rest[:i], rest[i+len(",sign="):]
	if signature == "" {
		return "", V3Auth{}, "", fmt.Errorf("%w: empty sign", ErrV3Authorization)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(auth, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", V3Auth{}, "", fmt.Errorf("%w: field %q is not key=value", ErrV3Authorization, kv)
		}
		if seen[k] {
			return "", V3Auth{}, "", fmt.Errorf("%w: %s appears twice", ErrV3Authorization, k)
		}
		seen[k] = true
		switch k {
		case "app_id":
			fields.AppID = v
		case "app_cert_sn":
			fields.AppCertSN = v
		case "nonce":
			fields.Nonce = v
		case "timestamp":
			ts, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || ts <= 0 {
				return "", V3Auth{}, "", fmt.Errorf("%w: timestamp %q is not Unix milliseconds", ErrV3Authorization, v)
			}
			fields.Timestamp = ts
		}
	}
	return auth, fields, signature, nil
}

// V3ResponseContent returns the content an OpenAPI v3 answer is signed
// over: the alipay-timestamp and alipay-nonce header values and the raw
// body, each followed by '\n'.
func V3ResponseContent(timestamp, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(timestamp)+len(nonce)+len(body)+3)
	b = append(b, timestamp...)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	b = append(b, body...)
	return append(b, '\n')
}
