package upload

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Gateway addresses.
const (
	// ProductionGateway is Alipay's classic gateway, the default.
	ProductionGateway = "https://openapi.alipay.com/gateway.do"
	// SandboxGateway is Alipay's sandbox gateway.
	SandboxGateway = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

// OpenAPI v3 endpoints (scheme and host; paths are added per call).
const (
	// ProductionV3Endpoint is Alipay's OpenAPI v3 endpoint.
	ProductionV3Endpoint = "https://openapi.alipay.com"
	// SandboxV3Endpoint is the sandbox's OpenAPI v3 endpoint.
	SandboxV3Endpoint = "https://openapi-sandbox.dl.alipaydev.com"
)

// Protocol is the Alipay protocol a [Client] speaks.
type Protocol string

// The protocols. Both send the same fields and give the same results and
// error classes.
const (
	// Classic is the gateway.do protocol: system parameters in the query,
	// RSA2 sign over sorted key=value pairs, answers in a signed node.
	Classic Protocol = "classic"
	// V3 is OpenAPI v3: an Authorization header signed over method, path,
	// body and token, answers signed in alipay-signature headers.
	V3 Protocol = "v3"
)

// ErrProtocol reports an unknown protocol name.
var ErrProtocol = errors.New("upload: unknown protocol")

// ParseProtocol returns the protocol named s ("classic" or "v3", any case;
// "" is Classic).
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(strings.ToLower(strings.TrimSpace(s))); p {
	case "", Classic:
		return Classic, nil
	case V3:
		return V3, nil
	}
	return "", fmt.Errorf("%w %q: want %s or %s", ErrProtocol, s, Classic, V3)
}

// defaultUserAgent is the User-Agent sent when Config.UserAgent is empty.
const defaultUserAgent = "alipay-media-worker/1"

// Limits Alipay documents for the method's fields; all but image_pid's are
// the validate package's.
const (
	MaxFileSize     = validate.DefaultMaxSize  // bytes of image_content
	maxImageNameLen = validate.MaxNameLen      // characters of image_name
	MaxImageTypeLen = validate.MaxImageTypeLen // characters of image_type
	MaxImagePIDLen  = 16                       // characters of image_pid
)

// Config configures a [Client]. Zero values take the documented defaults;
// [New] validates it.
type Config struct {
	// Protocol is the protocol spoken: [Classic] (default) or [V3].
	Protocol Protocol
	// GatewayURL is the classic gateway endpoint. Default
	// [ProductionGateway]; use [SandboxGateway] for Alipay's sandbox or the
	// URL of an alipaytest emulator in tests.
	GatewayURL string
	// V3Endpoint is the OpenAPI v3 base URL, to which paths such as
	// "/v3/alipay/offline/material/image/upload" are appended. Default: the scheme and host of
	// GatewayURL (so [ProductionGateway] gives [ProductionV3Endpoint]).
	V3Endpoint string
	// AppID is the application's app_id. Required.
	AppID string
	// Signer signs requests (RSA2). Required; usually sign.RSA2{Key: k}.
	// [KeysFromFiles] and [CertKeysFromFiles] build it from key files.
	Signer sign.Signer
	// AlipayPublicKey verifies response signatures. Required unless
	// Verifier is set.
	AlipayPublicKey *rsa.PublicKey
	// Verifier verifies response signatures instead of AlipayPublicKey
	// when set. Default sign.RSA2Verifier{Key: AlipayPublicKey}.
	Verifier sign.Verifier
	// AppCertSN and AlipayRootCertSN switch on certificate mode when set;
	// set both or neither.
	AppCertSN        string
	AlipayRootCertSN string
	// AlipayCertSN is the serial number of Alipay's certificate (certificate
	// mode). When set, a v3 answer naming another certificate in its
	// alipay-sn header is refused.
	AlipayCertSN string
	// HTTPClient sends requests. Default: a client of its own whose
	// transport bounds dialling (DialTimeout), the TLS handshake and the
	// wait for response headers (ResponseHeaderTimeout), and which does
	// not follow redirects. A supplied client is used as it is.
	HTTPClient *http.Client
	// Timeout bounds one whole Upload (sending the file and reading the
	// answer), applied as a context deadline, also with a supplied
	// HTTPClient. Default 60s; negative means no limit beyond the
	// caller's context.
	Timeout time.Duration
	// DialTimeout bounds opening a connection (default client only).
	// Default 10s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response headers once
	// the whole body is sent (default client only). Default 30s.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost is how many idle keep-alive connections to the
	// gateway are kept for reuse (default client only). Set it to at least
	// the number of concurrent uploads: with fewer, every upload beyond it
	// closes its connection when done and the next one dials a new one.
	// Default [DefaultMaxIdleConnsPerHost].
	MaxIdleConnsPerHost int
	// UserAgent is sent as User-Agent. Default "alipay-media-worker/1".
	UserAgent string
	// MaxFileSize is the largest Request.Size accepted. Default
	// [MaxFileSize] (5 MB), Alipay's documented limit.
	MaxFileSize int64
	// Logger receives debug records about each upload (never keys, signs
	// or app_auth_token values). Default: discard.
	Logger *slog.Logger
	// Now is the clock used for the timestamp. Default time.Now.
	Now func() time.Time
	// Nonce returns the v3 nonce and alipay-request-id values, called
	// twice per v3 request. Default: a random UUID.
	Nonce func() string
	// Boundary returns the multipart boundary (1 to 70 characters of the
	// RFC 2046 alphabet), called once per upload; an invalid one fails
	// that upload with ErrInvalidRequest. Default: random.
	Boundary func() string
	// Limiter, when set, paces every call (see [Limiter]): the Client
	// waits for its slot before each request and tells it of throttled
	// answers. Default: none, every call goes at once.
	Limiter Limiter
}

