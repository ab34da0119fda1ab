package httpguard

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what clients can hold on one listener. Every field must be
// positive.
type Limits struct {
	// MaxConns is the number of connections open at once; further ones
	// wait to be accepted until one closes.
	MaxConns int
	// ReadHeaderTimeout bounds the time to send the request line and
	// headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to send a whole request, body
	// included. It starts again with every request of a connection.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers
	// to the end of the answer, so it must exceed ReadTimeout.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// ErrLimits reports a [Limits] with a field that is not positive.
var ErrLimits = errors.New("httpguard: every limit must be positive")

func (l Limits) check() error {
	if l.MaxConns <= 0 || l.ReadHeaderTimeout <= 0 || l.ReadTimeout <= 0 || l.WriteTimeout <= 0 ||
		l.IdleTimeout <= 0 || l.MaxHeaderBytes <= 0 {
		return fmt.Errorf("%w: %+v", ErrLimits, l)
	}
	return nil
}

// Serve answers requests on ln with h under the limits l until ctx is
// done, then shuts down: requests in flight get grace to finish, after
// which their connections are closed. It closes ln. errorLog receives
// net/http's own complaints (nil: the standard logger). It returns nil
// after a shutdown asked by ctx, or the error that stopped serving.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, l Limits, errorLog *log.Logger, grace time.Duration) error {
	if err := l.check(); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(newLimitListener(ln, l.MaxConns)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Refuse makes the answer about to be written to w the last one of its
// connection and stops reading the request: call it before answering a
// request that is refused (401, 403, 429) or whose body is not wanted. The
// answer then leaves at once, even if the client announced a body it does
// not send, and the connection is closed without reading that body.
func Refuse(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	// Unsupported only by writers that are not a connection (httptest's
	// recorder), where nothing waits for a body anyway.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// limitListener accepts at most n connections open at once.
type limitListener struct {
	net.Listener
	slots     chan struct{} // one element per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitConn gives its slot back when closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection, which net/http does before it
// closes one after an answer (so that the answer is not lost to a reset).
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
