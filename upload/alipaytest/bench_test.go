package alipaytest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/validate"
)

// BenchmarkGateway5MB measures the gateway's own cost for a 5 MB upload
// (streamed parse, SHA-256, checks, signed answer), in-process without a
// network; allocations must not grow with the file size.
func BenchmarkGateway5MB(b *testing.B) {
	g, err := alipaytest.New(alipaytest.Config{MaxSkew: 1 << 62}.WithTestKeys())
	if err != nil {
		b.Fatal(err)
	}
	file := append(mediagen.Sample("jpg", 1), make([]byte, validate.DefaultMaxSize-1000)...)
	req := newRawRequest("jpg", file).build(b, "http://gateway.test/gateway.do")
	body, err := io.ReadAll(req.Body)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"code":"10000"`)) {
			b.Fatalf("answer %d %s", w.Code, w.Body)
		}
	}
}