// Request describes one file to upload.
type Request struct {
	// Content is read once, from its current position, while the request
	// is sent: it must yield exactly Size bytes and then io.EOF (Upload
	// reads once past Size to check). Upload never closes it and does not
	// touch it after returning. Required.
	Content io.Reader
	// Size is the exact number of bytes Content yields. Required (> 0).
	Size int64
	// ImageType is the format, e.g. "jpg", "png", "mp4". Required.
	ImageType string
	// ImageName is the name Alipay stores. Required, at most 128 chars.
	ImageName string
	// ImagePID is the optional partner id (at most 16 chars).
	ImagePID string
	// AppAuthToken is the optional merchant token (ISV acting for a merchant).
	AppAuthToken string
	// FileName is the multipart filename. Default: ImageName, given the
	// extension of ImageType when it has none. Control characters are
	// replaced by '_'.
	FileName string
	// ContentType is the file part's content type. Default: derived from
	// ImageType (image/jpeg, image/png, ..., video/mp4,
	// application/octet-stream).
	ContentType string
}

// Result is what a successful upload returns.
type Result struct {
	ImageID  string `json:"image_id"`
	ImageURL string `json:"image_url"`
	TraceID  string `json:"trace_id,omitempty"`
}

// Class says what a caller should do about a failed upload.
type Class int

const (
	// Permanent failures will fail again: do not retry.
	Permanent Class = iota
	// Retryable failures (network, timeouts, HTTP 5xx, code 20000) may
	// succeed if tried again after a backoff.
	Retryable
	// Throttled means Alipay asked to slow down (code 40005): retry later
	// without counting it as a failed attempt.
	Throttled
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Throttled:
		return "throttled"
	default:
		return "permanent"
	}
}

// Sentinel errors. Every error returned by [Client.Upload] matches exactly
// one of ErrRetryable, ErrThrottled and ErrPermanent with errors.Is.
var (
	ErrRetryable = errors.New("upload: retryable failure")
	ErrThrottled = errors.New("upload: throttled by gateway")
	ErrPermanent = errors.New("upload: permanent failure")
	// ErrBadSignature: the response signature did not verify (permanent).
	ErrBadSignature = errors.New("upload: response signature invalid")
	// ErrBadResponse: the response could not be understood (permanent).
	ErrBadResponse = errors.New("upload: malformed gateway response")
	// ErrInvalidRequest: the request was rejected before sending (permanent).
	ErrInvalidRequest = errors.New("upload: invalid request")
	// ErrContent: Request.Content failed while it was being sent, or
	// yielded a different number of bytes than Request.Size (permanent,
	// unless the reader's error is a context cancellation or deadline,
	// which is retryable). The request is aborted, never completed. The
	// error also wraps the reader's own error, or [ErrSizeMismatch].
	ErrContent = errors.New("upload: reading content")
	// ErrSizeMismatch: Request.Content yielded fewer or more bytes than
	// Request.Size. Always found together with [ErrContent].
	ErrSizeMismatch = errors.New("upload: content size does not match Request.Size")
	// ErrAppAuthToken matches an [*APIError] saying the app_auth_token is
	// invalid or expired: classic 20001 with aop.invalid-app-auth-token or
	// aop.app-auth-token-time-out, v3 invalid-app-auth-token or
	// app-auth-token-time-out. Such an error is permanent for the request
	// as sent; a refreshed token may succeed.
	ErrAppAuthToken = errors.New("upload: app_auth_token invalid or expired")
)

