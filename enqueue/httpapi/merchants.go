package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/httpjson"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// Merchants keeps merchants' authorizations for the /v1/merchants routes;
// *merchant.Store implements it. None of its answers holds a token.
type Merchants interface {
	Authorize(ctx context.Context, code string) ([]merchant.Merchant, error)
	List(ctx context.Context) ([]merchant.Merchant, error)
	Get(ctx context.Context, authAppID string) (merchant.Merchant, error)
	Refresh(ctx context.Context, authAppID string) (merchant.Merchant, error)
	Remove(ctx context.Context, authAppID string) error
}

// notConfiguredMsg is the answer of the merchant routes on a server
// without a merchant store.
const notConfiguredMsg = "this server keeps no merchants: start enqueue serve with the workers' merchant key file (MERCHANT_KEY_FILE) " +
	"and the app's keys and gateway (ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY_FILE, ALIPAY_PUBLIC_KEY_FILE, ALIPAY_GATEWAY_URL, ALIPAY_API) to authorize merchants here"

// merchantAnswer is the answer of POST /v1/merchants.
type merchantAnswer struct {
	Merchants []merchant.Merchant `json:"merchants"`
	// Requeued lists the tasks re-run ("requeue": true).
	Requeued []string `json:"requeued,omitempty"`
}

func (s *Server) routeMerchants() {
	s.mux.HandleFunc("/v1/merchants", s.auth(s.merchantsRoot))
	s.mux.HandleFunc("/v1/merchants/{id}", s.auth(s.merchantOne))
	s.mux.HandleFunc("/v1/merchants/{id}/refresh", s.auth(s.merchantRefresh))
}

// configured answers 501 when the server keeps no merchants.
func (s *Server) configured(w http.ResponseWriter) bool {
	if s.merchants == nil {
		writeError(w, http.StatusNotImplemented, "merchants_not_configured", notConfiguredMsg)
		return false
	}
	return true
}

func (s *Server) merchantsRoot(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !s.configured(w) {
			return
		}
		ms, err := s.merchants.List(r.Context())
		if err != nil {
			s.merchantError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"merchants": nonNil(ms)})
	case http.MethodPost:
		if !s.configured(w) {
			return
		}
		s.authorize(w, r)
	default:
		methodNotAllowed(w, "GET, HEAD, POST")
	}
}

func nonNil(ms []merchant.Merchant) []merchant.Merchant {
	if ms == nil {
		return []merchant.Merchant{}
	}
	return ms
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxJSON))
	dec.DisallowUnknownFields()
	var req struct {
		Code    string `json:"code"`
		Requeue bool   `json:"requeue"`
	}
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "malformed JSON body: "+err.Error())
		return
	}
	code := strings.TrimSpace(req.Code)
	if code == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "code is required: the app_auth_code the merchant's authorization gave")
		return
	}
	ms, err := s.merchants.Authorize(r.Context(), code)
	if err != nil {
		s.merchantError(w, err)
		return
	}
	ans := merchantAnswer{Merchants: nonNil(ms)}
	if req.Requeue {
		for _, m := range ms {
			ids, err := s.client.RequeueMerchant(r.Context(), m.AuthAppID)
			ans.Requeued = append(ans.Requeued, ids...)
			if err != nil {
				s.enqueueError(w, err)
				return
			}
		}
	}
	httpjson.Write(w, http.StatusCreated, ans)
}

func (s *Server) merchantOne(w http.ResponseWriter, r *http.Request) {
	if !s.configured(w) {
		return
	}
	id := r.PathValue("id")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, err := s.merchants.Get(r.Context(), id)
		if err != nil {
			s.merchantError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, m)
	case http.MethodDelete:
		if err := s.merchants.Remove(r.Context(), id); err != nil {
			s.merchantError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, HEAD, DELETE")
	}
}

func (s *Server) merchantRefresh(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if !s.configured(w) {
		return
	}
	m, err := s.merchants.Refresh(r.Context(), r.PathValue("id"))
	if err != nil {
		s.merchantError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, m)
}

// merchantError answers a failure of the merchant store: 404 unknown
// merchant, 422 refused code, 409 a merchant that must authorize again,
// 500 a key file that cannot open the records (logged), 503 otherwise
// (Redis or Alipay unreachable). Messages hold no token.
func (s *Server) merchantError(w http.ResponseWriter, err error) {
	msg := strings.TrimPrefix(err.Error(), "merchant: ")
	switch {
	case errors.Is(err, merchant.ErrNotFound):
		writeError(w, http.StatusNotFound, "merchant_not_found", msg)
	case errors.Is(err, merchant.ErrCode):
		writeError(w, http.StatusUnprocessableEntity, "code_refused", msg)
	case errors.Is(err, merchant.ErrUnauthorized):
		writeError(w, http.StatusConflict, string(tasks.ReasonMerchantUnauthorized), msg)
	case errors.Is(err, merchant.ErrKey):
		s.log.Error("merchant key file", "err", err)
		writeError(w, http.StatusInternalServerError, string(tasks.ReasonMerchantKey), msg)
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "request canceled")
	default:
		s.log.Error("merchant store", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("the merchant store or Alipay failed; try again later (%s)", msg))
	}
}
