package tasks

import (
	"github.com/storemedia/alipay-media-worker/internal/secret"
)

// scrub removes the tokens in every encoding ([secret.Remove]) and then
// every secret the shared rules of [secret.ScrubText] recognise (sign=...,
// app_auth_token=..., quoted JSON fields with sensitive names) from s.
func scrub(s string, tokens ...string) string {
	return secret.ScrubText(secret.Remove(s, tokens...))
}

// redactedError carries a scrubbed message while keeping the original
// error chain for errors.Is and errors.As. asynq stores Error() in Redis.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with a message free of the tokens and query secrets.
func redact(err error, tokens []string) error {
	msg := err.Error()
	clean := scrub(msg, tokens...)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// scrubbedErr returns err with a message free of token.
func scrubbedErr(err error, token string) error { return redact(err, []string{token}) }