// APIError is an error answer from Alipay: on the classic gateway a
// response node whose code is not 10000, or an error_response node; on v3
// a non-2xx answer with a JSON {"code","message"} body, whose HTTP status
// is StatusCode and whose message is Msg.
type APIError struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
	TraceID string `json:"trace_id,omitempty"`
	// StatusCode is the HTTP status of a v3 answer; 0 on the classic
	// gateway, whose answers are all HTTP 200.
	StatusCode int `json:"status_code,omitempty"`
	// Unsigned is set when the answer carried no signature, so nothing
	// proves it came from Alipay: it is final only for the codes of
	// [UnsignedFinalSubCodes], and transient (retryable) otherwise. Its
	// Error text starts with "unsigned".
	Unsigned bool `json:"unsigned,omitempty"`
}

// KnownCodes are the gateway's error codes this package knows: the classic
// codes, then the v3 codes (the public sub_codes without their "isv.",
// "aop." or "isp." prefix; docs/protocol-notes.md). Callers that turn codes
// into metric labels bound them to this list.
var KnownCodes = []string{
	"20000", "20001", "40001", "40002", "40003", "40004", "40005", "40006",
	"unknow-error", "invalid-app-auth-token", "app-auth-token-time-out", "invalid-app-auth-token-no-api",
	"invalid-auth-token", "auth-token-time-out", "app-call-limited", "method-call-limited",
	"missing-app-id", "invalid-app-id", "missing-signature", "invalid-signature",
	"missing-signature-type", "invalid-signature-type", "missing-timestamp", "invalid-timestamp",
	"missing-method", "invalid-method", "missing-version", "invalid-format", "invalid-charset",
	"missing-parameter", "invalid-parameter", "invalid-file-size", "invalid-file-extension",
	"upload-fail", "app-cert-not-exist", "invalid-alipay-root-cert-sn", "invalid-app-state",
	"insufficient-isv-permissions",
}

// UnsignedFinalSubCodes are the failures Alipay answers unsigned because
// it cannot sign for the request: it does not know which application is
// calling, or with which algorithm to sign. Classic sub_codes, and their v3
// codes (the sub_code without its "isv." prefix). An unsigned answer with
// any other code cannot be told from a forged one and is treated as
// transient. docs/protocol-notes.md ("Unsigned error answers") gives the
// sources and the reasoning.
var UnsignedFinalSubCodes = []string{
	"isv.missing-app-id",
	"isv.invalid-app-id",
	"isv.missing-signature-type",
	"isv.invalid-signature-type",
}

// unsignedFinal reports whether an unsigned answer with this error is
// final: its classic sub_code, or its v3 code with "isv." in front, is one
// of [UnsignedFinalSubCodes].
func (e *APIError) unsignedFinal() bool {
	code := e.SubCode
	if e.StatusCode != 0 {
		code = "isv." + e.Code
	}
	for _, c := range UnsignedFinalSubCodes {
		if code == c {
			return true
		}
	}
	return false
}

func (e *APIError) Error() string {
	if e.Unsigned {
		return "unsigned answer, not verified as Alipay's: " + e.text()
	}
	return e.text()
}

func (e *APIError) text() string {
	if e.StatusCode != 0 {
		s := fmt.Sprintf("alipay HTTP %d %s: %s", e.StatusCode, e.Code, e.Msg)
		if e.TraceID != "" {
			s += " trace_id=" + e.TraceID
		}
		return s
	}
	s := fmt.Sprintf("alipay %s %s", e.Code, e.Msg)
	switch {
	case e.SubCode != "" && e.SubMsg != "":
		s += fmt.Sprintf(" (%s: %s)", e.SubCode, e.SubMsg)
	case e.SubCode != "":
		s += " (" + e.SubCode + ")"
	}
	if e.TraceID != "" {
		s += " trace_id=" + e.TraceID
	}
	return s
}

