package tasks

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Explain is the text of err for a person when its reason is said beside
// it (a manifest row's "reason", "rejected x.jpg (corrupt): ..."): a
// validation failure says what was found and what to do, without the
// package, field and reason its Error() starts with; any other error says
// what Error() says.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	var ve *validate.Error
	if errors.As(err, &ve) {
		return ve.Detail()
	}
	if r := mediaroot.ReasonOf(err); r != "" {
		return rootDetail(err, r)
	}
	return err.Error()
}

// rootDetail is a media root refusal for a person: what was found, with
// the path, and what to do, without the package's prefix.
func rootDetail(err error, r mediaroot.Reason) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "mediaroot: "); i >= 0 {
		msg = msg[i+len("mediaroot: "):]
	}
	return msg + "; " + r.Fix()
}

// permanentError is a permanent failure as asynq sees it: it matches
// asynq.SkipRetry, so the task is archived at once, but its message (what
// asynq stores as the task's last error and what every answer shows) is
// the failure's own, said once, without asynq's "skip retry for the task".
type permanentError struct {
	msg string
	err error
}

func (e *permanentError) Error() string   { return e.msg }
func (e *permanentError) Unwrap() []error { return []error{e.err, asynq.SkipRetry} }

// permanent wraps a permanent failure of the given reason. A validation
// failure or a media root refusal reads "<reason>: <what was found>; <fix>".
func permanent(reason Reason, err error) error {
	msg := err.Error()
	var ve *validate.Error
	if errors.As(err, &ve) {
		msg = string(reason) + ": " + ve.Detail()
	} else if r := mediaroot.ReasonOf(err); r != "" {
		msg = string(reason) + ": " + rootDetail(err, r)
	}
	return &permanentError{msg: msg, err: err}
}

// redisError is Redis failing a command of a [Client]. Its message says
// what failed, why (the network's or Redis's own words, without asynq's
// "asynq: UNKNOWN: UNKNOWN: redis command error: ..." wrapping) and what
// to check. It matches [ErrUnavailable] and unwraps to asynq's error.
type redisError struct {
	op, where string
	err       error
}

func (e *redisError) Error() string {
	return fmt.Sprintf("Redis failed while %s: %s (is Redis reachable at %s?)", e.op, redisCause(e.err), e.where)
}

func (e *redisError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// unavailable wraps err, Redis failing while doing op ("looking up a
// task"), with the client's Redis address.
func (c *Client) unavailable(op string, err error) error {
	return &redisError{op: op, where: c.where, err: err}
}

// redisCause is the first error in err's chain that is neither asynq's
// own nor a plain fmt wrapping: the network's or Redis's words.
func redisCause(err error) string {
	for e := err; e != nil; {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		pkg := t.PkgPath()
		if pkg != "fmt" && !strings.HasPrefix(pkg, "github.com/hibiken/asynq") {
			return e.Error()
		}
		next := errors.Unwrap(e)
		if next == nil {
			return e.Error()
		}
		e = next
	}
	return "unknown error"
}
