package testredis

import (
	"fmt"
	"os"
)

// StartProcess launches a private, in-memory redis-server outside any test:
// from a TestMain (see [StartMain]) or from a command such as cmd/bench. It
// returns the server's redis:// URL and a stop function that kills the
// server and removes its directory, or an error when the server cannot
// start.
func StartProcess() (url string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "testredis-main-")
	if err != nil {
		return "", nil, fmt.Errorf("testredis: %w", err)
	}
	s := &Server{dir: dir}
	if err := s.run(); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return s.URL(), func() {
		s.Kill()
		_ = os.RemoveAll(dir)
	}, nil
}

// StartMain launches a private, in-memory redis-server from a TestMain,
// where no *testing.T exists (runnable examples need Redis too). It returns
// the server's redis:// URL and a stop function to call when m.Run returns,
// which kills the server and removes its directory. It panics when the
// server cannot start, which fails the whole test binary loudly.
func StartMain() (url string, stop func()) {
	url, stop, err := StartProcess()
	if err != nil {
		panic(err.Error())
	}
	return url, stop
}
