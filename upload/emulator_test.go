package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// Round trips between the client and the gateway emulator.

// emulatorClient returns a client for srv, signing with the test app key.
func emulatorClient(t testing.TB, srv *alipaytest.Server, mutate func(*upload.Config)) *upload.Client {
	t.Helper()
	cfg := upload.Config{
		GatewayURL:      srv.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: alipaytest.TestKeys().App},
		AlipayPublicKey: srv.PublicKey(),
		Logger:          alipaytest.TestLogger(t),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := upload.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func request(data []byte, format, name string) upload.Request {
	return upload.Request{Content: bytes.NewReader(data), Size: int64(len(data)), ImageType: format, ImageName: name}
}

func TestEmulatorFormats(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{})
	c := emulatorClient(t, srv, nil)
	for _, format := range []string{"jpg", "png", "gif", "bmp", "mp4"} {
		data := mediagen.Sample(format, 1)
		req := request(data, format, "门店-"+format)
		req.ImagePID = "2088000000000001"
		req.AppAuthToken = "202405BBmerchanttoken"
		res, err := c.Upload(context.Background(), req)
		if err != nil {
			t.Errorf("%s: %v", format, err)
			continue
		}
		var got *alipaytest.Upload
		for _, u := range srv.Uploads() {
			if u.ImageID == res.ImageID {
				got = &u
			}
		}
		if got == nil {
			t.Errorf("%s: the emulator has no record of %s", format, res.ImageID)
			continue
		}
		sum := sha256.Sum256(data)
		if got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(data)) ||
			got.ImageName != req.ImageName || got.ImageType != format || got.ImagePID != req.ImagePID ||
			got.AppAuthToken != req.AppAuthToken || got.TraceID != res.TraceID || res.ImageURL != got.ImageURL {
			t.Errorf("%s: recorded %+v for result %+v", format, *got, res)
		}
		if res.TraceID == "" {
			t.Errorf("%s: no trace id", format)
		}
	}
}

func TestEmulatorCertificateMode(t *testing.T) {
	t.Parallel()
	certs := alipaytest.TestCerts()
	cfg := alipaytest.Config{}
	certs.Configure(&cfg)
	srv := alipaytest.Start(t, cfg)

	dir := t.TempDir()
	keyFiles, err := alipaytest.TestKeys().WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	certFiles, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := upload.CertKeysFromFiles(keyFiles.AppPrivateKey, certFiles.AppCert, certFiles.AlipayCert, certFiles.RootCert)
	if err != nil {
		t.Fatal(err)
	}
	if keys.AppCertSN != certs.AppCertSN || keys.AlipayRootCertSN != certs.RootCertSN {
		t.Fatalf("SNs %s %s, emulator expects %s %s", keys.AppCertSN, keys.AlipayRootCertSN, certs.AppCertSN, certs.RootCertSN)
	}
	c := emulatorClient(t, srv, func(cfg *upload.Config) { keys.Apply(cfg) })
	if _, err := c.Upload(context.Background(), request(mediagen.Sample("png", 1), "png", "cert")); err != nil {
		t.Fatal(err)
	}

	// Without the certificate parameters the emulator refuses.
	plain := emulatorClient(t, srv, nil)
	_, err = plain.Upload(context.Background(), request(mediagen.Sample("png", 1), "png", "no-cert"))
	var ae *upload.APIError
	if !errors.As(err, &ae) || ae.SubCode != alipaytest.SubAppCertNotExist {
		t.Errorf("public key mode against a certificate gateway: %v", err)
	}
}

// Each fault the emulator can inject ends in the right class.
func TestEmulatorFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind  alipaytest.FaultKind
		class upload.Class
		is    error
	}{
		{alipaytest.Fault502, upload.Retryable, nil},
		{alipaytest.Fault503, upload.Retryable, nil},
		{alipaytest.FaultUnavailable, upload.Retryable, nil},
		{alipaytest.FaultThrottled, upload.Throttled, nil},
		{alipaytest.FaultReset, upload.Retryable, nil},
		{alipaytest.FaultSlow, upload.Retryable, context.DeadlineExceeded},
		{alipaytest.FaultBadSignature, upload.Permanent, upload.ErrBadSignature},
		{alipaytest.FaultMalformed, upload.Permanent, upload.ErrBadResponse},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			srv := alipaytest.Start(t, alipaytest.Config{SlowDelay: time.Minute})
			// Only the slow answer (held a minute) must outlast the client's
			// timeout; the others get a timeout a loaded machine cannot hit.
			timeout := time.Minute
			if tc.kind == alipaytest.FaultSlow {
				timeout = 2 * time.Second
			}
			c := emulatorClient(t, srv, func(cfg *upload.Config) { cfg.Timeout = timeout })
			if err := srv.Faults().Next(tc.kind, 1); err != nil {
				t.Fatal(err)
			}
			// A file large enough that a reset lands in the middle of it.
			data := append(mediagen.Sample("jpg", 1), make([]byte, 1<<20)...)
			_, err := c.Upload(context.Background(), request(data, "jpg", "fault"))
			if got := upload.Classify(err); err == nil || got != tc.class {
				t.Fatalf("err = %v, class %v, want %v", err, got, tc.class)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			// The fault was used up: the next upload goes through.
			if _, err := c.Upload(context.Background(), request(mediagen.Sample("jpg", 1), "jpg", "after")); err != nil {
				t.Errorf("upload after the fault: %v", err)
			}
		})
	}
}

// What the gateway itself refuses comes back as permanent APIErrors.
func TestEmulatorRejections(t *testing.T) {
	t.Parallel()
	srv := alipaytest.Start(t, alipaytest.Config{AppAuthTokens: []string{"good-token"}})
	for _, tc := range []struct {
		name   string
		mutate func(*upload.Config)
		req    upload.Request
		sub    string
	}{
		{"wrong signing key", func(cfg *upload.Config) { cfg.Signer = sign.RSA2{Key: alipaytest.TestKeys().Gateway} },
			request(mediagen.Sample("jpg", 1), "jpg", "x"), alipaytest.SubInvalidSignature},
		{"clock an hour off", func(cfg *upload.Config) { cfg.Now = func() time.Time { return time.Now().Add(time.Hour) } },
			request(mediagen.Sample("jpg", 1), "jpg", "x"), alipaytest.SubInvalidTimestamp},
		{"content is not what image_type says", nil,
			request(mediagen.Sample("png", 1), "jpg", "x"), alipaytest.SubInvalidFileExtension},
		{"unknown merchant token", nil,
			func() upload.Request {
				r := request(mediagen.Sample("jpg", 1), "jpg", "x")
				r.AppAuthToken = "bad-token"
				return r
			}(),
			alipaytest.SubInvalidAppAuthToken},
	} {
		c := emulatorClient(t, srv, tc.mutate)
		_, err := c.Upload(context.Background(), tc.req)
		var ae *upload.APIError
		if !errors.As(err, &ae) || ae.SubCode != tc.sub {
			t.Errorf("%s: err = %v, want sub_code %s", tc.name, err, tc.sub)
			continue
		}
		if upload.Classify(err) != upload.Permanent || ae.TraceID == "" {
			t.Errorf("%s: class %v, trace %q", tc.name, upload.Classify(err), ae.TraceID)
		}
	}
	// The right token passes.
	req := request(mediagen.Sample("jpg", 1), "jpg", "x")
	req.AppAuthToken = "good-token"
	if _, err := emulatorClient(t, srv, nil).Upload(context.Background(), req); err != nil {
		t.Errorf("valid token: %v", err)
	}
}
