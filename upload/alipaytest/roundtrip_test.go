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
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// newClient returns an upload client for srv, signing with the test app
// key; adjust tweaks its config.
func newClient(t *testing.T, srv *alipaytest.Server, adjust func(*upload.Config)) *upload.Client {
	t.Helper()
	cfg := upload.Config{
		GatewayURL:      srv.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: alipaytest.TestKeys().App},
		AlipayPublicKey: srv.PublicKey(),
		Timeout:         30 * time.Second,
		Logger:          alipaytest.TestLogger(t),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := upload.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uploadFile(c *upload.Client, typ string, file []byte) (upload.Result, error) {
	return c.Upload(context.Background(), upload.Request{
		Content: bytes.NewReader(file), Size: int64(len(file)),
		ImageType: typ, ImageName: "store photo." + typ,
	})
}

func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	c := newClient(t, srv, nil)
	wantType := map[string]string{"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp", "mp4": "video/mp4"}
	for typ, file := range samples() {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			res, err := c.Upload(t.Context(), upload.Request{
				Content: bytes.NewReader(file), Size: int64(len(file)),
				ImageType: typ, ImageName: "门店照片 " + typ, ImagePID: "2088000000000002", AppAuthToken: "tok-" + typ,
			})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			var got *alipaytest.Upload
			for _, u := range srv.Uploads() {
				if u.ImageID == res.ImageID {
					got = &u
				}
			}
			if got == nil {
				t.Fatalf("image_id %s not recorded", res.ImageID)
			}
			sum := sha256.Sum256(file)
			if got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(file)) {
				t.Errorf("recorded %d bytes sha256 %s, sent %d bytes", got.Size, got.SHA256, len(file))
			}
			if got.ImageURL != res.ImageURL || got.TraceID != res.TraceID || res.TraceID == "" {
				t.Errorf("result %+v, recorded %+v", res, *got)
			}
			if got.ImageName != "门店照片 "+typ || got.ImageType != typ || got.ImagePID != "2088000000000002" || got.AppAuthToken != "tok-"+typ {
				t.Errorf("recorded fields %+v", *got)
			}
			if got.ContentType != wantType[typ] {
				t.Errorf("file part type %q, want %q", got.ContentType, wantType[typ])
			}
		})
	}
}

func TestClientClassifiesFaults(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)
	big := append(mediagen.Sample("jpg", 1), make([]byte, 2<<20)...) // still a JPEG to the sniffer
	cases := []struct {
		kind  alipaytest.FaultKind
		file  []byte
		class upload.Class
		is    error
	}{
		{kind: alipaytest.Fault502, file: jpg, class: upload.Retryable},
		{kind: alipaytest.Fault503, file: jpg, class: upload.Retryable},
		{kind: alipaytest.FaultReset, file: jpg, class: upload.Retryable},
		{kind: alipaytest.FaultReset, file: big, class: upload.Retryable},
		{kind: alipaytest.FaultSlow, file: jpg, class: upload.Retryable, is: context.DeadlineExceeded},
		{kind: alipaytest.FaultUnavailable, file: jpg, class: upload.Retryable},
		{kind: alipaytest.FaultThrottled, file: jpg, class: upload.Throttled},
		{kind: alipaytest.FaultBadSignature, file: jpg, class: upload.Permanent, is: upload.ErrBadSignature},
		{kind: alipaytest.FaultMalformed, file: jpg, class: upload.Permanent, is: upload.ErrBadResponse},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.kind, len(tc.file)), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{SlowDelay: time.Hour})
			c := newClient(t, srv, func(c *upload.Config) { c.Timeout = 2 * time.Second })
			srv.Faults().Next(tc.kind, 1)
			_, err := uploadFile(c, "jpg", tc.file)
			if err == nil {
				t.Fatal("upload succeeded")
			}
			if got := upload.Classify(err); got != tc.class {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tc.class)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v: want errors.Is %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "sign=") {
				t.Errorf("error text leaks the request query: %v", err)
			}
			// The fault was used up: the retry a worker would make succeeds.
			if _, err := uploadFile(c, "jpg", jpg); err != nil {
				t.Errorf("retry: %v", err)
			}
		})
	}
}

