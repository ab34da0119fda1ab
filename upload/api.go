package upload

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/storemedia/alipay-media-worker/sign"
)

// Gateway addresses.
const (
	// ProductionGateway is Alipay's classic gateway, the default.
	ProductionGateway = "https://openapi.alipay.com/gateway.do"
	// SandboxGateway is Alipay's sandbox gateway.
	SandboxGateway = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

// Method is the API method this package calls.
const Method = "alipay.offline.material.image.upload"

// ResponseNode is the JSON key of the method's response node.
const ResponseNode = "alipay_offline_material_image_upload_response"

// Limits Alipay documents for the method's fields.
const (
	MaxFileSize     = 5 << 20 // bytes of image_content
	MaxImageNameLen = 128     // characters of image_name
	MaxImageTypeLen = 8       // characters of image_type
	MaxImagePIDLen  = 16      // characters of image_pid
)

// Config configures a [Client]. Zero values take the documented defaults.
type Config struct {
	// GatewayURL is the classic gateway endpoint. Default [ProductionGateway].
	GatewayURL string
	// AppID is the application's app_id. Required.
	AppID string
	// Signer signs requests (RSA2). Required; usually sign.RSA2{Key: k}.
	Signer sign.Signer
	// AlipayPublicKey verifies response signatures. Required.
	AlipayPublicKey *rsa.PublicKey
	// AppCertSN and AlipayRootCertSN switch on certificate mode when set.
	AppCertSN        string
	AlipayRootCertSN string
	// HTTPClient sends requests. Default: a client with Timeout and sane
	// transport timeouts. Its Timeout is not changed when supplied.
	HTTPClient *http.Client
	// Timeout bounds one whole request (send and response). Default 60s.
	Timeout time.Duration
	// UserAgent is sent as User-Agent. Default "alipay-media-worker/<version>".
	UserAgent string
	// Now is the clock used for the timestamp. Default time.Now.
	Now func() time.Time
	// Boundary returns the multipart boundary. Default: random.
	Boundary func() string
}

// Request describes one file to upload.
type Request struct {
	// Content is read exactly once, from start to Size bytes. Required.
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
	// extension of ImageType when it has none.
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
)

// APIError is an error answer from the gateway (a response node whose code
// is not 10000, or an error_response node).
type APIError struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
	TraceID string `json:"trace_id,omitempty"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("alipay %s %s", e.Code, e.Msg)
	if e.SubCode != "" {
		s += fmt.Sprintf(" (%s: %s)", e.SubCode, e.SubMsg)
	}
	if e.TraceID != "" {
		s += " trace_id=" + e.TraceID
	}
	return s
}

// Class classifies the error: 20000 retryable, 40005 throttled, others
// permanent.
func (e *APIError) Class() Class {
	switch e.Code {
	case "20000":
		return Retryable
	case "40005":
		return Throttled
	default:
		return Permanent
	}
}

// Is lets errors.Is match an APIError against the class sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRetryable:
		return e.Class() == Retryable
	case ErrThrottled:
		return e.Class() == Throttled
	case ErrPermanent:
		return e.Class() == Permanent
	}
	return false
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
