package sign_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/storemedia/alipay-media-worker/sign"
)

// Content builds the string Alipay signs: non-empty parameters except
// sign, sorted by key, joined without URL encoding.
func ExampleContent() {
	fmt.Println(sign.Content(map[string]string{
		"method":     "alipay.offline.material.image.upload",
		"app_id":     "2021000000000001",
		"image_type": "jpg",
		"image_name": "Shop 12 front",
		"image_pid":  "", // empty: left out
		"sign":       "ignored",
		"timestamp":  "2026-11-22 12:00:00",
	}))
	// Output:
	// app_id=2021000000000001&image_name=Shop 12 front&image_type=jpg&method=alipay.offline.material.image.upload&timestamp=2026-11-22 12:00:00
}

// An RSA2 signature made with the app's private key verifies with its
// public key; any change to the content is detected.
func ExampleRSA2() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	content := []byte(sign.Content(map[string]string{"app_id": "2021000000000001", "image_type": "png"}))
	sig, err := sign.RSA2{Key: key}.Sign(content)
	if err != nil {
		panic(err)
	}
	v := sign.RSA2Verifier{Key: &key.PublicKey}
	fmt.Println(v.Verify(content, sig))
	err = v.Verify([]byte("app_id=2021000000000001&image_type=jpg"), sig)
	fmt.Println(errors.Is(err, sign.ErrSignature))
	// Output:
	// <nil>
	// true
}

// ParsePrivateKey reports what it could not understand without echoing the
// key material.
func ExampleParsePrivateKey() {
	_, err := sign.ParsePrivateKey([]byte("not a key"))
	fmt.Println(errors.Is(err, sign.ErrKeyFormat))
	fmt.Println(err)
	// Output:
	// true
	// sign: unrecognised key format: neither PEM nor Base64
}

// An OpenAPI v3 request is signed over its auth string, method, path,
// body and, when acting for a merchant, the app_auth_token, each on its
// own line.
func ExampleV3Content() {
	auth := sign.V3Auth{AppID: "2021000000000001", Nonce: "6b2f1a1e", Timestamp: 1714536000000}.String()
	content := sign.V3Content(auth, "POST", "/v3/alipay/open/auth/token/app", `{"grant_type":"refresh_token"}`, "")
	fmt.Printf("%q\n", content)
	fmt.Println(sign.V3Authorization(auth, "<Base64 of RSA2{Key: appKey}.Sign(content)>"))
	// Output:
	// "app_id=2021000000000001,nonce=6b2f1a1e,timestamp=1714536000000\nPOST\n/v3/alipay/open/auth/token/app\n{\"grant_type\":\"refresh_token\"}\n"
	// ALIPAY-SHA256withRSA app_id=2021000000000001,nonce=6b2f1a1e,timestamp=1714536000000,sign=<Base64 of RSA2{Key: appKey}.Sign(content)>
}

// ParsePublicKey takes Alipay's public key as the open platform shows it:
// bare Base64 of the DER, without PEM lines.
func ExampleParsePublicKey() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Println(err)
		return
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	pub, err := sign.ParsePublicKey([]byte(base64.StdEncoding.EncodeToString(der)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pub.Size()*8, pub.Equal(&priv.PublicKey))
	// Output: 2048 true
}
