package tasks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/rawjson"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// TypeUpload is the asynq task type of a store media upload.
const TypeUpload = "alipay:material_image_upload"

// PayloadVersion is the payload version [NewUploadTask] writes. The
// [Handler] understands it and [PayloadVersion1]; a payload with any other
// version is rejected permanently, so an old worker never misreads a newer
// job.
//
// Version 2 names the merchant (Merchant, its auth_app_id) instead of
// carrying its app_auth_token: the worker reads the merchant's current
// token when it uploads. A token an application holds itself travels only
// sealed (SealedToken). Version 1 carried the raw token (AppAuthToken); the
// worker still runs version 1 jobs so that queues drain, and nothing in
// this module writes them any more.
const PayloadVersion = 2

// PayloadVersion1 is the first payload version, whose app_auth_token field
// holds a merchant's token in clear. Read, never written.
const PayloadVersion1 = 1

// UploadPayload is the JSON payload of a [TypeUpload] task.
//
// The file is referred to by path, never embedded: the worker opens it inside
// its configured media roots. SHA256 and Size record what the file looked
// like when the job was queued; the worker refuses to upload anything else.
type UploadPayload struct {
	// Version is the payload version. [NewUploadTask] sets it to
	// [PayloadVersion] when it is zero.
	Version int `json:"version"`
	// Path is the absolute path of the file, inside one of the worker's
	// media roots, or the s3://bucket/key URL of an object under one of
	// its bucket media roots. Required.
	Path string `json:"path"`
	// ImageName is the name Alipay stores (image_name). Required, at most
	// 128 characters.
	ImageName string `json:"image_name"`
	// ImageType is the declared format (image_type), e.g. "jpg", "mp4".
	// Optional: when empty the worker uses the type found in the content;
	// when set, content of another type is rejected.
	ImageType string `json:"image_type,omitempty"`
	// ImagePID is the optional partner id the image belongs to (image_pid).
	ImagePID string `json:"image_pid,omitempty"`
	// Merchant is the auth_app_id of the merchant an ISV uploads for, as
	// authorized with the merchant package (enqueue merchant authorize):
	// the worker reads the merchant's current app_auth_token when it
	// uploads, refreshing it when needed. Version 2 only. Optional: empty
	// for an application uploading for itself, or with SealedToken.
	Merchant string `json:"merchant,omitempty"`
	// SealedToken is an app_auth_token the application holds itself,
	// encrypted with the merchant key file (AES-256-GCM; see [Sealer]):
	// only a worker with that key file (MERCHANT_KEY_FILE) can read it.
	// The worker sends it as it is: it cannot refresh a token it did not
	// obtain. Version 2 only, never together with Merchant; requires
	// TokenDigest.
	SealedToken string `json:"sealed_token,omitempty"`
	// TokenDigest names the sealed token for the task ID (dedupe) without
	// revealing it: [TokenDigest] of the token, 32 hex digits of a SHA-256.
	// Required with SealedToken, and only with it.
	TokenDigest string `json:"token_digest,omitempty"`
	// AppAuthToken is the merchant token of a version 1 payload, in clear.
	// Version 1 only: a version 2 payload holding one is refused, so that
	// no new job puts a token into Redis in clear. The [Handler] never logs
	// it, never puts it into error messages or task IDs, and the dashboard's
	// [github.com/storemedia/alipay-media-worker/dashboard.FormatPayload]
	// masks it.
	AppAuthToken string `json:"app_auth_token,omitempty"`
	// SHA256 is the lowercase hex SHA-256 of the file at enqueue time.
	// Required.
	SHA256 string `json:"sha256"`
	// Size is the file's size in bytes at enqueue time. Required (> 0).
	Size int64 `json:"size"`
	// Convert asks for conversion: a HEIC/HEIF or WebP photo, or a JPEG
	// over the size limit (or the worker's pixel cap), is converted to a
	// JPEG that fits before it is sent, if the worker allows conversion
	// (UPLOAD_CONVERT=on; see the convert package). SHA256 and Size stay
	// the original's. Optional (false, left out of the JSON: files are
	// sent as they are or refused, as in payloads written before the
	// field existed).
	Convert bool `json:"convert,omitempty"`
}

// Sentinel errors of the payload. Both are permanent: a handler that meets
// them archives the task at once.
var (
	// ErrInvalidPayload reports a payload that cannot be decoded or that
	// misses or breaks a required field.
	ErrInvalidPayload = errors.New("tasks: invalid payload")
	// ErrPayloadVersion reports a payload version this code does not know.
	ErrPayloadVersion = errors.New("tasks: unknown payload version")
)