// Class classifies the error. Classic: 20000 retryable, 40005 throttled,
// others permanent. v3: an invalid or expired app_auth_token permanent,
// app-call-limited, method-call-limited and HTTP 429 throttled,
// unknow-error, HTTP 5xx and 408 retryable, others permanent. An unsigned
// answer that would be permanent is retryable unless its code is one of
// [UnsignedFinalSubCodes].
func (e *APIError) Class() Class {
	c := e.signedClass()
	if c == Permanent && e.Unsigned && !e.unsignedFinal() {
		return Retryable
	}
	return c
}

// signedClass is the class of the error as if it were signed.
func (e *APIError) signedClass() Class {
	if e.StatusCode != 0 {
		switch {
		case e.tokenProblem():
			return Permanent
		case e.Code == "app-call-limited", e.Code == "method-call-limited", e.StatusCode == http.StatusTooManyRequests:
			return Throttled
		case e.Code == "unknow-error", e.StatusCode >= 500, e.StatusCode == http.StatusRequestTimeout:
			return Retryable
		}
		return Permanent
	}
	switch e.Code {
	case "20000":
		return Retryable
	case "40005":
		return Throttled
	default:
		return Permanent
	}
}

// tokenProblem reports an invalid or expired app_auth_token, said in a
// signed answer (an unsigned one may be forged).
func (e *APIError) tokenProblem() bool {
	if e.Unsigned {
		return false
	}
	if e.StatusCode != 0 {
		return e.Code == "invalid-app-auth-token" || e.Code == "app-auth-token-time-out"
	}
	return e.Code == "20001" && (e.SubCode == "aop.invalid-app-auth-token" || e.SubCode == "aop.app-auth-token-time-out")
}

// Is lets errors.Is match an APIError against the class sentinels and
// [ErrAppAuthToken].
func (e *APIError) Is(target error) bool {
	if target == ErrAppAuthToken {
		return e.tokenProblem()
	}
	return classIs(e.Class(), target)
}

// Classify returns the class of any error returned by [Client.Upload]. Errors
// of unknown origin are Permanent; nil is Permanent too (nothing to retry).
func Classify(err error) Class {
	switch {
	case errors.Is(err, ErrThrottled):
		return Throttled
	case errors.Is(err, ErrRetryable):
		return Retryable
	default:
		return Permanent
	}
}

// HTTPError is a gateway answer whose HTTP status is not 200. Status 5xx and
// 408 are retryable, 429 throttled, anything else permanent.
type HTTPError struct {
	StatusCode int    `json:"status_code"`
	TraceID    string `json:"trace_id,omitempty"`
	// Body is the start of the response body (at most 256 bytes), for
	// diagnosis, with every encoding of the request's sign and
	// app_auth_token removed from the whole body before it was cut (a
	// proxy's error page may echo the request URL), then anything
	// secret.ScrubText recognises.
	Body string `json:"body,omitempty"`
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("upload: gateway answered HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.TraceID != "" {
		s += " trace_id=" + e.TraceID
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Class classifies the error by its status code.
func (e *HTTPError) Class() Class {
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return Throttled
	case e.StatusCode >= 500, e.StatusCode == http.StatusRequestTimeout:
		return Retryable
	default:
		return Permanent
	}
}

// Is lets errors.Is match an HTTPError against the class sentinels.
func (e *HTTPError) Is(target error) bool { return classIs(e.Class(), target) }

// traceOf returns the gateway trace id carried by an error returned by
// [Client.Upload] (from the trace_id response header, alipay-trace-id on
// v3), or "" when the
// failure happened before an answer arrived.
func traceOf(err error) string {
	var t interface{ traceID() string }
	if errors.As(err, &t) {
		return t.traceID()
	}
	return ""
}

func (e *APIError) traceID() string  { return e.TraceID }
func (e *HTTPError) traceID() string { return e.TraceID }

// classIs reports whether target is the sentinel of class c.
func classIs(c Class, target error) bool {
	switch target {
	case ErrRetryable:
		return c == Retryable
	case ErrThrottled:
		return c == Throttled
	case ErrPermanent:
		return c == Permanent
	}
	return false
}