func TestClientSeesRejections(t *testing.T) {
	t.Parallel()
	jpg, png := mediagen.Sample("jpg", 1), mediagen.Sample("png", 1)
	cases := []struct {
		name    string
		gateway func(*alipaytest.Config)
		client  func(*upload.Config)
		typ     string
		file    []byte
		code    string
		subCode string
	}{
		{name: "wrong signing key", client: func(c *upload.Config) { c.Signer = sign.RSA2{Key: alipaytest.TestKeys().Gateway} },
			code: "40002", subCode: alipaytest.SubInvalidSignature},
		{name: "clock off by an hour", client: func(c *upload.Config) { c.Now = func() time.Time { return time.Now().Add(time.Hour) } },
			code: "40002", subCode: alipaytest.SubInvalidTimestamp},
		{name: "other app", client: func(c *upload.Config) { c.AppID = "2021000000000999" },
			code: "40002", subCode: alipaytest.SubInvalidAppID},
		{name: "file larger than the gateway allows", gateway: func(c *alipaytest.Config) { c.MaxFileSize = 100 },
			code: "40002", subCode: alipaytest.SubInvalidFileSize},
		{name: "png sent as jpg", typ: "jpg", file: png, code: "40002", subCode: alipaytest.SubInvalidFileExtension},
		{name: "type not allowed", gateway: func(c *alipaytest.Config) { c.AllowedTypes = []string{"png"} },
			code: "40002", subCode: alipaytest.SubInvalidFileExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg alipaytest.Config
			if tc.gateway != nil {
				tc.gateway(&cfg)
			}
			srv := alipaytest.Start(t, cfg)
			c := newClient(t, srv, tc.client)
			typ, file := "jpg", jpg
			if tc.file != nil {
				typ, file = tc.typ, tc.file
			}
			_, err := uploadFile(c, typ, file)
			var apiErr *upload.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v: want an *upload.APIError", err)
			}
			if apiErr.Code != tc.code || apiErr.SubCode != tc.subCode || apiErr.TraceID == "" {
				t.Errorf("APIError %+v, want %s %s with a trace id", apiErr, tc.code, tc.subCode)
			}
			if upload.Classify(err) != upload.Permanent {
				t.Errorf("class %v, want permanent", upload.Classify(err))
			}
		})
	}
}

