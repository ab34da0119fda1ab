package tasks

import "github.com/storemedia/alipay-media-worker/mediaroot"

// Reason is the stable, machine-readable cause of a rejected file
// ([RejectError.Reason]) or of a failed attempt (the reason an [Observer]
// is given), for metric labels, manifests and API answers. Each reason
// comes from the package that decides it: a validate.Reason for the
// content ("too_large", "type_mismatch", ...), a mediaroot.Reason for the
// path ("outside_roots", "not_regular", "not_found", ...), or one of this
// package's. Compare with those packages' constants, converted:
// Reason(validate.ReasonTooLarge).
type Reason string

// Reasons of a rejected file decided by this package.
const (
	// ReasonUnreadable: the file could not be read while it was checked
	// or hashed.
	ReasonUnreadable Reason = "unreadable"
	// ReasonInvalidRequest: a field the payload refuses (e.g. an
	// over-long image_pid); for an attempt, the gateway refused the
	// request as malformed.
	ReasonInvalidRequest Reason = "invalid_request"
)

// Reasons of a failed attempt decided by this package (besides the
// gateway's: "alipay_<code>" and "http_<status>").
const (
	reasonBadPayload     Reason = "bad_payload"     // the payload does not decode or validate
	reasonPayloadVersion Reason = "payload_version" // a payload version this worker does not know
	reasonResultWrite    Reason = "result_write"    // uploaded, but the result could not be stored
	reasonOpen           Reason = "open"            // a system error opening the file (retried)
	reasonRead           Reason = "read"            // a read error while checking or sending (retried)
	reasonTransport      Reason = "transport"       // a network or gateway failure (retried)
	reasonUpload         Reason = "upload"          // another upload failure
	reasonBadSignature   Reason = "bad_signature"   // the answer's signature does not verify
	reasonBadResponse    Reason = "bad_response"    // the answer cannot be understood
	reasonPanic          Reason = "panic"           // the attempt panicked (retried)
	reasonUnknown        Reason = "unknown"         // an error of no known class (retried)
	// reasonChanged: the file's size or SHA-256 is not what was recorded
	// at enqueue time; the label of a file replaced while being opened.
	reasonChanged = Reason(mediaroot.ReasonChanged)
)
