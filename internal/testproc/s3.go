package testproc

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// S3Options tune a private S3-compatible server. The zero value is a
// server on a free port storing its buckets in a new temporary directory,
// with a random root key pair.
type S3Options struct {
	// AccessKey and SecretKey are the root user's credentials. Empty: a
	// random pair.
	AccessKey, SecretKey string
	// Dir is the directory whose subdirectories are the buckets. Empty: a
	// new temporary directory, removed by [S3.Close].
	Dir string
	// Buckets are created (as directories) before the server starts.
	Buckets []string
}

// S3 is a running private versitygw (posix backend): an S3-compatible
// server on loopback.
type S3 struct {
	opts   S3Options
	dir    string
	ownDir bool
	port   int
	proc   *Proc
}

// versitygw finds the versitygw binary: $VERSITYGW, else versitygw on
// PATH, else in $GOBIN or $(go env GOPATH)/bin, where `make deps` puts
// it.
func versitygw() (string, error) {
	if name := os.Getenv("VERSITYGW"); name != "" {
		return exec.LookPath(name)
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) >= 1 && strings.TrimSpace(lines[0]) != "" {
			dirs = append(dirs, strings.TrimSpace(lines[0]))
		}
		if len(lines) >= 2 {
			for _, gp := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(gp, "bin"))
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("testproc: versitygw not found on PATH, in GOBIN or in $(go env GOPATH)/bin: run `make deps` (go install github.com/versity/versitygw/cmd/versitygw@" + VersitygwVersion + "), or set VERSITYGW to the binary")
}

// VersitygwVersion is the versitygw release the tests run (.ci/deps
// installs it).
const VersitygwVersion = "v1.8.0"

// RunS3 starts a private versitygw with the posix backend on a free
// loopback port and waits until it answers, for code that is not a test
// (cmd/bench). The caller stops it with [S3.Close]. The root credentials
// reach it through its environment, not its command line.
func RunS3(opts S3Options) (*S3, error) {
	bin, err := versitygw()
	if err != nil {
		return nil, err
	}
	s := &S3{opts: opts, dir: opts.Dir}
	s.opts.AccessKey = cmp.Or(s.opts.AccessKey, "testkey"+randomHex(6))
	s.opts.SecretKey = cmp.Or(s.opts.SecretKey, randomHex(20))
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "testproc-s3-"); err != nil {
			return nil, fmt.Errorf("testproc: %w", err)
		}
		s.ownDir = true
	}
	for _, b := range opts.Buckets {
		if err := os.MkdirAll(filepath.Join(s.dir, b), 0o755); err != nil {
			s.Close()
			return nil, fmt.Errorf("testproc: bucket %q: %w", b, err)
		}
	}
	env := append(os.Environ(),
		"ROOT_ACCESS_KEY_ID="+s.opts.AccessKey,
		"ROOT_SECRET_ACCESS_KEY="+s.opts.SecretKey)
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			s.Close()
			return nil, fmt.Errorf("testproc: %w", err)
		}
		s.proc = &Proc{Name: "versitygw", Path: bin, Env: env,
			Args: []string{"--port", s.Addr(), "--quiet", "posix", s.dir}}
		err = s.launch()
		if err == nil {
			return s, nil
		}
		if attempt >= 5 || !strings.Contains(strings.ToLower(err.Error()), "address already in use") {
			s.Close()
			return nil, err
		}
	}
}

// StartS3 starts a private versitygw for the test and stops it when the
// test ends. A missing versitygw fails the test loudly (run `make deps`):
// it never skips.
func StartS3(t TB, opts ...S3Options) *S3 {
	t.Helper()
	var o S3Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	s, err := RunS3(o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// launch starts the process and waits until it answers HTTP.
func (s *S3) launch() error {
	if err := s.proc.Start(); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Any HTTP answer (403 for an unsigned request) means it serves.
		if resp, err := client.Get(s.URL() + "/"); err == nil {
			resp.Body.Close()
			if strings.Contains(resp.Header.Get("Server"), "VERSITYGW") {
				return nil
			}
		}
		if !s.proc.Running() {
			return fmt.Errorf("testproc: versitygw on %s exited at start; log:\n%s", s.Addr(), s.proc.Log())
		}
		if time.Now().After(deadline) {
			s.proc.Kill()
			return fmt.Errorf("testproc: versitygw on %s not ready after 15s; log:\n%s", s.Addr(), s.proc.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is host:port of the server.
func (s *S3) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's endpoint, http://127.0.0.1:port.
func (s *S3) URL() string { return "http://" + s.Addr() }

// AccessKey and SecretKey are the root credentials.
func (s *S3) AccessKey() string { return s.opts.AccessKey }

// SecretKey is the root secret key.
func (s *S3) SecretKey() string { return s.opts.SecretKey }

// Dir is the directory holding the buckets (one subdirectory each).
func (s *S3) Dir() string { return s.dir }

// Env is the environment a command needs to reach the server through
// the AWS SDK's usual chain and this project's settings: the endpoint
// (path-style), the region and the root credentials.
func (s *S3) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.URL(),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + s.opts.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.opts.SecretKey,
	}
}

// Log is what the server wrote.
func (s *S3) Log() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.Log()
}

// Close kills the server and removes its directory if RunS3 made it.
func (s *S3) Close() {
	if s.proc != nil {
		s.proc.Kill()
	}
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
