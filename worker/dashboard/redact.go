package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/storemedia/alipay-media-worker/internal/secret"
)

// ScrubText hides secrets inside free text such as an error message: the
// value of every name=value pair (also name%3Dvalue) whose name ends in
// token, secret, sign, key or password, and the value of every quoted JSON
// field whose name contains one of those words. Names merely containing a
// word ("keys=5", "sign_type=RSA2") are left alone so Redis and protocol
// details stay readable. The tasks package applies the same rules to error
// messages before asynq stores them.
func ScrubText(s string) string { return secret.ScrubText(s) }

// FormatPayload renders a task payload for the dashboard. JSON is
// pretty-printed in its original key order, with the value of every
// key naming a secret (its lower-cased form contains token, secret, sign,
// key or password) replaced by "[redacted]" at any depth and every string
// passed through [ScrubText]. Anything else is shown only by its length, so
// no raw bytes of an unknown payload ever reach the browser. Its signature
// fits asynqmon.PayloadFormatterFunc.
func FormatPayload(_ string, payload []byte) string {
	return format("payload", payload)
}

// formatResult renders a task result (for uploads, image_id and image_url)
// the same way as [FormatPayload]. Its signature fits
// asynqmon.ResultFormatterFunc.
func formatResult(_ string, result []byte) string {
	return format("result", result)
}

func format(what string, data []byte) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Sprintf("(empty %s)", what)
	}
	out, err := redactJSON(data, "  ")
	if err != nil {
		return fmt.Sprintf("(%s of %d bytes, not JSON)", what, len(data))
	}
	return string(out)
}

// errTrailing reports data after the first JSON value.
var errTrailing = errors.New("dashboard: trailing data after JSON value")

// redactJSON re-encodes one JSON document with secrets hidden: the value of
// every key naming a secret becomes "[redacted]" and every string goes through
// [ScrubText]. Keys keep their order and numbers their text. A non-empty
// indent pretty-prints with it; an empty one writes compact JSON. Invalid
// JSON, or anything after the first value, is an error.
func redactJSON(data []byte, indent string) ([]byte, error) {
	return rewrite(data, indent)
}

func rewrite(data []byte, indent string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &writer{indent: indent}
	if err := w.value(dec, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errTrailing
	}
	return w.buf.Bytes(), nil
}

type writer struct {
	buf    bytes.Buffer
	enc    *json.Encoder // writes strings to buf; made by the first str
	indent string
}

func (w *writer) newline(depth int) {
	if w.indent == "" {
		return
	}
	w.buf.WriteByte('\n')
	for range depth {
		w.buf.WriteString(w.indent)
	}
}

func (w *writer) str(s string) {
	if w.enc == nil {
		w.enc = json.NewEncoder(&w.buf)
		w.enc.SetEscapeHTML(false)
	}
	_ = w.enc.Encode(s)             // a string always encodes
	w.buf.Truncate(w.buf.Len() - 1) // Encode appends a newline
}

// value copies one JSON value from dec to the buffer.
func (w *writer) value(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closer := byte('}')
		if t == '[' {
			closer = ']'
		}
		w.buf.WriteByte(byte(t))
		n := 0
		for dec.More() {
			if n > 0 {
				w.buf.WriteByte(',')
			}
			n++
			w.newline(depth + 1)
			if t == '[' {
				if err := w.value(dec, depth+1); err != nil {
					return err
				}
				continue
			}
			ktok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := ktok.(string) // object keys are always strings
			w.str(key)
			w.buf.WriteByte(':')
			if w.indent != "" {
				w.buf.WriteByte(' ')
			}
			if secret.SensitiveKey(key) {
				if err := skip(dec); err != nil {
					return err
				}
				w.str(secret.Redacted)
				continue
			}
			if err := w.value(dec, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		if n > 0 {
			w.newline(depth)
		}
		w.buf.WriteByte(closer)
	case string:
		w.str(ScrubText(t))
	case json.Number:
		w.buf.WriteString(t.String())
	case bool:
		fmt.Fprint(&w.buf, t)
	case nil:
		w.buf.WriteString("null")
	}
	return nil
}

// skip consumes one JSON value without writing it.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
