package upload

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// failure is how Upload reports everything that is not an [APIError] or an
// [HTTPError]: a class, plus the error it explains. Its Is method matches
// the class sentinel; Unwrap exposes the cause (sentinels such as
// ErrBadSignature, the reader's own error, a redacted *url.Error, ...).
type failure struct {
	class Class
	err   error
	trace string
	// claimed is the raw text of an answer that said success but failed
	// verification; unverified is what it claimed (see UnverifiedResult).
	claimed    []byte
	unverified *Result
}

func (f *failure) Error() string {
	s := f.err.Error()
	if f.trace != "" {
		s += " trace_id=" + f.trace
	}
	if u := f.unverified; u != nil {
		s += fmt.Sprintf("; UNVERIFIED answer claims success as image_id %s", u.ImageID)
		if u.ImageURL != "" {
			s += " (image_url " + u.ImageURL + ")"
		}
	}
	return s
}

// claim records, on a failure to verify an upload's answer that said
// success, the image_id and image_url it claimed. Other errors are
// returned as they are.
func claim(err error) error {
	var f *failure
	if !errors.As(err, &f) || f.claimed == nil || f.unverified != nil {
		return err
	}
	var c Result
	if json.Unmarshal(f.claimed, &c) == nil && c.ImageID != "" {
		c.TraceID = f.trace
		f.unverified = &c
	}
	return err
}

// UnverifiedResult returns what an answer claimed when [Client.Upload]
// failed with [ErrBadSignature] on an answer that said success (a wrong
// but well-formed Alipay public key or certificate does that to every
// upload): its image_id, image_url and the trace id. Nothing proves the
// claim came from Alipay, so it is not a result; but the file is probably
// stored at Alipay under that image_id, so keep it to reconcile before
// uploading the file again. The error's text names the image_id too,
// marked UNVERIFIED.
func UnverifiedResult(err error) (Result, bool) {
	var f *failure
	if errors.As(err, &f) && f.unverified != nil {
		return *f.unverified, true
	}
	return Result{}, false
}

func (f *failure) Unwrap() error              { return f.err }
func (f *failure) Is(target error) bool       { return classIs(f.class, target) }
func (f *failure) traceID() string            { return f.trace }
func permanent(err error) *failure            { return &failure{class: Permanent, err: err} }
func retryable(err error) *failure            { return &failure{class: Retryable, err: err} }
func withTrace(f *failure, t string) *failure { f.trace = t; return f }

// transportFailure classifies an error from http.Client.Do or from reading
// the response body: network trouble and timeouts are retryable, a
// certificate the client refuses is permanent (retrying will not fix it).
// *url.Error values are redacted first, because their text carries the
// whole request URL, sign and app_auth_token included.
func transportFailure(err error) *failure {
	err = redact(err)
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
	)
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		(errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid)) {
		return permanent(err)
	}
	return retryable(err)
}

// redact returns err with the query and fragment of a *url.Error's URL
// removed. Other errors are returned as they are.
func redact(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

// redactURL drops everything from the first '?' or '#'. It works on the raw
// string so that even an unparsable URL loses its query.
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i] + "?[redacted]"
	}
	return s
}