func TestClientRejectsForgedAnswers(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)

	t.Run("re-signed with another key", func(t *testing.T) {
		t.Parallel()
		// The gateway signs with the app key; the client trusts the real
		// gateway key.
		srv := alipaytest.Start(t, alipaytest.Config{GatewayKey: alipaytest.TestKeys().App})
		c := newClient(t, srv, func(c *upload.Config) { c.AlipayPublicKey = &alipaytest.TestKeys().Gateway.PublicKey })
		_, err := uploadFile(c, "jpg", jpg)
		if !errors.Is(err, upload.ErrBadSignature) || upload.Classify(err) != upload.Permanent {
			t.Errorf("error %v: want a permanent ErrBadSignature", err)
		}
	})

	for name, tamper := range map[string]func([]byte) []byte{
		"image_id changed": func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"image_id":"`)) + len(`"image_id":"`)
			b[i] ^= 1
			return b
		},
		"response node duplicated": func(b []byte) []byte {
			node := b[1:bytes.Index(b, []byte(`,"sign"`))]
			return append(append([]byte("{"), node...), append([]byte(","), b[1:]...)...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{})
			// A proxy between client and gateway that alters the answer.
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(srv.BaseURL, "http://")
				r.RequestURI = ""
				resp, err := srv.Client().Do(r)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				w.Header()["trace_id"] = resp.Header["Trace_id"]
				w.Write(tamper(b))
			}))
			defer proxy.Close()
			c := newClient(t, srv, func(c *upload.Config) { c.GatewayURL = proxy.URL + alipaytest.GatewayPath })
			_, err := uploadFile(c, "jpg", jpg)
			if err == nil || upload.Classify(err) != upload.Permanent {
				t.Fatalf("error %v: want a permanent failure", err)
			}
			if len(srv.Uploads()) != 1 {
				t.Errorf("the gateway recorded %d uploads, want 1 (the answer was altered after it)", len(srv.Uploads()))
			}
		})
	}
}

func TestClientCertificateMode(t *testing.T) {
	t.Parallel()
	certs := alipaytest.TestCerts()
	var cfg alipaytest.Config
	certs.Configure(&cfg)
	srv := alipaytest.Start(t, cfg)
	dir := t.TempDir()
	files, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	appSN, err := sign.CertFileSN(files.AppCert)
	if err != nil {
		t.Fatal(err)
	}
	rootSN, err := sign.RootCertFileSN(files.RootCert)
	if err != nil {
		t.Fatal(err)
	}
	alipayKey, err := sign.LoadPublicKeyFile(files.AlipayCert)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, func(c *upload.Config) {
		c.AppCertSN, c.AlipayRootCertSN, c.AlipayPublicKey = appSN, rootSN, alipayKey
	})
	res, err := uploadFile(c, "gif", mediagen.Sample("gif", 1))
	if err != nil {
		t.Fatalf("upload in certificate mode: %v", err)
	}
	if ups := srv.Uploads(); len(ups) != 1 || ups[0].ImageID != res.ImageID {
		t.Errorf("uploads %+v", ups)
	}

	// A client still in public-key mode is told its certificate is missing.
	plain := newClient(t, srv, nil)
	_, err = uploadFile(plain, "gif", mediagen.Sample("gif", 1))
	var apiErr *upload.APIError
	if !errors.As(err, &apiErr) || apiErr.SubCode != alipaytest.SubAppCertNotExist {
		t.Errorf("public-key client against certificate mode: %v", err)
	}
}

// TestClientUnderRandomFaults uploads through a gateway that fails a third
// of the requests at random and retries like a worker would; every file
// must arrive exactly once per reported success.
func TestClientUnderRandomFaults(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{Seed: 7})
	for _, spec := range []string{"503=0.1", "reset=0.1", "20000=0.05", "40005=0.05"} {
		if err := srv.Faults().Set(spec); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv, nil)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]string{} // image_id -> sha256
	)
	for i := range 24 {
		wg.Go(func() {
			file := append(mediagen.Sample("png", 1), fmt.Sprintf("file %d", i)...)
			for attempt := 1; ; attempt++ {
				res, err := uploadFile(c, "png", file)
				if err == nil {
					sum := sha256.Sum256(file)
					mu.Lock()
					results[res.ImageID] = hex.EncodeToString(sum[:])
					mu.Unlock()
					return
				}
				if upload.Classify(err) == upload.Permanent || attempt == 50 {
					t.Errorf("file %d attempt %d: %v", i, attempt, err)
					return
				}
			}
		})
	}
	wg.Wait()
	ups := srv.Uploads()
	if len(ups) != len(results) || len(results) != 24 {
		t.Fatalf("%d recorded, %d successes, want 24 each", len(ups), len(results))
	}
	for _, u := range ups {
		if results[u.ImageID] != u.SHA256 {
			t.Errorf("upload %s: recorded sha256 %s, client sent %s", u.ImageID, u.SHA256, results[u.ImageID])
		}
	}
	st := srv.Stats()
	faults := int64(0)
	for _, n := range st.Faults {
		faults += n
	}
	if st.Successes != 24 || st.Requests != 24+faults || faults == 0 {
		t.Errorf("stats %+v", st)
	}
}
