package httpapi

// LockSpoolRefs takes the refs lock of a spooled file as a request does,
// for tests of the locking between requests, sweeps and servers.
func (s *Server) LockSpoolRefs(name string) (add func(id string) error, unlock func(), err error) {
	l, err := s.lockRefs(name, true)
	if err != nil {
		return nil, nil, err
	}
	return l.add, l.unlock, nil
}

// ReadTimeout is how long Serve lets a client send one request.
var ReadTimeout = limits.ReadTimeout
