package httpjson

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Write(rec, http.StatusAccepted, map[string]string{"path": "/a&b<c>.jpg"})
	if rec.Code != http.StatusAccepted {
		t.Errorf("status %d", rec.Code)
	}
	if got, want := rec.Body.String(), "{\n  \"path\": \"/a&b<c>.jpg\"\n}\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	rec = httptest.NewRecorder()
	Write(rec, http.StatusOK, math.Inf(1))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") == "application/json" {
		t.Errorf("an unencodable value: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
