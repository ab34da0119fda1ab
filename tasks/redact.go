package tasks

import (
	"github.com/storemedia/alipay-media-worker/internal/secret"
)

// scrub removes the token in every encoding ([secret.Remove]) and then
// every secret the shared rules of [secret.ScrubText] recognise (sign=...,
// app_auth_token=..., quoted JSON fields with sensitive names) from s.
func scrub(s, token string) string {
	return secret.ScrubText(secret.Remove(s, token))
}

// redactedError carries a scrubbed message while keeping the original
// error chain for errors.Is and errors.As. asynq stores Error() in Redis.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with a message free of token and query secrets.
func redact(err error, token string) error {
	msg := err.Error()
	clean := scrub(msg, token)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}
