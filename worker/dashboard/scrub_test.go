package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// writesRecorder records the size of every write it gets.
type writesRecorder struct {
	*httptest.ResponseRecorder
	sizes []int
}

func (w *writesRecorder) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.ResponseRecorder.Write(p)
}

// scrubThrough writes body to a scrubWriter in pieces of chunk bytes (all
// at once for 0) and returns what came out, and the writer.
func scrubThrough(code int, body string, chunk int) (*writesRecorder, *scrubWriter) {
	rec := &writesRecorder{ResponseRecorder: httptest.NewRecorder()}
	sw := &scrubWriter{w: rec, code: http.StatusOK}
	sw.WriteHeader(code)
	if chunk == 0 {
		chunk = len(body)
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		_, _ = sw.Write([]byte(body[:n]))
		body = body[n:]
	}
	sw.finish()
	return rec, sw
}

func TestScrubWriterKeepsFieldNames(t *testing.T) {
	t.Parallel()
	rec, _ := scrubThrough(200, `{"expired_keys":"3","error_message":"GET /x?app_auth_token=tok failed"}`+"\n", 0)
	want := `{"expired_keys":"3","error_message":"GET /x?app_auth_token=[redacted] failed"}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("scrubbed %s, want %s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, rec.Header().Get("Cache-Control"))
	}
}

// TestScrubWriterStreams (issue 12, item 3) scrubs a 260 kB answer written
// at once (as asynqmon does) and in 7-byte pieces (which cut strings and
// escapes apart): the output is right either way, leaves in chunks rather
// than as one block, and the writer's own buffers stay under 64 KiB, so
// the scrubber never holds the answer (before, it held the answer and a
// scrubbed copy).
func TestScrubWriterStreams(t *testing.T) {
	t.Parallel()
	var in, want strings.Builder
	in.WriteString(`{"tasks":[`)
	want.WriteString(`{"tasks":[`)
	for i := range 1000 {
		if i > 0 {
			in.WriteByte(',')
			want.WriteByte(',')
		}
		row := `{"id":"t%d","error_message":%s,"payload":"{\n  \"path\": \"/media/%d.jpg\",\n  \"note\": \"caf\u00e9 \\\\ \\\"q\\\"\"\n}","retried":%d}`
		fmt.Fprintf(&in, row, i, fmt.Sprintf(`"Post \"https://gw/gateway.do?app_auth_token=tok%dSECRET&sign=c2ln%%3D\": EOF (body {\"app_auth_token\":\"tok%dSECRET\"})"`, i, i), i, i%7)
		fmt.Fprintf(&want, row, i, `"Post \"https://gw/gateway.do?app_auth_token=[redacted]&sign=[redacted]\": EOF (body {\"app_auth_token\":\"[redacted]\"})"`, i, i%7)
	}
	in.WriteString("]}\n")
	want.WriteString("]}\n")
	if in.Len() < 200<<10 {
		t.Fatalf("the answer is only %d bytes", in.Len())
	}
	for _, chunk := range []int{0, 7} {
		rec, sw := scrubThrough(200, in.String(), chunk)
		got := rec.Body.String()
		if got != want.String() {
			i := 0
			for i < len(got) && i < want.Len() && got[i] == want.String()[i] {
				i++
			}
			t.Fatalf("chunk %d: output differs from byte %d: got %.120q, want %.120q", chunk, i, got[i:], want.String()[i:])
		}
		if strings.Contains(got, "SECRET") {
			t.Fatalf("chunk %d: a token got through", chunk)
		}
		largest := 0
		for _, n := range rec.sizes {
			largest = max(largest, n)
		}
		if len(rec.sizes) < in.Len()/scrubChunk || largest > 2*scrubChunk {
			t.Errorf("chunk %d: %d writes, the largest %d bytes; want the %d bytes in chunks of about %d", chunk, len(rec.sizes), largest, in.Len(), scrubChunk)
		}
		if cap(sw.out) > 64<<10 || cap(sw.str) > 64<<10 || cap(sw.text) > 0 {
			t.Errorf("chunk %d: the scrubber's buffers grew to %d (output) and %d (string) bytes", chunk, cap(sw.out), cap(sw.str))
		}
	}
}

func TestScrubWriterText(t *testing.T) {
	t.Parallel()
	rec, _ := scrubThrough(500, "redis: GET /x?app_auth_token=tokSECRET failed\n", 5)
	if got := rec.Body.String(); got != "redis: GET /x?app_auth_token=[redacted] failed\n" || rec.Code != 500 {
		t.Errorf("text answer: %d %q", rec.Code, got)
	}
	// JSON-looking text in an error answer is scrubbed as text.
	rec, _ = scrubThrough(400, `{"x": 1} app_auth_token=tokSECRET`, 0)
	if strings.Contains(rec.Body.String(), "SECRET") || rec.Header().Get("Content-Type") == "application/json" {
		t.Errorf("error answer starting with {: %q, %q", rec.Body.String(), rec.Header().Get("Content-Type"))
	}
	long := strings.Repeat("x", maxTextAnswer) + " app_auth_token=tokSECRET"
	rec, sw := scrubThrough(500, long, 1000)
	if got := rec.Body.String(); strings.Contains(got, "SECRET") || !strings.HasSuffix(got, "(truncated)\n") || cap(sw.text) > 2*maxTextAnswer {
		t.Errorf("long text answer: %d bytes ending %q", len(got), got[max(0, len(got)-40):])
	}
}

func TestScrubWriterDropsCutString(t *testing.T) {
	t.Parallel()
	rec, _ := scrubThrough(200, `{"error_message":"GET /x?app_auth_token=tokSECRET`, 3)
	if got := rec.Body.String(); got != `{"error_message":` {
		t.Errorf("answer cut inside a string: %q", got)
	}
	rec, _ = scrubThrough(204, "", 0)
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("empty answer: %d %q", rec.Code, rec.Body.String())
	}
}
