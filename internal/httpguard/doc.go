// Package httpguard holds what the module's two HTTP listeners ("enqueue
// serve" and the worker's dashboard) do so that a client cannot hold them
// hostage: bounded header, body and idle times, a bound on the
// connections open at once, and refusals that answer at once and close.
//
// # Why refusals close the connection
//
// A client may announce a body (Content-Length: 1000) and never send it.
// net/http answers a handler's early refusal only after reading the rest of
// the body, to keep the connection usable, so such a client got its 401 only
// when the read timeout ran out and held a goroutine and a file descriptor
// meanwhile. [Refuse] marks the answer as the connection's last and ends
// reading at once: the refusal leaves immediately, and the connection is
// closed without the body being read.
//
// # Connections
//
// [Serve] wraps the listener so that at most [Limits.MaxConns] connections
// are open at once; further ones wait in the kernel's accept queue until a
// connection closes. Together with the timeouts (a client without valid
// credentials is refused at once, a slow one is cut off after
// [Limits.ReadHeaderTimeout] or [Limits.ReadTimeout], an idle keep-alive
// connection after [Limits.IdleTimeout]) this keeps the number of file
// descriptors bounded whatever clients do.
package httpguard