// Validate checks the payload's fields. Errors wrap [ErrInvalidPayload] or
// [ErrPayloadVersion] and never contain the app_auth_token; a bad
// image_name (validate.CheckName, the rule of every entry point) also
// wraps its *validate.Error.
func (p *UploadPayload) Validate() error {
	if p.Version != PayloadVersion && p.Version != PayloadVersion1 {
		return fmt.Errorf("%w %d (this worker understands %d and %d)", ErrPayloadVersion, p.Version, PayloadVersion1, PayloadVersion)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPayload, fmt.Sprintf(format, args...))
	}
	if err := p.validateMerchant(); err != nil {
		return err
	}
	// The one name rule of every entry point, also for payloads written
	// by programs that do not use this package.
	if err := validate.CheckName(p.ImageName); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	object := mediaroot.IsObjectURL(p.Path)
	if object {
		if _, key, err := mediaroot.ParseObjectURL(p.Path); err != nil || key == "" || strings.HasSuffix(key, "/") {
			return bad("path %q is not an s3://bucket/key URL of an object", p.Path)
		}
	}
	switch {
	case p.Path == "":
		return bad("path is empty")
	case !object && !filepath.IsAbs(p.Path):
		return bad("path %q is not absolute", p.Path)
	case strings.ContainsRune(p.Path, 0):
		return bad("path contains a NUL byte")
	case len(p.ImageType) > upload.MaxImageTypeLen:
		return bad("image_type is longer than %d characters", upload.MaxImageTypeLen)
	case len(p.ImagePID) > upload.MaxImagePIDLen:
		return bad("image_pid is longer than %d characters", upload.MaxImagePIDLen)
	case p.Size <= 0:
		return bad("size %d is not positive", p.Size)
	case !isSHA256Hex(p.SHA256):
		return bad("sha256 is not 64 lowercase hex digits")
	}
	return nil
}

// MaxMerchantLen bounds a payload's merchant (an auth_app_id, 16 digits
// at Alipay today).
const MaxMerchantLen = 64

// validateMerchant checks the fields naming whose token the job uses, by
// version: version 1 may carry app_auth_token only; version 2 never does,
// and names either a merchant or a sealed token with its digest.
func (p *UploadPayload) validateMerchant() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPayload, fmt.Sprintf(format, args...))
	}
	if p.Version == PayloadVersion1 {
		if p.Merchant != "" || p.SealedToken != "" || p.TokenDigest != "" {
			return bad("merchant, sealed_token and token_digest need payload version %d", PayloadVersion)
		}
		return nil
	}
	switch {
	case p.AppAuthToken != "":
		return bad("app_auth_token in clear is refused in payload version %d: name the authorized merchant (merchant) or seal the token (sealed_token)", p.Version)
	case len(p.Merchant) > MaxMerchantLen:
		return bad("merchant is longer than %d characters", MaxMerchantLen)
	case p.Merchant != "" && !printableASCII(p.Merchant):
		return bad("merchant holds characters other than printable ASCII")
	case p.Merchant != "" && p.SealedToken != "":
		return bad("merchant and sealed_token together: a job uses either the stored token of a merchant or a sealed one, not both")
	case p.SealedToken != "" && !isHex(p.TokenDigest, tokenDigestLen):
		return bad("token_digest is not %d lowercase hex digits (tasks.TokenDigest of the sealed token)", tokenDigestLen)
	case p.SealedToken == "" && p.TokenDigest != "":
		return bad("token_digest without sealed_token")
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// decodeUploadPayload decodes and validates a [TypeUpload] payload. Unknown
// JSON fields are rejected; an image_name holding invalid UTF-8 (raw, or a
// lone surrogate escape) is refused, not replaced as encoding/json would. Errors wrap [ErrInvalidPayload] or
// [ErrPayloadVersion].
func decodeUploadPayload(data []byte) (UploadPayload, error) {
	// image_name is decoded with its invalid UTF-8 kept, so that the name
	// rule refuses it rather than encoding/json replacing it silently.
	var w struct {
		UploadPayload
		ImageName rawjson.String `json:"image_name"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&w)
	p := w.UploadPayload
	p.ImageName = string(w.ImageName)
	if err != nil {
		// Decoder errors quote offsets and types, never field values.
		return UploadPayload{}, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	if dec.More() {
		return UploadPayload{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidPayload)
	}
	if err := p.Validate(); err != nil {
		return UploadPayload{}, err
	}
	return p, nil
}

// Digest reads r to the end and returns the lowercase hex SHA-256 and the
// number of bytes read: the SHA256 and Size fields of an [UploadPayload].
func Digest(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, fmt.Errorf("tasks: digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func isSHA256Hex(s string) bool { return isHex(s, sha256.Size*2) }

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
