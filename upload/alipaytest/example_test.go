package alipaytest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// A test uploads through the real client and checks what the gateway got.
func ExampleNewServer() {
	keys := alipaytest.TestKeys()
	srv, err := alipaytest.NewServer(alipaytest.Config{
		AppID:        "2021000000000001",
		AppPublicKey: &keys.App.PublicKey,
		GatewayKey:   keys.Gateway,
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	client, err := upload.New(upload.Config{
		GatewayURL:      srv.URL,
		AppID:           "2021000000000001",
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		panic(err)
	}
	photo := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "a JPEG, as far as the gateway can tell"...)
	res, err := client.Upload(context.Background(), upload.Request{
		Content: bytes.NewReader(photo), Size: int64(len(photo)),
		ImageType: "jpg", ImageName: "storefront.jpg",
	})
	if err != nil {
		panic(err)
	}

	got := srv.Uploads()[0]
	sum := sha256.Sum256(photo)
	fmt.Println("image_id returned and recorded:", res.ImageID == got.ImageID)
	fmt.Println("same bytes:", got.SHA256 == hex.EncodeToString(sum[:]), got.Size)
	fmt.Println("name and type:", got.ImageName, got.ImageType, got.ContentType)
	// Output:
	// image_id returned and recorded: true
	// same bytes: true 42
	// name and type: storefront.jpg jpg image/jpeg
}

// Scripted faults hit the next requests; the client classifies each.
func ExampleFaults_Next() {
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		GatewayURL: srv.URL, AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		panic(err)
	}

	for _, kind := range []alipaytest.FaultKind{
		alipaytest.Fault503, alipaytest.FaultUnavailable, alipaytest.FaultThrottled,
		alipaytest.FaultReset, alipaytest.FaultBadSignature,
	} {
		srv.Faults().Next(kind, 1)
	}
	photo := append([]byte{0x89, 'P', 'N', 'G'}, "a PNG to the sniffer"...)
	for range 6 {
		_, err := client.Upload(context.Background(), upload.Request{
			Content: bytes.NewReader(photo), Size: int64(len(photo)), ImageType: "png", ImageName: "p.png",
		})
		if err != nil {
			fmt.Println(upload.Classify(err))
		} else {
			fmt.Println("success")
		}
	}
	fmt.Println(srv.Stats().Faults)
	// Output:
	// retryable
	// retryable
	// throttled
	// retryable
	// permanent
	// success
	// map[20000:1 40005:1 503:1 badsign:1 reset:1]
}

// Another process steers the emulator over the admin API.
func ExampleGateway_adminAPI() {
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	resp, err := http.Post(srv.BaseURL+"/_emulator/faults", "application/json",
		strings.NewReader(`{"rates":{"503":0.2},"specs":["20000=next:3"]}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(srv.Faults().Settings())

	resp, err = http.Post(srv.BaseURL+"/_emulator/sink", "application/octet-stream", strings.NewReader("12345"))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(b))
	// Output:
	// {"rates":{"503":0.2},"next":[{"kind":"20000","count":3}],"slow_delay":"3s"}
	// {"bytes":5}
}

// On the v3 gateway an error answer carries the classic sub_code without
// its "isv." or "aop." prefix; V3Code gives the code a test should expect.
func ExampleV3Code() {
	fmt.Println(alipaytest.V3Code(alipaytest.SubInvalidSignature))
	fmt.Println(alipaytest.V3Code(alipaytest.SubInvalidAppAuthToken))
	// Output:
	// invalid-signature
	// invalid-app-auth-token
}

// A merchant authorizes the app: the emulator issues a one-time code, the
// ISV exchanges it for the merchant's token and uploads with it; once the
// token expires, uploads with it are refused with 20001.
func ExampleGateway_IssueCode() {
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		GatewayURL: srv.URL, AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		panic(err)
	}
	code, _ := srv.IssueCode(alipaytest.AuthMerchant{AuthAppID: "2021004100000001", UserID: "2088000000000001"})

	type exchange struct {
		GrantType string `json:"grant_type"`
		Code      string `json:"code"`
	}
	type grant struct {
		AuthAppID    string `json:"auth_app_id"`
		AppAuthToken string `json:"app_auth_token"`
		ExpiresIn    string `json:"expires_in"`
	}
	tokenApp := upload.JSONCall[exchange, grant]{Method: "alipay.open.auth.token.app", Path: "/v3/alipay/open/auth/token/app"}
	g, err := tokenApp.Do(context.Background(), client, "", exchange{GrantType: "authorization_code", Code: code})
	if err != nil {
		panic(err)
	}
	fmt.Println(g.AuthAppID, g.ExpiresIn)

	photo := []byte("\xff\xd8\xff\xe0 not much of a photo")
	send := func() error {
		_, err := client.Upload(context.Background(), upload.Request{Content: bytes.NewReader(photo), Size: int64(len(photo)),
			ImageType: "jpg", ImageName: "front", AppAuthToken: g.AppAuthToken})
		return err
	}
	fmt.Println(send())
	fmt.Println(srv.Uploads()[0].AuthAppID, srv.Uploads()[0].TokenState)

	srv.ExpireToken("2021004100000001")
	fmt.Println(errors.Is(send(), upload.ErrAppAuthToken))
	// Output:
	// 2021004100000001 31536000
	// <nil>
	// 2021004100000001 current
	// true
}
