package alipaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/storemedia/alipay-media-worker/internal/httpjson"
)

// adminPrefix is the path prefix of the admin API.
const adminPrefix = "/_emulator/"

// maxAdminBody bounds admin request bodies.
const maxAdminBody = 1 << 20

func (g *Gateway) routeAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET "+adminPrefix+"{$}", g.adminIndex)
	mux.HandleFunc("GET "+adminPrefix+"uploads", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, g.Uploads())
	})
	mux.HandleFunc("DELETE "+adminPrefix+"uploads", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.uploads, g.contents = nil, nil
		g.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+adminPrefix+"calls", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, g.Calls())
	})
	mux.HandleFunc("GET "+adminPrefix+"stats", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, g.Stats())
	})
	mux.HandleFunc("GET "+adminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, g.faults.Settings())
	})
	mux.HandleFunc("POST "+adminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		g.adminFaults(w, r, false)
	})
	mux.HandleFunc("PUT "+adminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		g.adminFaults(w, r, true)
	})
	mux.HandleFunc("DELETE "+adminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		g.faults.Clear()
		httpjson.Write(w, http.StatusOK, g.faults.Settings())
	})
	reset := func(w http.ResponseWriter, r *http.Request) {
		g.Reset()
		w.WriteHeader(http.StatusNoContent)
	}
	mux.HandleFunc("POST "+adminPrefix+"reset", reset)
	mux.HandleFunc("DELETE "+adminPrefix+"reset", reset)
	mux.HandleFunc("GET "+adminPrefix+"public-key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(PublicKeyPEM(g.PublicKey()))
	})
	mux.HandleFunc("POST "+adminPrefix+"sink", g.sink)
	g.routeAuthAdmin(mux)
}

// adminFaults applies (POST) or replaces (PUT) the fault settings with a
// JSON [FaultSettings] body and answers with the resulting settings.
func (g *Gateway) adminFaults(w http.ResponseWriter, r *http.Request, replace bool) {
	var s FaultSettings
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil && err != io.EOF {
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "fault settings: " + err.Error()})
		return
	}
	// A bad change, PUT or POST, changes nothing.
	if err := g.faults.apply(s, replace); err != nil {
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	httpjson.Write(w, http.StatusOK, g.faults.Settings())
}

// sink drains the body and answers 200 with the byte count: a plain
// endpoint for measuring the client's transfer cost without the gateway's
// checks, hashing and signing.
func (g *Gateway) sink(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	g.mu.Lock()
	g.stats.SinkRequests++
	g.stats.SinkBytes += n
	g.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"bytes":` + strconv.FormatInt(n, 10) + "}\n"))
}

func (g *Gateway) adminIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, `alipaytest gateway emulator
POST   /gateway.do              the classic gateway (alipay.offline.material.image.upload,
                                alipay.open.auth.token.app, alipay.open.auth.token.app.query)
POST   /v3/alipay/offline/material/image/upload   the same upload over OpenAPI v3
POST   /v3/alipay/open/auth/token/app             exchange a code, refresh a token (v3)
GET    /v3/alipay/open/auth/token/app/query       is a token valid, until when (v3)
GET    /_emulator/uploads       recorded uploads (JSON)
DELETE /_emulator/uploads       forget recorded uploads
GET    /_emulator/calls         every call received, with its arrival time (JSON)
GET    /_emulator/stats         counters (JSON)
GET    /_emulator/faults        fault settings (JSON)
POST   /_emulator/faults        merge fault settings, e.g. {"rates":{"503":0.2},"next":[{"kind":"reset","count":3}],"slow_delay":"2s","specs":["20000=next:1"]}
PUT    /_emulator/faults        replace fault settings
DELETE /_emulator/faults        clear fault settings
POST   /_emulator/reset         forget uploads, zero counters, clear faults (DELETE works too)
GET    /_emulator/public-key    the gateway public key (PEM)
POST   /_emulator/sink          drain the body, answer {"bytes":N}
POST   /_emulator/codes         issue an app_auth_code: {"auth_app_id":"...","user_id":"..."} or {"merchants":[...]} (batch); answers {"code":"..."}
GET    /_emulator/merchants     merchants' authorizations, with their tokens and exchange/refresh counts (JSON)
GET    /_emulator/merchants/ID  one merchant's
POST   /_emulator/merchants/ID/expire   its tokens expire now (the refresh token still works)
POST   /_emulator/merchants/ID/revoke   cancel its authorization (refresh refused until a new code)
POST   /_emulator/clock         move the clock of codes and tokens: {"advance":"25h"}
`)
}
