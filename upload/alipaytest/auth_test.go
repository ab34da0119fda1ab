package alipaytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// The token call as a client of the emulator sees it; expires_in is a
// string in Alipay's documented examples.
type tokenReq struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

type grant struct {
	UserID          string `json:"user_id"`
	AuthAppID       string `json:"auth_app_id"`
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	ExpiresIn       string `json:"expires_in"`
	ReExpiresIn     string `json:"re_expires_in"`
}

type tokenAns struct {
	grant
	Tokens []grant `json:"tokens"`
}

var tokenCall = upload.JSONCall[tokenReq, tokenAns]{Method: alipayapi.AuthTokenMethod, Path: alipayapi.AuthTokenPath}

type queryReq struct {
	AppAuthToken string `json:"app_auth_token"`
}

type queryAns struct {
	AuthAppID string `json:"auth_app_id"`
	UserID    string `json:"user_id"`
	Status    string `json:"status"`
	ExpiresIn int64  `json:"expires_in"`
	AuthEnd   string `json:"auth_end"`
}

var queryCall = upload.JSONCall[queryReq, queryAns]{Method: alipayapi.AuthQueryMethod}

var (
	shop1 = alipaytest.AuthMerchant{AuthAppID: "2021004100000001", UserID: "2088000000000001"}
	shop2 = alipaytest.AuthMerchant{AuthAppID: "2021004100000002", UserID: "2088000000000002"}
)

func authClient(t *testing.T, srv *alipaytest.Server, proto upload.Protocol) *upload.Client {
	t.Helper()
	c, err := upload.New(upload.Config{Protocol: proto, GatewayURL: srv.URL, AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: srv.PublicKey(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uploadWith uploads a small JPEG carrying token.
func uploadWith(c *upload.Client, token string) error {
	file := samples()["jpg"]
	_, err := c.Upload(context.Background(), upload.Request{Content: bytes.NewReader(file), Size: int64(len(file)),
		ImageType: "jpg", ImageName: "shop front", AppAuthToken: token})
	return err
}

// codeFor is the code subCodeOf gives for a classic sub_code.
func codeFor(v3 bool, sub string) string {
	if v3 {
		return alipaytest.V3Code(sub)
	}
	return sub
}

func subCodeOf(err error) string {
	var ae *upload.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	if ae.StatusCode != 0 {
		return ae.Code
	}
	return ae.SubCode
}

func TestAuthExchangeAndRefresh(t *testing.T) {
	t.Parallel()
	bothProtocols(t, func(t *testing.T, proto upload.Protocol) {
		srv := alipaytest.Start(t, alipaytest.Config{Auth: alipaytest.AuthConfig{TokenTTL: time.Hour, OldTokenGrace: 10 * time.Minute}})
		c := authClient(t, srv, proto)
		ctx := context.Background()
		code := must(srv.IssueCode(shop1))
		a, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: code})
		if err != nil {
			t.Fatal(err)
		}
		if a.AuthAppID != shop1.AuthAppID || a.UserID != shop1.UserID || a.AppAuthToken == "" || a.AppRefreshToken == "" ||
			a.ExpiresIn != "3600" || a.ReExpiresIn != strconv.Itoa(int(alipaytest.DefaultRefreshTTL/time.Second)) || len(a.Tokens) != 0 {
			t.Fatalf("exchange answered %+v", a)
		}
		if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: code}); subCodeOf(err) != codeFor(proto == upload.V3, alipaytest.SubCodeInvalid) {
			t.Errorf("a used code: %v", err)
		}
		if err := uploadWith(c, a.AppAuthToken); err != nil {
			t.Fatalf("upload with the issued token: %v", err)
		}
		r, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: a.AppRefreshToken})
		if err != nil {
			t.Fatal(err)
		}
		if r.AppAuthToken == a.AppAuthToken || r.AppRefreshToken == a.AppRefreshToken || r.AuthAppID != shop1.AuthAppID {
			t.Fatalf("refresh answered %+v", r)
		}
		// The old token works for the grace, then not; the new one works.
		if err := uploadWith(c, a.AppAuthToken); err != nil {
			t.Errorf("old token within its grace: %v", err)
		}
		srv.Advance(11 * time.Minute)
		err = uploadWith(c, a.AppAuthToken)
		if !errors.Is(err, upload.ErrAppAuthToken) || subCodeOf(err) != codeFor(proto == upload.V3, alipaytest.SubInvalidAppAuthToken) {
			t.Errorf("old token past its grace: %v", err)
		}
		if err := uploadWith(c, r.AppAuthToken); err != nil {
			t.Errorf("new token: %v", err)
		}
		ups := srv.Uploads()
		states := []string{}
		for _, u := range ups {
			if u.AuthAppID != shop1.AuthAppID {
				t.Errorf("upload recorded for %q", u.AuthAppID)
			}
			states = append(states, u.TokenState)
		}
		if strings.Join(states, ",") != "current,replaced,current" {
			t.Errorf("token states %v", states)
		}
		// Expiry: the time-out code.
		srv.ExpireToken(shop1.AuthAppID)
		err = uploadWith(c, r.AppAuthToken)
		if !errors.Is(err, upload.ErrAppAuthToken) || subCodeOf(err) != codeFor(proto == upload.V3, alipaytest.SubAppAuthTokenTimeOut) {
			t.Errorf("expired token: %v", err)
		}
		m, _ := srv.Merchant(shop1.AuthAppID)
		if m.Exchanges != 1 || m.Refreshes != 1 || m.RefreshCalls != 1 || len(m.Secrets) != 4 {
			t.Errorf("merchant %+v", m)
		}
	})
}

