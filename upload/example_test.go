package upload_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// Upload one PNG to a gateway emulator standing in for Alipay.
func Example() {
	keys := alipaytest.TestKeys()
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	dir, err := os.MkdirTemp("", "upload-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	files, err := keys.WriteFiles(dir)
	if err != nil {
		log.Fatal(err)
	}

	// At start-up: load the keys once, build one shared client.
	k, err := upload.KeysFromFiles(files.AppPrivateKey, files.GatewayPublicKey)
	if err != nil {
		log.Fatal(err)
	}
	cfg := upload.Config{AppID: alipaytest.TestAppID, GatewayURL: srv.URL}
	k.Apply(&cfg)
	client, err := upload.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	// Per file: a reader and its exact size.
	var photo bytes.Buffer
	if err := png.Encode(&photo, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		log.Fatal(err)
	}
	res, err := client.Upload(context.Background(), upload.Request{
		Content:   &photo,
		Size:      int64(photo.Len()),
		ImageType: "png",
		ImageName: "storefront.png",
	})
	if err != nil {
		log.Fatalf("upload failed (%v): %v", upload.Classify(err), err)
	}
	got := srv.Uploads()[0]
	fmt.Println("image_id returned:", res.ImageID == got.ImageID)
	fmt.Println("gateway received:", got.ImageName, got.ImageType, got.ContentType)
	// Output:
	// image_id returned: true
	// gateway received: storefront.png png image/png
}

// Certificate mode: the app certificate and Alipay's root bundle give the
// app_cert_sn and alipay_root_cert_sn parameters, and Alipay's public key
// comes from its certificate.
func ExampleCertKeysFromFiles() {
	dir, err := os.MkdirTemp("", "upload-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyFiles, err := alipaytest.TestKeys().WriteFiles(dir)
	if err != nil {
		log.Fatal(err)
	}
	certs := alipaytest.TestCerts()
	certFiles, err := certs.WriteFiles(dir)
	if err != nil {
		log.Fatal(err)
	}

	k, err := upload.CertKeysFromFiles(
		keyFiles.AppPrivateKey,
		filepath.Join(dir, alipaytest.AppCertFile),
		filepath.Join(dir, alipaytest.AlipayCertFile),
		certFiles.RootCert,
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("app_cert_sn matches:", k.AppCertSN == certs.AppCertSN)
	fmt.Println("alipay_root_cert_sn matches:", k.AlipayRootCertSN == certs.RootCertSN)
	fmt.Println("Alipay key from its certificate:", k.AlipayPublicKey.Equal(certs.Alipay.PublicKey))

	// Alipay's certificate given as the app's does not hold the app's key.
	_, err = upload.CertKeysFromFiles(
		keyFiles.AppPrivateKey,
		filepath.Join(dir, alipaytest.AlipayCertFile),
		filepath.Join(dir, alipaytest.AlipayCertFile),
		certFiles.RootCert,
	)
	fmt.Println("certificates swapped:", errors.Is(err, upload.ErrKeyMismatch))
	// Output:
	// app_cert_sn matches: true
	// alipay_root_cert_sn matches: true
	// Alipay key from its certificate: true
	// certificates swapped: true
}

// A worker decides what to do with a failed upload from its class alone.
func ExampleClassify() {
	for _, err := range []error{
		&upload.APIError{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "isp.unknow-error"},
		&upload.APIError{Code: "40005", Msg: "Call Limited", SubCode: "isv.app-call-limited"},
		&upload.APIError{Code: "40002", Msg: "Invalid Arguments", SubCode: "isv.invalid-signature"},
		&upload.HTTPError{StatusCode: 502},
		fmt.Errorf("job 42: %w", &upload.APIError{Code: "40004", Msg: "Business Failed"}),
	} {
		switch upload.Classify(err) {
		case upload.Retryable:
			fmt.Println("retry with backoff:", err)
		case upload.Throttled:
			fmt.Println("slow down:", err)
		default:
			fmt.Println("give up:", err)
		}
	}
	// Output:
	// retry with backoff: alipay 20000 Service Currently Unavailable (isp.unknow-error)
	// slow down: alipay 40005 Call Limited (isv.app-call-limited)
	// give up: alipay 40002 Invalid Arguments (isv.invalid-signature)
	// retry with backoff: upload: gateway answered HTTP 502 Bad Gateway
	// give up: job 42: alipay 40004 Business Failed
}

// A reader that fails mid-way aborts the upload, and the caller finds its
// own error in the result.
func ExampleClient_Upload_readerFailure() {
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		AppID:           alipaytest.TestAppID,
		GatewayURL:      srv.URL,
		Signer:          sign.RSA2{Key: alipaytest.TestKeys().App},
		AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		log.Fatal(err)
	}

	errChanged := errors.New("file changed since it was queued")
	_, err = client.Upload(context.Background(), upload.Request{
		Content:   &failingReader{after: 64 << 10, err: errChanged},
		Size:      1 << 20,
		ImageType: "jpg",
		ImageName: "changing.jpg",
	})
	fmt.Println(errors.Is(err, errChanged), errors.Is(err, upload.ErrContent), upload.Classify(err))

	// The gateway sees the body break off and records nothing.
	for srv.Stats().Aborted == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("uploads recorded:", len(srv.Uploads()))

	// A reader shorter than Request.Size is refused as a size mismatch.
	short := "\xff\xd8\xff not a megabyte"
	_, err = client.Upload(context.Background(), upload.Request{
		Content: strings.NewReader(short), Size: 1 << 20, ImageType: "jpg", ImageName: "short.jpg",
	})
	fmt.Println(errors.Is(err, upload.ErrSizeMismatch), errors.Is(err, upload.ErrContent))
	// Output:
	// true true permanent
	// uploads recorded: 0
	// true true
}

// failingReader yields after bytes of JPEG-looking data, then err.
type failingReader struct {
	after, n int
	err      error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n >= r.after {
		return 0, r.err
	}
	p = p[:min(len(p), r.after-r.n)]
	clear(p)
	if r.n == 0 && len(p) >= 3 {
		copy(p, []byte{0xFF, 0xD8, 0xFF})
	}
	r.n += len(p)
	return len(p), nil
}

// The same upload over OpenAPI v3: only Protocol changes. The v3 endpoint
// defaults to the scheme and host of GatewayURL; results and error classes
// are the same as on the classic gateway.
func ExampleProtocol() {
	keys := alipaytest.TestKeys()
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		Protocol:        upload.V3,
		GatewayURL:      srv.URL, // v3 endpoint: srv.BaseURL
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		log.Fatal(err)
	}
	var photo bytes.Buffer
	if err := png.Encode(&photo, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		log.Fatal(err)
	}
	res, err := client.Upload(context.Background(), upload.Request{
		Content: &photo, Size: int64(photo.Len()), ImageType: "png", ImageName: "storefront.png",
	})
	if err != nil {
		log.Fatal(err)
	}
	got := srv.Uploads()[0]
	fmt.Println(got.API, res.ImageID == got.ImageID, res.TraceID == got.TraceID)

	// A protocol named in configuration is parsed; Alipay's sandbox has a
	// v3 endpoint of its own.
	p, err := upload.ParseProtocol("V3")
	fmt.Println(p, err, upload.SandboxV3Endpoint)
	_, err = upload.ParseProtocol("soap")
	fmt.Println(errors.Is(err, upload.ErrProtocol))
	// Output:
	// v3 true true
	// v3 <nil> https://openapi-sandbox.dl.alipaydev.com
	// true
}

// A JSON call names one operation in both protocols; the same typed request
// and answer serve both. Here a stand-in for Alipay answers
// alipay.open.auth.token.app over v3.
func ExampleJSONCall() {
	type tokenRequest struct {
		GrantType string `json:"grant_type"`
		Code      string `json:"code"`
	}
	type tokenAnswer struct {
		AppAuthToken string `json:"app_auth_token"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	tokenApp := upload.JSONCall[tokenRequest, tokenAnswer]{
		Method: "alipay.open.auth.token.app",
		Path:   "/v3/alipay/open/auth/token/app",
	}

	keys := alipaytest.TestKeys()
	alipay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := []byte(`{"app_auth_token":"202405BB0f0e","expires_in":31536000}`)
		ts, nonce := "1714536000000", "8c1d"
		sig, _ := sign.RSA2{Key: keys.Gateway}.Sign(sign.V3ResponseContent(ts, nonce, body))
		w.Header().Set("alipay-timestamp", ts)
		w.Header().Set("alipay-nonce", nonce)
		w.Header().Set("alipay-signature", sig)
		fmt.Println(r.Method, r.URL.Path, strings.HasPrefix(r.Header.Get("Authorization"), sign.V3Scheme))
		w.Write(body)
	}))
	defer alipay.Close()

	client, err := upload.New(upload.Config{
		Protocol:        upload.V3,
		V3Endpoint:      alipay.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: &keys.Gateway.PublicKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	answer, err := tokenApp.Do(context.Background(), client, "", tokenRequest{GrantType: "authorization_code", Code: "4b20"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer.AppAuthToken, answer.ExpiresIn)
	// Output:
	// POST /v3/alipay/open/auth/token/app true
	// 202405BB0f0e 31536000
}

// An unsigned refusal may be forged by anything on the path: it is worth
// retrying, unless Alipay answers it unsigned because it cannot sign for
// the request (upload.UnsignedFinalSubCodes).
func ExampleAPIError_Class() {
	forged := &upload.APIError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAM", Unsigned: true}
	unknownApp := &upload.APIError{Code: "40002", Msg: "Invalid Arguments", SubCode: "isv.invalid-app-id", Unsigned: true}
	signed := &upload.APIError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAM"}
	fmt.Println(forged.Class(), unknownApp.Class(), signed.Class())
	fmt.Println(slices.Contains(upload.UnsignedFinalSubCodes, unknownApp.SubCode))
	fmt.Println(forged)
	// Output:
	// retryable permanent permanent
	// true
	// unsigned answer, not verified as Alipay's: alipay 40004 Business Failed (INVALID_PARAM)
}

// A wrong but well-formed Alipay public key (here the app's own): the
// gateway stores the file, but the answer does not verify. The image_id it
// claims is kept, unverified, for reconciliation.
func ExampleUnverifiedResult() {
	keys := alipaytest.TestKeys()
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		AppID: alipaytest.TestAppID, GatewayURL: srv.URL,
		Signer: sign.RSA2{Key: keys.App}, AlipayPublicKey: &keys.App.PublicKey, // wrong key
	})
	if err != nil {
		log.Fatal(err)
	}
	var photo bytes.Buffer
	if err := png.Encode(&photo, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		log.Fatal(err)
	}
	_, err = client.Upload(context.Background(), upload.Request{
		Content: &photo, Size: int64(photo.Len()), ImageType: "png", ImageName: "storefront.png",
	})
	u, ok := upload.UnverifiedResult(err)
	fmt.Println(errors.Is(err, upload.ErrBadSignature), ok, u.ImageID == srv.Uploads()[0].ImageID)
	// Output: true true true
}

// Every error of an upload matches exactly one class sentinel with
// errors.Is; an HTTP answer other than 200 is classed by its status.
func ExampleHTTPError_Class() {
	for _, status := range []int{503, 429, 403} {
		err := fmt.Errorf("job 7: %w", &upload.HTTPError{StatusCode: status})
		var h *upload.HTTPError
		errors.As(err, &h)
		fmt.Println(status, h.Class(),
			errors.Is(err, upload.ErrRetryable), errors.Is(err, upload.ErrThrottled), errors.Is(err, upload.ErrPermanent))
	}
	// Output:
	// 503 retryable true false false
	// 429 throttled false true false
	// 403 permanent false false true
}
