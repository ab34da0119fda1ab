package alipaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/httpjson"
)

func (g *Gateway) routeAuthAdmin(mux *http.ServeMux) {
	bad := func(w http.ResponseWriter, msg string) {
		httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": msg})
	}
	mux.HandleFunc("POST "+adminPrefix+"codes", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			AuthMerchant
			Merchants []AuthMerchant `json:"merchants"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			bad(w, "code: "+err.Error())
			return
		}
		ms := req.Merchants
		if req.AuthAppID != "" {
			ms = append([]AuthMerchant{req.AuthMerchant}, ms...)
		}
		code, err := g.IssueCode(ms...)
		if err != nil {
			bad(w, err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"code": code})
	})
	mux.HandleFunc("GET "+adminPrefix+"merchants", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, g.Merchants())
	})
	notFound := func(w http.ResponseWriter, id string) {
		httpjson.Write(w, http.StatusNotFound, map[string]string{"error": "no merchant " + id + " exchanged a code here"})
	}
	mux.HandleFunc("GET "+adminPrefix+"merchants/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := g.Merchant(r.PathValue("id"))
		if !ok {
			notFound(w, r.PathValue("id"))
			return
		}
		httpjson.Write(w, http.StatusOK, m)
	})
	for action, f := range map[string]func(string) bool{"expire": g.ExpireToken, "revoke": g.Revoke} {
		mux.HandleFunc("POST "+adminPrefix+"merchants/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			if !f(r.PathValue("id")) {
				notFound(w, r.PathValue("id"))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	mux.HandleFunc("POST "+adminPrefix+"clock", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Advance Duration `json:"advance"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			bad(w, "clock: "+err.Error())
			return
		}
		g.Advance(time.Duration(req.Advance))
		httpjson.Write(w, http.StatusOK, map[string]string{"now": g.authNow().Format(time.RFC3339)})
	})
}
