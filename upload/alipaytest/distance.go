package alipaytest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// far makes the gateway look far away, as Alipay does across the
// internet: with Config.RoundTrip, every answer of the gateway waits that
// long once the handler starts to write it (after the request was read);
// with Config.Bandwidth, every request body is read no faster than that
// many bytes a second. The admin API under /_emulator/ stays near.
func (g *Gateway) far(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		return w, r
	}
	if g.cfg.Bandwidth > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = &narrowBody{ReadCloser: r.Body, ctx: r.Context(), rate: g.cfg.Bandwidth, start: time.Now()}
	}
	if g.cfg.RoundTrip > 0 {
		w = &farWriter{ResponseWriter: w, ctx: r.Context(), delay: g.cfg.RoundTrip}
	}
	return w, r
}

// sleep waits d or until ctx ends; it reports whether it waited all of d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// farWriter holds an answer for the round trip before its first byte.
type farWriter struct {
	http.ResponseWriter
	ctx    context.Context
	delay  time.Duration
	waited bool
}

func (w *farWriter) wait() {
	if !w.waited {
		w.waited = true
		sleep(w.ctx, w.delay)
	}
}

func (w *farWriter) WriteHeader(status int) {
	w.wait()
	w.ResponseWriter.WriteHeader(status)
}

func (w *farWriter) Write(b []byte) (int, error) {
	w.wait()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the reset
// fault hijacks it).
func (w *farWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// narrowBody reads a request body at most rate bytes a second, in pieces
// of at most 20 ms of transfer, so the client's sending is held back
// through TCP as over a narrow link.
type narrowBody struct {
	io.ReadCloser
	ctx   context.Context
	rate  int64
	start time.Time
	n     int64
}

func (b *narrowBody) Read(p []byte) (int, error) {
	if piece := max(b.rate/50, 512); int64(len(p)) > piece {
		p = p[:piece]
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	due := b.start.Add(time.Duration(float64(b.n) / float64(b.rate) * float64(time.Second)))
	sleep(b.ctx, time.Until(due))
	return n, err
}
