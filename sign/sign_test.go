package sign

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	fixedOnce sync.Once
	fixedKey  *rsa.PrivateKey
	fixedErr  error
)

// testKey is the committed test key testdata/rsa_private_key.pem (PKCS#1
// PEM, made with `openssl genrsa -traditional 2048` for these tests only).
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	fixedOnce.Do(func() { fixedKey, fixedErr = LoadPrivateKeyFile("testdata/rsa_private_key.pem") })
	if fixedErr != nil {
		t.Fatal(fixedErr)
	}
	return fixedKey
}

func TestContent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		params map[string]string
		want   string
	}{
		{nil, ""},
		{map[string]string{"sign": "x"}, ""},
		{map[string]string{"b": "2", "a": "1", "sign": "zzz", "empty": ""}, "a=1&b=2"},
		// Byte order: upper case before '_' before lower case; no escaping.
		{map[string]string{"ab": "1", "a_b": "2", "aB": "3", "A": "x y&z=w"}, "A=x y&z=w&aB=3&a_b=2&ab=1"},
		{map[string]string{"image_name": "门店照片", "timestamp": "2024-05-01 12:00:00"}, "image_name=门店照片&timestamp=2024-05-01 12:00:00"},
		{map[string]string{"sign_type": "RSA2", "sign": "s"}, "sign_type=RSA2"},
	} {
		if got := Content(tc.params); got != tc.want {
			t.Errorf("Content(%v) = %q, want %q", tc.params, got, tc.want)
		}
	}
}

// Known answer: the fixed key signs this exact string to this exact
// signature. The signature was computed independently with
//
//	printf '%s' "$content" | openssl dgst -sha256 -sign testdata/rsa_private_key.pem | base64 -w0
func TestRSA2KnownAnswer(t *testing.T) {
	t.Parallel()
	const (
		wantContent = `app_id=2021000000000001&biz_content={"a":"b c"}&charset=utf-8&method=alipay.offline.material.image.upload&sign_type=RSA2&timestamp=2024-05-01 12:00:00&version=1.0`
		wantSign    = "ciFFeqW395HDZsmjil1lgNJLSmRiJdRrxnww8UTkVHIyurCLBe/Bz6MPAnYy4yTLhiXUxZau+Wo9mVSbjyxSJdAxprFxkZGz4YuxnzEGP/vdqgt9bFyAm18c16So4ArdrWEPsiikN3q2N+iT2bTbWXFB7B/nGLl9vei8VrDZHWeqdTbTOoSdbYJ45NPAwhhLMIST7CnhvUyT9RPhjjeLlFQP4bqezpZV/QZseV3VM/puuw4kILYhvZjnxg2mUgbHQDZJfa1LaAaXqjAXR8XcSy/WJihkYq/hFLAWzzF4E7Ybwf8hZuggTM9VlptaA7YoVUTi97zbT+ByPvOOTZs4KA=="
	)
	content := Content(map[string]string{
		"app_id": "2021000000000001", "method": "alipay.offline.material.image.upload",
		"charset": "utf-8", "sign_type": "RSA2", "timestamp": "2024-05-01 12:00:00",
		"version": "1.0", "biz_content": `{"a":"b c"}`, "format": "", "sign": "old",
	})
	if content != wantContent {
		t.Fatalf("Content = %q\nwant      %q", content, wantContent)
	}
	key := testKey(t)
	got, err := RSA2{Key: key}.Sign([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if got != wantSign {
		t.Errorf("Sign = %s\nwant   %s", got, wantSign)
	}
	if err := (RSA2Verifier{Key: &key.PublicKey}).Verify([]byte(content), wantSign); err != nil {
		t.Errorf("Verify(known answer): %v", err)
	}
	// Rand is ignored: an explicit source gives the same signature.
	if got, _ := (RSA2{Key: key, Rand: rand.Reader}).Sign([]byte(content)); got != wantSign {
		t.Error("signature depends on Rand")
	}
}

func TestRSA2VerifyRejects(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	other, err := LoadPrivateKeyFile("testdata/other_rsa_private_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("a=1&b=2")
	good, err := RSA2{Key: key}.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := RSA2{Key: other}.Sign(msg)
	v := RSA2Verifier{Key: &key.PublicKey}
	if err := v.Verify(msg, " "+good+"\n"); err != nil {
		t.Errorf("surrounding space: %v", err)
	}
	for name, tc := range map[string]struct {
		msg []byte
		sig string
	}{
		"tampered content": {[]byte("a=1&b=3"), good},
		"other key":        {msg, wrong},
		"not Base64":       {msg, "%%%" + good},
		"truncated":        {msg, good[:len(good)-8]},
		"empty":            {msg, ""},
	} {
		err := v.Verify(tc.msg, tc.sig)
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	if _, err := (RSA2{}).Sign(msg); err == nil {
		t.Error("signer without key signed")
	}
	if err := (RSA2Verifier{}).Verify(msg, good); err == nil {
		t.Error("verifier without key accepted")
	}
	if strings.Contains(good, "\n") {
		t.Error("signature has line breaks")
	}
}
