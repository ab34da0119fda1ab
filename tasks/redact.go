package tasks

import (
	"regexp"
	"strings"
)

// secretParam matches query-style secrets in error text: sign=...,
// app_auth_token=... (also URL-encoded keys), up to the next separator.
var secretParam = regexp.MustCompile(`(?i)\b(sign|app_auth_token|app_private_key|private_key)(=|%3D|":\s*")[^&\s"]+`)

// scrub removes the token and any query-style secret from s.
func scrub(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "[redacted]")
	}
	return secretParam.ReplaceAllString(s, "${1}${2}[redacted]")
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
