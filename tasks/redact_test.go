package tasks

import (
	"errors"
	"fmt"
	"testing"
)

func TestScrubReplacesTokenThenSharedRules(t *testing.T) {
	t.Parallel()
	const token = "202401BBtok"
	in := "merchant " + token + " refused: GET /gateway.do?sign=c2ln&sign_type=RSA2&app_id=1"
	want := "merchant [redacted] refused: GET /gateway.do?sign=[redacted]&sign_type=RSA2&app_id=1"
	if got := scrub(in, token); got != want {
		t.Errorf("scrub\n got %q\nwant %q", got, want)
	}
	if got := scrub("plain failure", ""); got != "plain failure" {
		t.Errorf("scrub without secrets = %q", got)
	}
}

func TestRedactKeepsCleanErrors(t *testing.T) {
	t.Parallel()
	clean := errors.New("connection reset by peer")
	if got := redact(clean, []string{"zz42"}); got != clean {
		t.Errorf("redact wrapped an error with nothing to hide: %v", got)
	}
	dirty := fmt.Errorf("post: %w", errors.New("token zz42 rejected"))
	got := redact(dirty, []string{"zz42"})
	if got.Error() != "post: token [redacted] rejected" || !errors.Is(got, dirty) {
		t.Errorf("redact = %q (chain kept: %v)", got, errors.Is(got, dirty))
	}
}