func TestAuthBatchAndCodeExpiry(t *testing.T) {
	t.Parallel()
	bothProtocols(t, func(t *testing.T, proto upload.Protocol) {
		srv := alipaytest.Start(t, alipaytest.Config{})
		c := authClient(t, srv, proto)
		ctx := context.Background()
		a, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: must(srv.IssueCode(shop1, shop2))})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Tokens) != 2 || a.Tokens[0].AuthAppID != shop1.AuthAppID || a.Tokens[1].AuthAppID != shop2.AuthAppID || a.Tokens[1].AppAuthToken == "" {
			t.Fatalf("batch answered %+v", a)
		}
		code := must(srv.IssueCode(shop1))
		srv.Advance(alipaytest.DefaultCodeTTL)
		if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: code}); subCodeOf(err) != codeFor(proto == upload.V3, alipaytest.SubCodeInvalid) {
			t.Errorf("a code 24 h old: %v", err)
		}
		if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "password"}); err == nil {
			t.Error("an unknown grant_type was accepted")
		}
	})
}

func TestAuthRefreshRotationAndRevocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		grace      time.Duration
		oldRefresh bool // the old refresh token still works right after the refresh
	}{{"grace", time.Hour, true}, {"no grace", -1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{Auth: alipaytest.AuthConfig{OldRefreshGrace: tc.grace, OldTokenGrace: -1, RefreshTTL: 48 * time.Hour}})
			c := authClient(t, srv, upload.Classic)
			ctx := context.Background()
			a := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: must(srv.IssueCode(shop1))}))
			r := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: a.AppRefreshToken}))
			if err := uploadWith(c, a.AppAuthToken); subCodeOf(err) != alipaytest.SubInvalidAppAuthToken {
				t.Errorf("old token without grace: %v", err)
			}
			_, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: a.AppRefreshToken})
			if ok := err == nil; ok != tc.oldRefresh {
				t.Errorf("old refresh token right after the refresh: %v", err)
			}
			if !tc.oldRefresh && subCodeOf(err) != alipaytest.SubRefreshTokenInvalid {
				t.Errorf("old refresh token: %v", err)
			}
			m, _ := srv.Merchant(shop1.AuthAppID)
			srv.Advance(49 * time.Hour)
			if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: m.RefreshToken}); subCodeOf(err) != alipaytest.SubRefreshTokenTimeOut {
				t.Errorf("expired refresh token: %v", err)
			}
			_ = r
		})
	}
	t.Run("revoked", func(t *testing.T) {
		t.Parallel()
		srv := alipaytest.Start(t, alipaytest.Config{})
		c := authClient(t, srv, upload.V3)
		ctx := context.Background()
		a := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: must(srv.IssueCode(shop1))}))
		srv.Revoke(shop1.AuthAppID)
		if err := uploadWith(c, a.AppAuthToken); subCodeOf(err) != "invalid-app-auth-token" {
			t.Errorf("upload after revocation: %v", err)
		}
		if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: a.AppRefreshToken}); subCodeOf(err) != "refresh-token-invalid" {
			t.Errorf("refresh after revocation: %v", err)
		}
		// A new code reinstates it.
		b := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: must(srv.IssueCode(shop1))}))
		if err := uploadWith(c, b.AppAuthToken); err != nil {
			t.Errorf("upload after a new authorization: %v", err)
		}
	})
}

