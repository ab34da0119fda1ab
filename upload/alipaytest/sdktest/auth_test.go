package sdktest

import (
	"testing"

	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// authGrant is one merchant's fields as auth.js prints them.
type authGrant struct {
	UserID          string `json:"user_id"`
	AuthAppID       string `json:"auth_app_id"`
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	ExpiresIn       string `json:"expires_in"`
	ReExpiresIn     string `json:"re_expires_in"`
}

type authOutput struct {
	OK       bool      `json:"ok"`
	Error    string    `json:"error"`
	Code     string    `json:"code"`
	Exchange authGrant `json:"exchange"`
	Refresh  authGrant `json:"refresh"`
	Query    struct {
		Status    string `json:"status"`
		AuthAppID string `json:"auth_app_id"`
		UserID    string `json:"user_id"`
		ExpiresIn int64  `json:"expires_in"`
	} `json:"query"`
}

// TestOfficialSDKAuth: the official SDK exchanges a code, refreshes the
// token and queries it on the emulator, over both protocols, verifying
// every answer; what it got is what the emulator issued.
func TestOfficialSDKAuth(t *testing.T) {
	requireSDK(t)
	t.Parallel()
	for _, api := range []upload.Protocol{upload.Classic, upload.V3} {
		t.Run(string(api), func(t *testing.T) {
			t.Parallel()
			keys, err := alipaytest.TestKeys().WriteFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			srv := alipaytest.Start(t, alipaytest.Config{})
			shop := alipaytest.AuthMerchant{AuthAppID: "2021004100000007", UserID: "2088000000000007"}
			code, err := srv.IssueCode(shop)
			if err != nil {
				t.Fatal(err)
			}
			var out authOutput
			stderr := runNode(t, "auth.js", map[string]string{
				"api": string(api), "app_id": alipaytest.TestAppID, "gateway": srv.URL, "endpoint": srv.BaseURL,
				"private_key_file": keys.AppPrivateKey, "alipay_public_key_file": keys.GatewayPublicKey, "code": code,
			}, &out)
			if !out.OK {
				t.Fatalf("auth.js: %+v; stderr: %s", out, stderr)
			}
			m, _ := srv.Merchant(shop.AuthAppID)
			if len(m.Secrets) != 4 || out.Exchange.AppAuthToken != m.Secrets[0] || out.Exchange.AppRefreshToken != m.Secrets[1] ||
				out.Refresh.AppAuthToken != m.Token || out.Refresh.AppRefreshToken != m.RefreshToken {
				t.Errorf("the SDK got other tokens than the emulator issued")
			}
			if out.Exchange.AuthAppID != shop.AuthAppID || out.Exchange.UserID != shop.UserID || out.Exchange.ExpiresIn == "" {
				t.Errorf("exchange answer as the SDK read it: auth_app_id %q user_id %q expires_in %q",
					out.Exchange.AuthAppID, out.Exchange.UserID, out.Exchange.ExpiresIn)
			}
			if out.Query.Status != "valid" || out.Query.AuthAppID != shop.AuthAppID || out.Query.ExpiresIn <= 0 {
				t.Errorf("query answer as the SDK read it: %+v", out.Query)
			}
			if m.Exchanges != 1 || m.Refreshes != 1 {
				t.Errorf("emulator counted %d exchanges, %d refreshes", m.Exchanges, m.Refreshes)
			}
		})
	}
}
