package httpjson

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Write answers with status and v as JSON: indented by two spaces, ended
// by a newline, HTML characters left as they are (the content type keeps
// browsers from reading it as HTML), never cached. A value that cannot be
// encoded is answered with 500 and a plain-text message instead.
func Write(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
