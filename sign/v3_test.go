package sign

import (
	"errors"
	"testing"
)

// Known answers for OpenAPI v3. The signatures were computed independently
// of this package, by piping the exact content (wantContent below, with its
// newlines) into OpenSSL:
//
//	printf '%s' "$content" | openssl dgst -sha256 -sign testdata/rsa_private_key.pem | base64 -w0
//
// and, for the answer, with testdata/other_rsa_private_key.pem standing in
// for Alipay's key. See testdata/README.md.
func TestV3RequestKnownAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                          string
		auth                          V3Auth
		wantAuth                      string
		method, path, body, token     string
		wantContent, wantSign, header string
	}{
		{
			name:     "public key mode, multipart data part, app_auth_token",
			auth:     V3Auth{AppID: "2021000000000001", Nonce: "6b2f1a1e-4a53-4f0b-9d3e-3c1f6f0e9a21", Timestamp: 1714536000000},
			wantAuth: "app_id=2021000000000001,nonce=6b2f1a1e-4a53-4f0b-9d3e-3c1f6f0e9a21,timestamp=1714536000000",
			method:   "POST", path: "/v3/alipay/offline/material/image/upload",
			body:  `{"image_name":"门店照片.jpg","image_type":"jpg","image_pid":"2088000000000001"}`,
			token: "202405BBtesttoken01",
			wantContent: "app_id=2021000000000001,nonce=6b2f1a1e-4a53-4f0b-9d3e-3c1f6f0e9a21,timestamp=1714536000000\n" +
				"POST\n/v3/alipay/offline/material/image/upload\n" +
				`{"image_name":"门店照片.jpg","image_type":"jpg","image_pid":"2088000000000001"}` + "\n" +
				"202405BBtesttoken01\n",
			wantSign: "uSYeGjPsO+X+DKSyZGYtGHqCDQWJYovnArgRVZMITs/OXKY6fKDk7ODnbc/rODOob1VNjZ31Eekfv7IYk6iLNP+tbtwph+bEYC1MD5KFa0YlkXJQBR3Tt7ssBxmfQncMKIol7z11iUJQMIlSdezesswVavPHOP3hwf5/g2ndIJbmCOjoTUJvy43V+UHoH+Zn/No57BevET+ZpmjgmbXUDXu4lsUXJnvKOSEr5SryedD6b2fEJbyRPH6vIK6jbP4zVumv9xag0GzUGkyNjLd29IFAXWpTu1P0/3FYp3Yhnht8nTAsJkNdFgX+VyogZeZBWXJQi1qjexOmJMFBdd8rNw==",
		},
		{
			name:     "certificate mode, JSON body, query, no token",
			auth:     V3Auth{AppID: "2021000000000001", AppCertSN: "3e1c5f0b9d4a2e8f7c6b5a4d3e2f1a0b", Nonce: "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", Timestamp: 1714536000000},
			wantAuth: "app_id=2021000000000001,app_cert_sn=3e1c5f0b9d4a2e8f7c6b5a4d3e2f1a0b,nonce=0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a,timestamp=1714536000000",
			method:   "POST", path: "/v3/alipay/open/auth/token/app?lang=zh",
			body: `{"grant_type":"authorization_code","code":"4b203fe6c11548bcabd8da5bb087a83b"}`,
			wantContent: "app_id=2021000000000001,app_cert_sn=3e1c5f0b9d4a2e8f7c6b5a4d3e2f1a0b,nonce=0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a,timestamp=1714536000000\n" +
				"POST\n/v3/alipay/open/auth/token/app?lang=zh\n" +
				`{"grant_type":"authorization_code","code":"4b203fe6c11548bcabd8da5bb087a83b"}` + "\n",
			wantSign: "kYAVzi4dDZ0LWcDwkxpbGlk8T1/dXFHcEpNq6Pge+slQUWVcwfkyCZ9Ia+qlSYAyMzimaopNaWfUCG9LnTUus5XTn7HGd+5IGPvJQKnXTd/SDLK8ieR+wl36jQUNqeGtyaBS3JByMhFaUk74+hWLpugNFQ2wx5WIjIkWV8GUXdV8V22Dl3KClk8DJxsV01QUB41AMW3dEBW9rUIU9UXWr992A14hfqfTVrq2WoO38FLHczdn/mZFirOJzpaMlCkP8+VF8Y9J8XfEX4aJnKhoVVzaYnUTT6PGrA3ThNV/F4oSzbteRL7e9Ldw4Ol2d/pWtMUXqP/bDg7nWU422adrgA==",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			auth := tc.auth.String()
			if auth != tc.wantAuth {
				t.Fatalf("auth string = %q\nwant          %q", auth, tc.wantAuth)
			}
			content := V3Content(auth, tc.method, tc.path, tc.body, tc.token)
			if content != tc.wantContent {
				t.Fatalf("V3Content = %q\nwant        %q", content, tc.wantContent)
			}
			key := testKey(t)
			sig, err := RSA2{Key: key}.Sign([]byte(content))
			if err != nil {
				t.Fatal(err)
			}
			if sig != tc.wantSign {
				t.Errorf("signature = %s\nwant        %s", sig, tc.wantSign)
			}
			// The header round-trips through the parser the emulator uses.
			header := V3Authorization(auth, sig)
			gotAuth, fields, gotSig, err := ParseV3Authorization(header)
			if err != nil {
				t.Fatal(err)
			}
			if gotAuth != auth || fields != tc.auth || gotSig != sig {
				t.Errorf("ParseV3Authorization(%q) = %q, %+v, %q", header, gotAuth, fields, gotSig)
			}
			if err := (RSA2Verifier{Key: &key.PublicKey}).Verify([]byte(V3Content(gotAuth, tc.method, tc.path, tc.body, tc.token)), gotSig); err != nil {
				t.Errorf("verify parsed header: %v", err)
			}
		})
	}
}

