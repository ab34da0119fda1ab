package testproc

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartS3Serves(t *testing.T) {
	t.Parallel()
	s := StartS3(t, S3Options{Buckets: []string{"media"}})
	resp, err := http.Get(s.URL() + "/media/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Unsigned: refused, but by versitygw.
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("Server"), "VERSITYGW") {
		t.Errorf("unsigned GET = %d from %q, want 403 from versitygw", resp.StatusCode, resp.Header.Get("Server"))
	}
	if s.AccessKey() == "" || s.SecretKey() == "" || len(s.Env()) != 4 {
		t.Errorf("credentials or environment missing: %q", s.Env())
	}
}

// TestRunS3ReportsAMissingBinary is not parallel: it changes the
// environment every other test reads.
func TestRunS3ReportsAMissingBinary(t *testing.T) {
	t.Setenv("VERSITYGW", filepath.Join(t.TempDir(), "no-versitygw"))
	s, err := RunS3(S3Options{})
	if err == nil {
		s.Close()
		t.Fatal("RunS3 without a binary started a server")
	}
}
