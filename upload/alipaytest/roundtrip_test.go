package alipaytest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
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

// protocols are the protocols every round trip runs over: the emulator
// must behave the same way, with the same checks and faults, over both.
var protocols = []upload.Protocol{upload.Classic, upload.V3}

// bothProtocols runs f once per protocol, in parallel subtests named after
// it.
func bothProtocols(t *testing.T, f func(t *testing.T, proto upload.Protocol)) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			f(t, p)
		})
	}
}

// newClient returns an upload client for srv speaking p, signing with the
// test app key; adjust tweaks its config.
func newClient(t *testing.T, srv *alipaytest.Server, p upload.Protocol, adjust func(*upload.Config)) *upload.Client {
	t.Helper()
	cfg := upload.Config{
		Protocol:        p,
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
	wantType := map[string]string{"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp", "mp4": "video/mp4"}
	for p, c := range clients(t, srv) {
		for typ, file := range samples() {
			t.Run(string(p)+"/"+typ, func(t *testing.T) {
				t.Parallel()
				res, err := c.Upload(t.Context(), upload.Request{
					Content: bytes.NewReader(file), Size: int64(len(file)),
					ImageType: typ, ImageName: "门店照片 " + typ, ImagePID: "2088000000000002", AppAuthToken: "tok-" + typ + "-" + string(p),
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
				if got.ImageName != "门店照片 "+typ || got.ImageType != typ || got.ImagePID != "2088000000000002" || got.AppAuthToken != "tok-"+typ+"-"+string(p) {
					t.Errorf("recorded fields %+v", *got)
				}
				if got.ContentType != wantType[typ] {
					t.Errorf("file part type %q, want %q", got.ContentType, wantType[typ])
				}
				if got.API != string(p) {
					t.Errorf("recorded API %q, want %q", got.API, p)
				}
			})
		}
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
	for p, tc := range crossProtocols(cases) {
		t.Run(fmt.Sprintf("%s/%s/%d", p, tc.kind, len(tc.file)), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{SlowDelay: time.Hour})
			c := newClient(t, srv, p, func(c *upload.Config) { c.Timeout = 2 * time.Second })
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
	for p, tc := range crossProtocols(cases) {
		t.Run(string(p)+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startWith(t, tc.gateway)
			c := newClient(t, srv, p, tc.client)
			typ, file := "jpg", jpg
			if tc.file != nil {
				typ, file = tc.typ, tc.file
			}
			_, err := uploadFile(c, typ, file)
			assertRejection(t, err, p, tc.code, tc.subCode)
			if upload.Classify(err) != upload.Permanent {
				t.Errorf("class %v, want permanent", upload.Classify(err))
			}
		})
	}
}

func TestClientRejectsForgedAnswers(t *testing.T) {
	t.Parallel()
	jpg := mediagen.Sample("jpg", 1)

	for _, p := range protocols {
		t.Run(string(p)+"/re-signed with another key", func(t *testing.T) {
			t.Parallel()
			// The gateway signs with the app key; the client trusts the real
			// gateway key.
			srv := alipaytest.Start(t, alipaytest.Config{GatewayKey: alipaytest.TestKeys().App})
			c := newClient(t, srv, p, func(c *upload.Config) { c.AlipayPublicKey = &alipaytest.TestKeys().Gateway.PublicKey })
			_, err := uploadFile(c, "jpg", jpg)
			if !errors.Is(err, upload.ErrBadSignature) || upload.Classify(err) != upload.Permanent {
				t.Errorf("error %v: want a permanent ErrBadSignature", err)
			}
		})
	}

	type tampering struct {
		p      upload.Protocol
		name   string
		tamper func([]byte) []byte
	}
	imageIDChanged := func(b []byte) []byte {
		i := bytes.Index(b, []byte(`"image_id":"`)) + len(`"image_id":"`)
		b[i] ^= 1
		return b
	}
	for _, tc := range []tampering{
		{upload.Classic, "image_id changed", imageIDChanged},
		{upload.V3, "image_id changed", imageIDChanged},
		{upload.Classic, "response node duplicated", func(b []byte) []byte {
			node := b[1:bytes.Index(b, []byte(`,"sign"`))]
			return append(append([]byte("{"), node...), append([]byte(","), b[1:]...)...)
		}},
	} {
		p, name, tamper := tc.p, tc.name, tc.tamper
		t.Run(string(p)+"/"+name, func(t *testing.T) {
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
				for k, v := range resp.Header {
					if k != "Content-Length" {
						w.Header()[k] = v
					}
				}
				w.WriteHeader(resp.StatusCode)
				w.Write(tamper(b))
			}))
			defer proxy.Close()
			c := newClient(t, srv, p, func(c *upload.Config) { c.GatewayURL = proxy.URL + alipaytest.GatewayPath })
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
	bothProtocols(t, testClientCertificateMode)
}

func testClientCertificateMode(t *testing.T, p upload.Protocol) {
	certs := alipaytest.TestCerts()
	srv := startWith(t, certs.Configure)
	dir := t.TempDir()
	files, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyFiles, err := alipaytest.TestKeys().WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := upload.CertKeysFromFiles(keyFiles.AppPrivateKey, files.AppCert, files.AlipayCert, files.RootCert)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, p, keys.Apply)
	res, err := uploadFile(c, "gif", mediagen.Sample("gif", 1))
	if err != nil {
		t.Fatalf("upload in certificate mode: %v", err)
	}
	if ups := srv.Uploads(); len(ups) != 1 || ups[0].ImageID != res.ImageID {
		t.Errorf("uploads %+v", ups)
	}

	// A client still in public-key mode is told its certificate is missing.
	plain := newClient(t, srv, p, nil)
	_, err = uploadFile(plain, "gif", mediagen.Sample("gif", 1))
	assertRejection(t, err, p, alipaytest.CodeInvalidParam, alipaytest.SubAppCertNotExist)

	// A client expecting another Alipay certificate refuses v3 answers
	// naming this one.
	if p == upload.V3 {
		other := newClient(t, srv, p, func(c *upload.Config) {
			keys.Apply(c)
			c.AlipayCertSN = "0123456789abcdef0123456789abcdef"
		})
		if _, err := uploadFile(other, "gif", mediagen.Sample("gif", 1)); !errors.Is(err, upload.ErrBadSignature) {
			t.Errorf("other alipay-sn: %v, want ErrBadSignature", err)
		}
	}
}

// TestClientUnderRandomFaults uploads through a gateway that fails a third
// of the requests at random and retries like a worker would; every file
// must arrive exactly once per reported success.
func TestClientUnderRandomFaults(t *testing.T) {
	t.Parallel()
	bothProtocols(t, testClientUnderRandomFaults)
}

func testClientUnderRandomFaults(t *testing.T, p upload.Protocol) {
	srv := alipaytest.Start(t, alipaytest.Config{Seed: 7})
	for _, spec := range []string{"503=0.1", "reset=0.1", "20000=0.05", "40005=0.05"} {
		if err := srv.Faults().Set(spec); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv, p, nil)
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

// crossProtocols yields every case once per protocol.
func crossProtocols[T any](cases []T) iter.Seq2[upload.Protocol, T] {
	return func(yield func(upload.Protocol, T) bool) {
		for _, tc := range cases {
			for _, p := range protocols {
				if !yield(p, tc) {
					return
				}
			}
		}
	}
}

// clients returns a client for srv per protocol.
func clients(t *testing.T, srv *alipaytest.Server) map[upload.Protocol]*upload.Client {
	m := map[upload.Protocol]*upload.Client{}
	for _, p := range protocols {
		m[p] = newClient(t, srv, p, nil)
	}
	return m
}

// assertRejection checks that err is the refusal code/subCode as p
// reports it: classic code and sub_code, or the v3 code (the sub_code
// without its prefix) with an HTTP status; always with a trace id.
func assertRejection(t *testing.T, err error, p upload.Protocol, code, subCode string) {
	t.Helper()
	var apiErr *upload.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v: want an *upload.APIError", err)
	}
	if apiErr.TraceID == "" {
		t.Errorf("APIError %+v has no trace id", apiErr)
	}
	if p == upload.V3 {
		if apiErr.Code != alipaytest.V3Code(subCode) || apiErr.StatusCode < 400 {
			t.Errorf("APIError %+v, want v3 code %s with a 4xx status", apiErr, alipaytest.V3Code(subCode))
		}
		return
	}
	if apiErr.Code != code || apiErr.SubCode != subCode {
		t.Errorf("APIError %+v, want %s %s", apiErr, code, subCode)
	}
}