func TestV3AnswerKnownAnswer(t *testing.T) {
	t.Parallel()
	const (
		timestamp = "1714536000123"
		nonce     = "a1b2c3d4-e5f6-4789-8abc-def012345678"
		body      = `{"image_id":"A8kWq3ZpL0mN5xR7tY2uV4bC6dE9fG1h","image_url":"http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=A8kWq3&zoom=original"}`
		wantSign  = "FgyU2zVoqx6YvpXRIkH/UtlchtiraNZ0zbbc+K8G7VdrBr5NgqXTV/iQoi4enS+jGqCgdgRyPQAGm3c3wYYk1r+bYWHjxDL4rzmb08t81VGqjOclSG4aXVOpFTX7Caxfqb7IE9s5GwaOeTv2RRdkChFYtNcM4+eZFcb7E9XAIL9i2OJVh1+fOdtZBuLKVeHIvL9NciBPOGlgw1EMOWCdrEm+jMGrzkNktrUOHP2ZyQh8eupl+4YAlOURSKEfwQbGkUMLgE3XoPYqt6fmsAE9wSblDmlNrD+vBxZ4AlTGDAxjI+eAEpGKv/eMpUtnfwURSWQ9MpDSdnHu3bc7G8+kVQ=="
	)
	content := V3ResponseContent(timestamp, nonce, []byte(body))
	if want := timestamp + "\n" + nonce + "\n" + body + "\n"; string(content) != want {
		t.Fatalf("V3ResponseContent = %q, want %q", content, want)
	}
	alipay, err := LoadPrivateKeyFile("testdata/other_rsa_private_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	v := RSA2Verifier{Key: &alipay.PublicKey}
	if err := v.Verify(content, wantSign); err != nil {
		t.Fatalf("known answer does not verify: %v", err)
	}
	if got, _ := (RSA2{Key: alipay}).Sign(content); got != wantSign {
		t.Errorf("signature = %s\nwant        %s", got, wantSign)
	}
	// One byte changed anywhere, or the app key instead of Alipay's, and
	// the answer is refused.
	tampered := []byte(body)
	tampered[len(`{"image_id":"A`)] = 'B'
	for name, c := range map[string][]byte{
		"body":      V3ResponseContent(timestamp, nonce, tampered),
		"timestamp": V3ResponseContent("1714536000124", nonce, []byte(body)),
		"nonce":     V3ResponseContent(timestamp, "b1b2c3d4-e5f6-4789-8abc-def012345678", []byte(body)),
	} {
		if err := v.Verify(c, wantSign); !errors.Is(err, ErrSignature) {
			t.Errorf("tampered %s: err = %v, want ErrSignature", name, err)
		}
	}
	if err := (RSA2Verifier{Key: &testKey(t).PublicKey}).Verify(content, wantSign); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: err = %v, want ErrSignature", err)
	}
}

func TestParseV3AuthorizationRejects(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"",
		"RSA2 app_id=1,nonce=n,timestamp=1,sign=abc",
		"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=1",
		"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=1,sign=",
		"ALIPAY-SHA256withRSA app_id=1,nonce,timestamp=1,sign=abc",
		"ALIPAY-SHA256withRSA app_id=1,app_id=2,nonce=n,timestamp=1,sign=abc",
		"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=yesterday,sign=abc",
	} {
		if _, _, _, err := ParseV3Authorization(h); !errors.Is(err, ErrV3Authorization) {
			t.Errorf("ParseV3Authorization(%q): err = %v, want ErrV3Authorization", h, err)
		}
	}
	// Fields it does not know are kept in the signed text.
	auth, f, sig, err := ParseV3Authorization("ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,expired_seconds=600,sign=c2ln")
	if err != nil || auth != "app_id=1,nonce=n,timestamp=5,expired_seconds=600" || f.AppID != "1" || f.Timestamp != 5 || sig != "c2ln" {
		t.Errorf("extra field: %q %+v %q %v", auth, f, sig, err)
	}
}