func TestAuthQuery(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{Auth: alipaytest.AuthConfig{TokenTTL: time.Hour}})
	c := authClient(t, srv, upload.Classic)
	ctx := context.Background()
	a := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: must(srv.IssueCode(shop1))}))
	q, err := queryCall.Do(ctx, c, "", queryReq{AppAuthToken: a.AppAuthToken})
	if err != nil || q.Status != "valid" || q.AuthAppID != shop1.AuthAppID || q.ExpiresIn < 3590 || q.ExpiresIn > 3600 || q.AuthEnd == "" {
		t.Fatalf("classic query: %+v, %v", q, err)
	}

	// v3: GET with the token in the query, signed like any v3 call.
	get := func() (int, queryAns) {
		target := alipayapi.AuthQueryPath + "?app_auth_token=" + a.AppAuthToken
		auth := "app_id=" + alipaytest.TestAppID + ",nonce=" + "5f0e1d2c-aaaa-bbbb-cccc-000000000001" + ",timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		sig := must(sign.RSA2{Key: alipaytest.TestKeys().App}.Sign([]byte(sign.V3Content(auth, "GET", target, "", ""))))
		req := must(http.NewRequest("GET", srv.BaseURL+target, nil))
		req.Header.Set("Authorization", sign.V3Scheme+" "+auth+",sign="+sig)
		resp := must(srv.Client().Do(req))
		defer resp.Body.Close()
		var out queryAns
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &out)
		return resp.StatusCode, out
	}
	if status, q := get(); status != 200 || q.Status != "valid" || q.UserID != shop1.UserID {
		t.Errorf("v3 query: %d %+v", status, q)
	}
	srv.ExpireToken(shop1.AuthAppID)
	if status, q := get(); status != 200 || q.Status != "invalid" {
		t.Errorf("v3 query of an expired token: %d %+v", status, q)
	}
}

func TestAuthRequireIssuedTokens(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{AppAuthTokens: []string{"202401BBlisted"}, Auth: alipaytest.AuthConfig{RequireIssuedTokens: true}})
	c := authClient(t, srv, upload.Classic)
	if err := uploadWith(c, "202401BBlisted"); err != nil {
		t.Errorf("listed token: %v", err)
	}
	if err := uploadWith(c, "202401BBmadeup"); subCodeOf(err) != alipaytest.SubInvalidAppAuthToken {
		t.Errorf("made-up token: %v", err)
	}
	if u := srv.Uploads(); len(u) != 1 || u[0].TokenState != alipaytest.TokenListed {
		t.Errorf("recorded %+v", u)
	}
}

// The admin API drives the same state; the emulator's log never shows a
// token or a refresh token.
func TestAuthAdminAndLogs(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	srv := alipaytest.Start(t, alipaytest.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := authClient(t, srv, upload.V3)
	ctx := context.Background()
	post := func(path, body string) (int, map[string]string) {
		resp := must(srv.Client().Post(srv.AdminURL(path), "application/json", strings.NewReader(body)))
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, out := post("codes", `{"auth_app_id":"2021004100000001","user_id":"2088000000000001"}`)
	if status != 200 || out["code"] == "" {
		t.Fatalf("POST codes: %d %v", status, out)
	}
	a := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: out["code"]}))
	if err := uploadWith(c, a.AppAuthToken); err != nil {
		t.Fatal(err)
	}
	if status, _ := post("merchants/2021004100000001/expire", ""); status != 204 {
		t.Errorf("expire: %d", status)
	}
	if err := uploadWith(c, a.AppAuthToken); subCodeOf(err) != "app-auth-token-time-out" {
		t.Errorf("after admin expire: %v", err)
	}
	r := must(tokenCall.Do(ctx, c, "", tokenReq{GrantType: "refresh_token", RefreshToken: a.AppRefreshToken}))
	if status, _ := post("merchants/2021004100000001/revoke", ""); status != 204 {
		t.Errorf("revoke: %d", status)
	}
	if status, _ := post("merchants/2021009999999999/revoke", ""); status != 404 {
		t.Errorf("revoke of an unknown merchant: %d", status)
	}
	status, out = post("codes", `{"merchants":[{"auth_app_id":"2021004100000002"}]}`)
	if status != 200 {
		t.Fatalf("batch code: %d", status)
	}
	if status, _ := post("clock", `{"advance":"25h"}`); status != 200 {
		t.Errorf("clock: %d", status)
	}
	if _, err := tokenCall.Do(ctx, c, "", tokenReq{GrantType: "authorization_code", Code: out["code"]}); subCodeOf(err) != "code-invalid" {
		t.Errorf("code after the clock moved 25 h: %v", err)
	}
	resp := must(srv.Client().Get(srv.AdminURL("merchants")))
	var ms []alipaytest.MerchantAuth
	_ = json.NewDecoder(resp.Body).Decode(&ms)
	resp.Body.Close()
	if len(ms) != 1 || !ms[0].Revoked || ms[0].Exchanges != 1 || ms[0].Refreshes != 1 || ms[0].Token != r.AppAuthToken {
		t.Errorf("GET merchants: %+v", ms)
	}
	for _, s := range []string{a.AppAuthToken, a.AppRefreshToken, r.AppAuthToken, r.AppRefreshToken} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the emulator logged a token or refresh token")
		}
	}
	if !strings.Contains(logs.String(), "auth request") {
		t.Error("no auth request logged")
	}
}
