package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// merchantStore is a merchant.Store on its own Redis, exchanging codes
// with a running emulator.
func merchantStore(t *testing.T) (*merchant.Store, *alipaytest.Server) {
	t.Helper()
	gw := alipaytest.Start(t, alipaytest.Config{})
	keys := alipaytest.TestKeys()
	cl, err := upload.New(upload.Config{GatewayURL: gw.URL, AppID: alipaytest.TestAppID, Signer: sign.RSA2{Key: keys.App},
		AlipayPublicKey: gw.PublicKey(), HTTPClient: gw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	rs := testproc.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ring, err := merchant.NewKeyring(bytes.Repeat([]byte{9}, merchant.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: ring, Client: cl})
	if err != nil {
		t.Fatal(err)
	}
	return st, gw
}

// TestMerchantRoutes authorizes, lists, shows, refreshes and removes a
// merchant through the API, and refuses bad codes and unknown merchants,
// each answer validated against the OpenAPI document; no answer holds a
// token. A server without a merchant store says what it needs.
func TestMerchantRoutes(t *testing.T) {
	t.Parallel()
	st, gw := merchantStore(t)
	s := setup(t, func(c *httpapi.Config) { c.Merchants = st })
	exchange := validator(t, s)
	const id = "2021000000000301"
	code, err := gw.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088000000000301"})
	if err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	ex := func(method, path, body string, want int) []byte {
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		out := exchange(method, path, ct, b, true, want)
		seen.Write(out)
		return out
	}
	ex("POST", "/v1/merchants", `{"code":"no-such-code"}`, http.StatusUnprocessableEntity)
	ex("POST", "/v1/merchants", `{"code":""}`, http.StatusBadRequest)
	created := ex("POST", "/v1/merchants", `{"code":"`+code+`","requeue":true}`, http.StatusCreated)
	var ans struct {
		Merchants []merchant.Merchant `json:"merchants"`
	}
	if err := json.Unmarshal(created, &ans); err != nil || len(ans.Merchants) != 1 || ans.Merchants[0].AuthAppID != id || ans.Merchants[0].Status != merchant.StatusActive {
		t.Fatalf("authorize: %s (%v)", created, err)
	}
	ex("POST", "/v1/merchants", `{"code":"`+code+`"}`, http.StatusUnprocessableEntity) // used
	if list := ex("GET", "/v1/merchants", "", http.StatusOK); !strings.Contains(string(list), id) {
		t.Errorf("list: %s", list)
	}
	ex("GET", "/v1/merchants/"+id, "", http.StatusOK)
	ex("GET", "/v1/merchants/2021000000000000", "", http.StatusNotFound)
	ex("POST", "/v1/merchants/"+id+"/refresh", "", http.StatusOK)
	ex("DELETE", "/v1/merchants/"+id, "", http.StatusNoContent)
	ex("DELETE", "/v1/merchants/"+id, "", http.StatusNotFound)
	m, _ := gw.Merchant(id)
	for _, secret := range m.Secrets {
		if strings.Contains(seen.String(), secret) {
			t.Error("an answer holds a token or refresh token")
		}
	}

	plain := setup(t)
	if a := plain.do(t, "GET", "/v1/merchants", "", nil, "Bearer "+token); a.status != http.StatusNotImplemented ||
		a.errCode != "merchants_not_configured" || !strings.Contains(a.errorMsg, "MERCHANT_KEY_FILE") {
		t.Errorf("without a store: %d %s %q", a.status, a.errCode, a.errorMsg)
	}
}
