package dashboard

import (
	"net/http"
	"time"
)

// SetReadTimeout changes how long Run lets a client send one request, so
// that a test can tell an answer given at once from one given when the
// request timed out.
func (s *Server) SetReadTimeout(d time.Duration) {
	s.limits.ReadTimeout = d
	s.limits.WriteTimeout = 2 * d
}

// WithClock returns c with now as the clock of the sign-in throttle.
func WithClock(c Config, now func() time.Time) Config {
	c.now = now
	return c
}

// Handler returns the server's routes, for tests that serve them with
// httptest.
func (s *Server) Handler() http.Handler { return s.handler }
