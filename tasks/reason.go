package tasks

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

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
	reasonBadSignature   Reason = "bad_signature"   // the answer's signature does not verify (fix: unverifiedFix when it claimed success)
	reasonBadResponse    Reason = "bad_response"    // the answer cannot be understood
	reasonPanic          Reason = "panic"           // the attempt panicked (retried)
	reasonDeferred       Reason = "deferred"        // another attempt holds the job (see Ledger)
	reasonRedis          Reason = "redis"           // Redis failed before the upload (retried)
	reasonRateLimit      Reason = "rate_limit"      // no slot under the fleet's rate limit in time (throttled)
	reasonUnknown        Reason = "unknown"         // an error of no known class (retried)
	// reasonChanged: the file's size or SHA-256 is not what was recorded
	// at enqueue time; the label of a file replaced while being opened.
	reasonChanged = Reason(mediaroot.ReasonChanged)
)

// unsignedSuffix ends the reason of a gateway refusal that came without a
// signature ("alipay_40004_unsigned"): it may be forged.
const unsignedSuffix = "_unsigned"

// gatewayReason is the reason of a gateway refusal: "alipay_<code>", with
// "_unsigned" when the answer carried no signature.
func gatewayReason(e *upload.APIError) Reason {
	r := Reason("alipay_" + e.Code)
	if e.Unsigned {
		r += unsignedSuffix
	}
	return r
}

// ReasonOther stands for a reason that is not one of [KnownReasons], e.g. a
// gateway code nobody has seen before, where the set of values must stay
// bounded (metric labels).
const ReasonOther Reason = "other"

var (
	knownOnce sync.Once
	known     map[Reason]bool
	knownList []Reason
)

// KnownReasons returns every reason the [Handler] gives its [Observer]
// for a known cause: validate's and mediaroot's reasons, this package's,
// "alipay_<code>" and "alipay_<code>_unsigned" for each of
// upload.KnownCodes, and "http_<status>" for each HTTP status from 400 to
// 599 that has a name. A gateway that answers another code still gets its
// own reason in errors and logs; [Reason.Bounded] maps it to [ReasonOther].
func KnownReasons() []Reason {
	knownOnce.Do(func() {
		add := func(r Reason) {
			if !known[r] {
				known[r] = true
				knownList = append(knownList, r)
			}
		}
		known = map[Reason]bool{}
		for _, r := range validate.Reasons() {
			add(Reason(r))
		}
		for _, r := range mediaroot.Reasons() {
			add(Reason(r))
		}
		for _, r := range []Reason{ReasonUnreadable, ReasonInvalidRequest, reasonBadPayload, reasonPayloadVersion,
			reasonResultWrite, reasonOpen, reasonRead, reasonTransport, reasonUpload, reasonBadSignature,
			reasonBadResponse, reasonPanic, reasonUnknown, reasonChanged, reasonDeferred, reasonRedis, reasonRateLimit} {
			add(r)
		}
		for _, r := range merchantReasons {
			add(r)
		}
		for _, c := range upload.KnownCodes {
			add(Reason("alipay_" + c))
			add(Reason("alipay_" + c + unsignedSuffix))
		}
		for s := 400; s < 600; s++ {
			if http.StatusText(s) != "" {
				add(Reason("http_" + strconv.Itoa(s)))
			}
		}
	})
	return append([]Reason(nil), knownList...)
}

// Bounded returns r when it is empty or one of [KnownReasons], and
// [ReasonOther] otherwise: the value to use where the set of values must
// stay small, such as a metric label.
func (r Reason) Bounded() Reason {
	KnownReasons()
	if r == "" || known[r] {
		return r
	}
	return ReasonOther
}

// unverifiedFix is the fix of a bad_signature failure whose answer claimed
// success, appended to its error (%s: the trace id). A wrong but
// well-formed Alipay public key passes the start-up checks and does this to
// every upload, each of which Alipay stored.
const unverifiedFix = "the gateway answered success but the answer's signature does not verify with the configured Alipay public key " +
	"or certificate (ALIPAY_PUBLIC_KEY_FILE, ALIPAY_PUBLIC_CERT_FILE): compare it with the one shown on the open platform; " +
	"the file is probably stored at Alipay under the UNVERIFIED image_id above (trace_id %s; also in the task's result, marked unverified): " +
	"reconcile it with Alipay before re-running this task, which would upload the file again"
