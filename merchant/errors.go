package merchant

import "errors"

// Sentinel errors of the package; match them with errors.Is.
var (
	// ErrNotFound reports a merchant that is not stored: never authorized,
	// or removed.
	ErrNotFound = errors.New("merchant: not authorized here")
	// ErrUnauthorized reports a merchant whose authorization no longer
	// works (refresh refused, authorization cancelled): it must authorize
	// the app again before its jobs can upload.
	ErrUnauthorized = errors.New("merchant: reauthorization required")
	// ErrCode reports an app_auth_code Alipay refused: unknown, already
	// used or expired.
	ErrCode = errors.New("merchant: app_auth_code refused")
	// ErrKey reports a stored secret that no key of the configured key
	// file opens (wrong or rotated-out key file), or a key file that
	// cannot be used.
	ErrKey = errors.New("merchant key file")
)
