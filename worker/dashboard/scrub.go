package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/secret"
)

// Bounds of asynqmon's list requests.
const (
	// maxPageSize is the most rows one list answer holds: the largest
	// page asynqmon's own pages ask for. A larger "size", or none that is
	// positive (asynq reads 0 as "every task"), is brought within it.
	maxPageSize = 100
	// maxPageNum bounds "page", so that size*page stays far from
	// overflowing in asynq's range arithmetic.
	maxPageNum = 1_000_000
	// maxTextAnswer bounds a plain-text (error) answer, which is scrubbed
	// whole.
	maxTextAnswer = 64 << 10
	// scrubChunk is how much scrubbed JSON is gathered before it is
	// written on.
	scrubChunk = 32 << 10
)

// scrubAPI serves asynqmon's JSON API (the requests under prefix) with
// bounded pages, and passes every answer through [ScrubText] string by
// string as it is written, holding at most one JSON string and a small
// buffer, never the whole answer. Payloads and results are already
// redacted by the formatters; this catches secrets in the fields asynqmon
// shows verbatim, such as a task's last error message.
func scrubAPI(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &scrubWriter{w: w, code: http.StatusOK}
		next.ServeHTTP(sw, boundPage(r))
		sw.finish()
	})
}

// boundPage returns r with its "size" and "page" query parameters within
// [maxPageSize] and [maxPageNum]; a value that is not a positive number is
// dropped, so that asynqmon takes its default (20 rows, the first page).
func boundPage(r *http.Request) *http.Request {
	q := r.URL.Query()
	changed := false
	for _, p := range []struct {
		name string
		max  int
	}{{"size", maxPageSize}, {"page", maxPageNum}} {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(vs[0])
		switch {
		case err != nil || n < 1:
			q.Del(p.name)
		case n > p.max || len(vs) > 1:
			q.Set(p.name, strconv.Itoa(min(n, p.max)))
		default:
			continue
		}
		changed = true
	}
	if !changed {
		return r
	}
	u := *r.URL
	u.RawQuery = q.Encode()
	r2 := r.Clone(r.Context())
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}

// Modes of a scrubWriter, chosen by the first bytes of the answer.
const (
	modeUnknown = iota
	modeJSON    // a JSON answer: strings are scrubbed as they pass
	modeText    // anything else (http.Error text): scrubbed whole, bounded
)

// scrubWriter is the http.ResponseWriter asynqmon writes to. A successful
// answer starting with { or [ is JSON: everything outside strings is
// copied, and each string is decoded, passed through [ScrubText] and
// written again if that changed it. Anything else is text, scrubbed whole
// at the end (at most [maxTextAnswer] bytes of it).
type scrubWriter struct {
	w           http.ResponseWriter
	code        int
	wroteHeader bool // on w
	mode        int

	inString, escaped bool
	str               []byte // the current JSON string, quotes included
	out               []byte // scrubbed output not yet written
	text              []byte // modeText: the answer so far
	truncated         bool   // modeText: more than maxTextAnswer
	err               error  // from w: the rest is dropped

	enc     *json.Encoder // writes scrubbed strings to encoded
	encoded bytes.Buffer
}

func (s *scrubWriter) Header() http.Header { return s.w.Header() }

// Unwrap gives http.ResponseController the connection's writer.
func (s *scrubWriter) Unwrap() http.ResponseWriter { return s.w }

func (s *scrubWriter) WriteHeader(code int) {
	if s.mode == modeUnknown && !s.wroteHeader {
		s.code = code
	}
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.mode == modeUnknown {
		first := bytes.TrimLeft(p, " \t\r\n")
		if len(first) == 0 {
			return n, nil // leading white space of JSON, or an empty write
		}
		s.mode = modeText
		if s.code < 300 && (first[0] == '{' || first[0] == '[') {
			s.mode = modeJSON
			s.w.Header().Set("Content-Type", "application/json")
		}
		s.writeHeader()
		p = first
	}
	if s.mode == modeText {
		room := maxTextAnswer - len(s.text)
		if len(p) > room {
			p, s.truncated = p[:room], true
		}
		s.text = append(s.text, p...)
		return n, nil
	}
	s.scrubJSON(p)
	return n, s.err
}

// writeHeader sends the status and headers on: the length changes with
// scrubbing, and no answer of the API may be cached.
func (s *scrubWriter) writeHeader() {
	h := s.w.Header()
	h.Del("Content-Length")
	h.Set("Cache-Control", "no-store")
	s.w.WriteHeader(s.code)
	s.wroteHeader = true
}

// scrubJSON copies p, scrubbing its strings, carrying an unfinished string
// over to the next call.
func (s *scrubWriter) scrubJSON(p []byte) {
	for len(p) > 0 {
		if !s.inString {
			i := bytes.IndexByte(p, '"')
			if i < 0 {
				s.emit(p)
				return
			}
			s.emit(p[:i])
			s.inString, s.escaped = true, false
			s.str = append(s.str[:0], '"')
			p = p[i+1:]
			continue
		}
		end := -1
		for i, c := range p {
			if s.escaped {
				s.escaped = false
				continue
			}
			if c == '\\' {
				s.escaped = true
				continue
			}
			if c == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			s.str = append(s.str, p...)
			return
		}
		s.str = append(s.str, p[:end+1]...)
		s.inString = false
		s.endString()
		p = p[end+1:]
	}
}

// endString writes the finished string s.str, scrubbed.
func (s *scrubWriter) endString() {
	var v string
	if raw := s.str[1 : len(s.str)-1]; bytes.IndexByte(raw, '\\') < 0 {
		v = string(raw) // nothing escaped: the text as it stands
	} else if err := json.Unmarshal(s.str, &v); err != nil {
		s.emit([]byte(`"` + secret.Redacted + `"`)) // not a JSON string after all: show nothing of it
		return
	}
	if clean := ScrubText(v); clean != v {
		if s.enc == nil {
			s.enc = json.NewEncoder(&s.encoded)
			s.enc.SetEscapeHTML(false)
		}
		s.encoded.Reset()
		_ = s.enc.Encode(clean) // a string always encodes
		s.emit(bytes.TrimSuffix(s.encoded.Bytes(), []byte("\n")))
		return
	}
	s.emit(s.str)
}

// emit queues scrubbed output, writing it on in chunks.
func (s *scrubWriter) emit(b []byte) {
	s.out = append(s.out, b...)
	if len(s.out) >= scrubChunk {
		s.flush()
	}
}

func (s *scrubWriter) flush() {
	if len(s.out) > 0 && s.err == nil {
		_, s.err = s.w.Write(s.out)
	}
	s.out = s.out[:0]
}

// finish writes what remains once the handler is done. A string cut off by
// the end of the answer is dropped, not written unscrubbed.
func (s *scrubWriter) finish() {
	if !s.wroteHeader {
		s.writeHeader()
	}
	switch s.mode {
	case modeJSON:
		s.flush()
	case modeText:
		text := ScrubText(string(s.text))
		if s.truncated {
			text += "\n(truncated)\n"
		}
		if s.err == nil {
			_, s.err = s.w.Write([]byte(text))
		}
	}
}
