package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
)

func TestUploadSucceeds(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	c := newClient(t, testConfig(t, g))

	res, err := c.Upload(context.Background(), testRequest("shop-front"))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		ImageID:  "img-shop-front",
		ImageURL: "http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=abc&zoom=original",
		TraceID:  testTrace,
	}
	if res != want {
		t.Errorf("Upload = %+v, want %+v", res, want)
	}
	reqs := g.received()
	if len(reqs) != 1 {
		t.Fatalf("gateway saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.SignErr != nil {
		t.Errorf("request signature: %v (signed %q)", r.SignErr, r.SignContent)
	}
	if r.TransferEncoding != nil {
		t.Errorf("Transfer-Encoding = %v, want none", r.TransferEncoding)
	}
	if r.ContentLength <= 0 || r.ContentLength != r.BodyBytes {
		t.Errorf("Content-Length %d, body bytes %d", r.ContentLength, r.BodyBytes)
	}
	if r.Size != int64(len(testContent)) || r.Sum != testContentSum {
		t.Errorf("file arrived with %d bytes, sum match %v", r.Size, r.Sum == testContentSum)
	}
	if r.FileName != "shop-front.jpg" || r.FileType != "image/jpeg" {
		t.Errorf("file part: filename %q, type %q", r.FileName, r.FileType)
	}
	wantFields := map[string]string{"image_type": "jpg", "image_name": "shop-front"}
	if len(r.Fields) != len(wantFields) || r.Fields["image_type"] != "jpg" || r.Fields["image_name"] != "shop-front" {
		t.Errorf("text parts = %v, want %v", r.Fields, wantFields)
	}
	wantQuery := map[string]string{
		"app_id": testAppID, "method": alipayapi.Method, "format": "JSON", "charset": "utf-8",
		"sign_type": "RSA2", "timestamp": "2024-05-01 12:00:00", "version": "1.0",
	}
	for k, v := range wantQuery {
		if got := r.Query.Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
	// Exactly the system parameters and sign: no text field, no
	// certificate or token parameter.
	if len(r.Query) != len(wantQuery)+1 || r.Query.Get("sign") == "" {
		t.Errorf("query = %v, want the system parameters and sign only", r.Query)
	}
	if r.UserAgent != defaultUserAgent {
		t.Errorf("User-Agent = %q", r.UserAgent)
	}
}

// The known answer: a fixed key (testdata/app_private_key.pem), clock and
// request give this exact sign string and signature. The signature was
// computed independently with
//
//	printf '%s' "$content" | openssl dgst -sha256 -sign testdata/app_private_key.pem | base64 -w0
func TestSignKnownAnswer(t *testing.T) {
	t.Parallel()
	const (
		wantContent = "app_auth_token=202405BBtesttoken01&app_id=2021000000000001&charset=utf-8&format=JSON" +
			"&image_name=门店照片.jpg&image_pid=2088000000000001&image_type=jpg" +
			"&method=alipay.offline.material.image.upload&sign_type=RSA2&timestamp=2024-05-01 12:00:00&version=1.0"
		wantSign = "ewov6b2VK+/+92QNzJ06gzPG88FK3d+mYvJlkHSZ+PjSBNQH/yruv8IWiz8t8IRGGGdSMpmLd+haqIrN5CgsXyaTlZyLVAyBzowfS4t/gpFIAMMUQEHDx0UEFjlMRKSpb54dOmUUmLRlWqaBo01HzHmThmQRRJD6PLw2awwwblNMUd3THRlNHJoJoaB9dCsVoeG484nng9Gzn8r3ys1lzoyFB2ue8GLIgvAtz+q0BlR41mwuH3PKBIst1EmEeW3aZiKZyZjvw0ugdnVGnk6u4/RCHQ2+t0PbBNDpmmBXd/L0FjQBcG5Ep5fDNGm2OSyKxoC2Qe+WgaAyZ0K2g5B83w=="
	)
	g := newGateway(t)
	c := newClient(t, testConfig(t, g))
	req := testRequest("门店照片.jpg")
	req.ImagePID = "2088000000000001"
	req.AppAuthToken = "202405BBtesttoken01"

	u, err := c.requestURL(&req, testNow)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.Query().Get("sign"); got != wantSign {
		t.Errorf("sign = %s\nwant   %s", got, wantSign)
	}
	// The timestamp is encoded in the query, signed raw.
	if !strings.Contains(parsed.RawQuery, "timestamp=2024-05-01+12%3A00%3A00") {
		t.Errorf("query %q does not carry the encoded timestamp", parsed.RawQuery)
	}
	// The same over the wire: the gateway rebuilds the same string.
	if _, err := c.Upload(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r := g.received()[0]
	if r.SignContent != wantContent {
		t.Errorf("gateway's sign string = %q\nwant %q", r.SignContent, wantContent)
	}
	if r.Query.Get("sign") != wantSign || r.SignErr != nil {
		t.Errorf("sent sign %q (verify: %v)", r.Query.Get("sign"), r.SignErr)
	}
	if r.Query.Get("app_auth_token") != "202405BBtesttoken01" || r.Fields["image_pid"] != "2088000000000001" {
		t.Errorf("token in query %q, pid in body %q", r.Query.Get("app_auth_token"), r.Fields["image_pid"])
	}
	if _, inQuery := r.Query["image_pid"]; inQuery {
		t.Error("image_pid sent in the query as well as the body")
	}
}

// The exact body bytes for a tiny file with a fixed boundary.
func TestBodyLayout(t *testing.T) {
	t.Parallel()
	req := Request{Content: strings.NewReader("abc"), Size: 3, ImageType: "PNG", ImageName: `a "quoted" name`, ImagePID: "2088"}
	plan, err := planBody(testBoundary, textFields(&req), fileName(&req), contentType(&req), req.Size)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan *contentError, 1)
	go func() { done <- plan.produce(pw, req.Content) }()
	got, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if cerr := <-done; cerr != nil {
		t.Fatal(cerr)
	}
	const b = "--testboundary0123456789\r\n"
	want := b + "Content-Disposition: form-data; name=\"image_type\"\r\n\r\nPNG\r\n" +
		b + "Content-Disposition: form-data; name=\"image_name\"\r\n\r\na \"quoted\" name\r\n" +
		b + "Content-Disposition: form-data; name=\"image_pid\"\r\n\r\n2088\r\n" +
		b + "Content-Disposition: form-data; name=\"image_content\"; filename=\"a \\\"quoted\\\" name.png\"\r\n" +
		"Content-Type: image/png\r\n\r\nabc\r\n--testboundary0123456789--\r\n"
	if string(got) != want {
		t.Errorf("body =\n%q\nwant\n%q", got, want)
	}
	if plan.length != int64(len(want)) {
		t.Errorf("planned length %d, body has %d bytes", plan.length, len(want))
	}
	if ct := plan.contentType(); ct != "multipart/form-data; boundary=testboundary0123456789" {
		t.Errorf("content type %q", ct)
	}
}

// Content-Length is exact for all sorts of fields, and the body is never
// chunked, with a random boundary too.
func TestContentLengthExact(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	cfg := testConfig(t, g)
	cfg.Boundary = nil // random
	c := newClient(t, cfg)
	for _, req := range []Request{
		{ImageType: "jpg", ImageName: "plain"},
		{ImageType: "png", ImageName: "门店-照片", ImagePID: "2088000000000001"},
		{ImageType: "mp4", ImageName: "clip", FileName: "we\"ird\\name\r\n.mp4", ContentType: "video/mp4"},
		{ImageType: "bmp", ImageName: strings.Repeat("长", maxImageNameLen)},
		{ImageType: "tiff", ImageName: "unknown type"},
	} {
		for _, size := range []int{1, copyBufSize - 1, copyBufSize, copyBufSize + 1, 3*copyBufSize + 7} {
			req.Content = bytes.NewReader(testContent[:size])
			req.Size = int64(size)
			if _, err := c.Upload(context.Background(), req); err != nil {
				t.Fatalf("%s, %d bytes: %v", req.ImageName, size, err)
			}
			r := g.received()[len(g.received())-1]
			if r.TransferEncoding != nil || r.ContentLength != r.BodyBytes || r.Size != int64(size) {
				t.Errorf("%s, %d bytes: TE %v, Content-Length %d, body %d, file %d", req.ImageName, size,
					r.TransferEncoding, r.ContentLength, r.BodyBytes, r.Size)
			}
			if !bytes.Equal(r.Sum[:], sha(testContent[:size])) {
				t.Errorf("%s, %d bytes: file content differs", req.ImageName, size)
			}
			if r.Fields["image_name"] != req.ImageName || r.SignErr != nil {
				t.Errorf("%s: name %q arrived, signature %v", req.ImageName, r.Fields["image_name"], r.SignErr)
			}
		}
	}
	types := map[string]string{}
	names := map[string]string{}
	for _, r := range g.received() {
		types[r.Fields["image_type"]] = r.FileType
		names[r.Fields["image_type"]] = r.FileName
	}
	wantTypes := map[string]string{"jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4", "bmp": "image/bmp", "tiff": "application/octet-stream"}
	for k, v := range wantTypes {
		if types[k] != v {
			t.Errorf("image_type %s sent as %q, want %q", k, types[k], v)
		}
	}
	if names["mp4"] != "we\"ird\\name__.mp4" {
		t.Errorf("odd filename arrived as %q", names["mp4"])
	}
	if names["png"] != "门店-照片.png" {
		t.Errorf("UTF-8 filename arrived as %q", names["png"])
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	cfg := testConfig(t, g)
	c := newClient(t, cfg)
	cfg.MaxFileSize = 10
	small := newClient(t, cfg)
	ok := func() Request { return testRequest("ok") }
	for name, tc := range map[string]struct {
		c   *Client
		req func(r *Request)
	}{
		"nil content":       {c, func(r *Request) { r.Content = nil }},
		"zero size":         {c, func(r *Request) { r.Size = 0 }},
		"negative size":     {c, func(r *Request) { r.Size = -1 }},
		"over 5 MB":         {c, func(r *Request) { r.Size = MaxFileSize + 1 }},
		"over the override": {small, func(r *Request) { r.Size = 11 }},
		"no type":           {c, func(r *Request) { r.ImageType = "" }},
		"long type":         {c, func(r *Request) { r.ImageType = "jpgjpgjpg" }},
		"no name":           {c, func(r *Request) { r.ImageName = "" }},
		"long name":         {c, func(r *Request) { r.ImageName = strings.Repeat("图", maxImageNameLen+1) }},
		"long pid":          {c, func(r *Request) { r.ImagePID = "20880000000000011" }},
		"bad UTF-8 name":    {c, func(r *Request) { r.ImageName = "a\xffb" }},
		"header injection":  {c, func(r *Request) { r.ContentType = "image/png\r\nX-Evil: 1" }},
	} {
		req := ok()
		tc.req(&req)
		_, err := tc.c.Upload(context.Background(), req)
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
		assertClass(t, err, Permanent)
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("invalid requests reached the gateway %d times", n)
	}
	// Limits are inclusive, and the override allows smaller files.
	req := ok()
	req.ImageType, req.ImageName, req.ImagePID = "jpegjpeg", strings.Repeat("图", maxImageNameLen), "2088000000000001"
	if _, err := c.Upload(context.Background(), req); err != nil {
		t.Errorf("request at the limits: %v", err)
	}
	req = ok()
	req.Content, req.Size = strings.NewReader("0123456789"), 10
	if _, err := small.Upload(context.Background(), req); err != nil {
		t.Errorf("file at the override limit: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	app, alipay, _ := keys(t)
	good := func() Config {
		return Config{AppID: "1", Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey}
	}
	c, err := New(good())
	if err != nil {
		t.Fatal(err)
	}
	if c.gateway.String() != ProductionGateway || c.timeout != DefaultTimeout || c.maxSize != MaxFileSize || c.userAgent != defaultUserAgent {
		t.Errorf("defaults: gateway %s, timeout %v, max %d, UA %q", c.gateway, c.timeout, c.maxSize, c.userAgent)
	}
	for name, mutate := range map[string]func(*Config){
		"no app id":         func(c *Config) { c.AppID = "" },
		"no signer":         func(c *Config) { c.Signer = nil },
		"no verifier":       func(c *Config) { c.AlipayPublicKey = nil },
		"ftp gateway":       func(c *Config) { c.GatewayURL = "ftp://example.com/gateway.do" },
		"relative gateway":  func(c *Config) { c.GatewayURL = "/gateway.do" },
		"unparsable":        func(c *Config) { c.GatewayURL = "http://[::1" },
		"half cert mode":    func(c *Config) { c.AppCertSN = "abc" },
		"other half":        func(c *Config) { c.AlipayRootCertSN = "abc" },
		"negative max size": func(c *Config) { c.MaxFileSize = -1 },
		"negative dial":     func(c *Config) { c.DialTimeout = -1 },
		"negative idle":     func(c *Config) { c.MaxIdleConnsPerHost = -1 },
	} {
		cfg := good()
		mutate(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
	cfg := good()
	cfg.AlipayPublicKey = nil
	cfg.Verifier = sign.RSA2Verifier{Key: &alipay.PublicKey}
	cfg.GatewayURL = SandboxGateway
	if _, err := New(cfg); err != nil {
		t.Errorf("Verifier instead of a key, sandbox gateway: %v", err)
	}
}

func TestCertificateMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, alipay, _ := keys(t)
	files := writeCertFiles(t, dir, app, alipay)
	k, err := CertKeysFromFiles(files.appKey, files.appCert, files.alipayCert, files.root)
	if err != nil {
		t.Fatal(err)
	}
	if k.AppCertSN != files.appSN || k.AlipayRootCertSN != files.rootSN || k.AlipayCertSN != files.alipaySN {
		t.Fatalf("SNs %q %q %q, want %q %q %q", k.AppCertSN, k.AlipayRootCertSN, k.AlipayCertSN, files.appSN, files.rootSN, files.alipaySN)
	}
	if !k.AlipayPublicKey.Equal(&alipay.PublicKey) {
		t.Fatal("Alipay's key was not taken from its certificate")
	}
	g := newGateway(t)
	g.setAnswer(func(w http.ResponseWriter, r *received) {
		raw := `{"code":"10000","msg":"Success","image_id":"cert-mode","image_url":"http:\/\/example.com\/x.jpg"}`
		io.WriteString(w, `{"`+alipayapi.ResponseNode+`":`+raw+`,"alipay_cert_sn":"`+files.alipaySN+`","sign":"`+signWith(t, alipay, raw)+`"}`)
	})
	cfg := testConfig(t, g)
	cfg.Signer, cfg.AlipayPublicKey = nil, nil
	k.Apply(&cfg)
	c := newClient(t, cfg)
	res, err := c.Upload(context.Background(), testRequest("cert"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ImageID != "cert-mode" || res.ImageURL != "http://example.com/x.jpg" {
		t.Errorf("result %+v", res)
	}
	r := g.received()[0]
	if r.Query.Get("app_cert_sn") != files.appSN || r.Query.Get("alipay_root_cert_sn") != files.rootSN {
		t.Errorf("query SNs %q %q", r.Query.Get("app_cert_sn"), r.Query.Get("alipay_root_cert_sn"))
	}
	if r.SignErr != nil || !strings.Contains(r.SignContent, "&app_cert_sn="+files.appSN+"&") ||
		!strings.HasPrefix(r.SignContent, "alipay_root_cert_sn="+files.rootSN+"&") {
		t.Errorf("certificate parameters not signed: %q (%v)", r.SignContent, r.SignErr)
	}

	// A certificate that does not hold the private key's public half.
	if _, err := CertKeysFromFiles(files.appKey, files.alipayCert, files.alipayCert, files.root); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched app certificate: %v", err)
	}
}

// Cancelling the context in the middle of the body aborts the request:
// the gateway never sees a complete body and the error is retryable. The
// reader stops at the cancellation until the gateway has seen the
// connection go, so the rest of the body cannot slip out first.
func TestCancelMidBody(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	c := newClient(t, testConfig(t, g))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived := make(chan *received, 1)
	unblock := make(chan struct{})
	go func() {
		r := <-g.arrived
		arrived <- r
		close(unblock)
	}()
	req := testRequest("cancelled")
	req.Content = &hookReader{r: bytes.NewReader(testContent), at: len(testContent) / 2, hook: func() error {
		cancel()
		<-unblock
		return nil
	}}
	_, err := c.Upload(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	assertClass(t, err, Retryable)
	if r := <-arrived; r.Complete {
		t.Error("the gateway received a complete body")
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("gateway answered %d uploads", n)
	}
}

// A reader that fails aborts the request; the error wraps the reader's
// error and ErrContent.
func TestReaderFails(t *testing.T) {
	t.Parallel()
	errChanged := errors.New("file changed since enqueue")
	for _, tc := range []struct {
		name    string
		content io.Reader
		want    error
		class   Class
	}{
		// Failing mid-body is the file's fault: permanent.
		{"mid-body", &hookReader{r: bytes.NewReader(testContent), at: len(testContent) / 2, hook: func() error { return errChanged }},
			errChanged, Permanent},
		// A reader that fails with its context's error is not the file's
		// fault.
		{"context error", &hookReader{r: bytes.NewReader(testContent), at: 100, hook: func() error { return context.DeadlineExceeded }},
			context.DeadlineExceeded, Retryable},
		// A reader that never makes progress is stopped instead of
		// spinning.
		{"stuck", emptyReader{}, io.ErrNoProgress, Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			c := newClient(t, testConfig(t, g))
			req := testRequest(tc.name)
			req.Content = tc.content
			_, err := c.Upload(context.Background(), req)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrContent) {
				t.Errorf("err = %v, want it to wrap %v and ErrContent", err, tc.want)
			}
			assertClass(t, err, tc.class)
			if r := g.waitArrived(t); r.Complete || r.BodyBytes >= r.ContentLength {
				t.Errorf("the gateway received %d of %d bytes, complete=%v", r.BodyBytes, r.ContentLength, r.Complete)
			}
			if n := len(g.received()); n != 0 {
				t.Errorf("gateway answered %d uploads", n)
			}
		})
	}
}

func TestSizeMismatch(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	c := newClient(t, testConfig(t, g))
	for name, size := range map[string]int64{
		"shorter than Size":           int64(len(testContent)) + 1,
		"longer than Size":            int64(len(testContent)) - 1,
		"longer by a whole buffer":    int64(len(testContent)) - copyBufSize - 5,
		"ends on a buffer boundary":   copyBufSize,
		"shorter by a lot, one chunk": 5 << 20,
	} {
		req := testRequest("mismatch")
		req.Size = size
		_, err := c.Upload(context.Background(), req)
		if !errors.Is(err, ErrSizeMismatch) || !errors.Is(err, ErrContent) {
			t.Errorf("%s: err = %v, want ErrSizeMismatch", name, err)
		}
		assertClass(t, err, Permanent)
		if r := g.waitArrived(t); r.Complete {
			t.Errorf("%s: the gateway received a complete body", name)
		}
	}
	if n := len(g.received()); n != 0 {
		t.Errorf("gateway answered %d uploads", n)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// hookReader reads from r and calls hook once at bytes have been read; a
// non-nil hook error is returned from then on.
type hookReader struct {
	r    io.Reader
	at   int
	n    int
	hook func() error
	err  error
	done bool
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	if !h.done {
		if h.n == h.at {
			h.done = true
			if h.err = h.hook(); h.err != nil {
				return 0, h.err
			}
		} else if len(p) > h.at-h.n {
			p = p[:h.at-h.n]
		}
	}
	n, err := h.r.Read(p)
	h.n += n
	return n, err
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	g.setAnswer(func(w http.ResponseWriter, r *received) { <-release })

	cfg := testConfig(t, g)
	cfg.Timeout = 200 * time.Millisecond
	c := newClient(t, cfg)
	_, err := c.Upload(context.Background(), testRequest("slow"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Timeout: err = %v, want DeadlineExceeded", err)
	}
	assertClass(t, err, Retryable)

	cfg = testConfig(t, g)
	cfg.ResponseHeaderTimeout = 200 * time.Millisecond
	c = newClient(t, cfg)
	_, err = c.Upload(context.Background(), testRequest("slow"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("ResponseHeaderTimeout: err = %v, want a net.Error timeout", err)
	}
	assertClass(t, err, Retryable)
}

// No error text carries the query: it holds sign and app_auth_token.
func TestErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	app, alipay, _ := keys(t)
	c := newClient(t, Config{
		GatewayURL: "http://" + addr + "/gateway.do", AppID: testAppID,
		Signer: sign.RSA2{Key: app}, AlipayPublicKey: &alipay.PublicKey,
	})
	req := testRequest("redact")
	req.AppAuthToken = "202405BBsecrettoken"
	_, err = c.Upload(context.Background(), req)
	assertClass(t, err, Retryable)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want a *url.Error inside", err, err)
	}
	msg := err.Error()
	for _, secret := range []string{"secrettoken", "sign=", "app_auth_token", "timestamp"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error text %q contains %q", msg, secret)
		}
	}
	if !strings.Contains(msg, addr+"/gateway.do") {
		t.Errorf("error text %q lost the gateway address", msg)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://a/gateway.do?sign=x&app_auth_token=y": "https://a/gateway.do?[redacted]",
		"https://a/gateway.do#frag":                    "https://a/gateway.do?[redacted]",
		"https://a/gateway.do":                         "https://a/gateway.do",
		"%%bad?sign=1":                                 "%%bad?[redacted]",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Many uploads at once through one Client.
func TestConcurrentUploads(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	cfg := testConfig(t, g)
	cfg.Boundary = nil
	c := newClient(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			name := "parallel-" + string(rune('a'+i))
			res, err := c.Upload(context.Background(), testRequest(name))
			if err == nil && res.ImageID != "img-"+name {
				err = errors.New("wrong image id " + res.ImageID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(g.received()); n != 16 {
		t.Errorf("gateway saw %d uploads, want 16", n)
	}
}

func TestKeysFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, alipay, _ := keys(t)
	files := writeKeyFiles(t, dir, app, alipay)
	k, err := KeysFromFiles(files.appKeyPKCS8Base64, files.alipayPubBase64)
	if err != nil {
		t.Fatal(err)
	}
	if !k.AlipayPublicKey.Equal(&alipay.PublicKey) || k.AppCertSN != "" || k.AlipayRootCertSN != "" {
		t.Error("wrong public key or certificate fields set")
	}
	// The signer is the app key: sign and check.
	s, err := k.Signer.Sign([]byte("x"))
	if err != nil || (sign.RSA2Verifier{Key: &app.PublicKey}).Verify([]byte("x"), s) != nil {
		t.Errorf("signer does not use the app key: %v", err)
	}
	if _, err := KeysFromFiles(files.appKeyPKCS8Base64, dir+"/missing.pem"); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
	// A public key where the private key belongs: the error names the
	// file but shows none of its content.
	_, err = KeysFromFiles(files.alipayPubBase64, files.alipayPubBase64)
	if !errors.Is(err, sign.ErrKeyFormat) || strings.Contains(err.Error(), "MII") {
		t.Errorf("public key as private key: %v", err)
	}
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// A context cancelled before the call: nothing is sent, nothing leaks.
func TestCancelledBeforeUpload(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	c := newClient(t, testConfig(t, g))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	read := 0
	req := testRequest("early")
	req.Content = &hookReader{r: bytes.NewReader(testContent), at: 0, hook: func() error { read++; return nil }}
	_, err := c.Upload(ctx, req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	assertClass(t, err, Retryable)
	if n := len(g.received()); n != 0 {
		t.Errorf("gateway answered %d uploads", n)
	}
	if read != 0 {
		t.Error("the content was read")
	}
	c.CloseIdleConnections()
}

// TestKeepsConnectionsForConcurrentUploads runs two rounds of 32 uploads
// that are all in flight at once. The default client keeps enough idle
// connections for the second round to reuse the first round's; a smaller
// idle pool (net/http's default is 2, this package used to keep 16) would
// make the second round dial at least 16 new connections.
func TestKeepsConnectionsForConcurrentUploads(t *testing.T) {
	t.Parallel()
	const n = 32
	g := newGateway(t)
	var (
		mu      sync.Mutex
		dialled int
		waiting int
		release = make(chan struct{})
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold every request until all n are in flight, so each round
		// needs n connections at once.
		mu.Lock()
		wait := release
		if waiting++; waiting == n {
			waiting = 0
			close(release)
			release = make(chan struct{})
		}
		mu.Unlock()
		<-wait
		g.serve(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			dialled++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := testConfig(t, g)
	cfg.GatewayURL = srv.URL + "/gateway.do"
	c := newClient(t, cfg)
	t.Cleanup(c.CloseIdleConnections)
	round := func() int {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := c.Upload(context.Background(), testRequest(fmt.Sprintf("conn-%02d", i))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return dialled
	}
	first := round()
	second := round() - first
	if first < n {
		t.Errorf("first round: %d connections for %d uploads in flight at once", first, n)
	}
	if second >= 16 {
		t.Errorf("second round dialled %d new connections; the %d of the first round were not kept", second, first)
	}
}

// HTTPError.Body is at most 256 bytes of valid UTF-8, also when the cut
// falls inside a character or the body holds invalid bytes, which become
// longer replacement characters.
func TestExcerpt(t *testing.T) {
	t.Parallel()
	a255 := strings.Repeat("a", 255)
	for name, tc := range map[string]struct {
		body, want string
	}{
		"short":                 {" <html>bad gateway</html>\n", "<html>bad gateway</html>"},
		"exactly 256":           {strings.Repeat("b", 256), strings.Repeat("b", 256)},
		"cut inside a rune":     {a255 + "é and more", a255},
		"cut inside a 3-byte":   {strings.Repeat("a", 254) + "网关错误", strings.Repeat("a", 254)},
		"cut inside a 4-byte":   {strings.Repeat("a", 253) + "😀😀", strings.Repeat("a", 253)},
		"whole runes at 256":    {strings.Repeat("a", 253) + "网关", strings.Repeat("a", 253) + "网"},
		"invalid bytes":         {strings.Repeat("\xffa", 200), strings.Repeat("\uFFFDa", 64)},
		"invalid and short":     {"a\xffb", "a\uFFFDb"},
		"space before the cut":  {a255 + " tail", a255},
		"invalid at the cut":    {a255 + "\xff\xff", a255},
		"continuation at start": {strings.Repeat("\x80", 300), "\uFFFD"},
	} {
		got := excerpt([]byte(tc.body))
		if len(got) > 256 || !utf8.ValidString(got) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(got), utf8.ValidString(got))
		}
		if got != tc.want {
			t.Errorf("%s: excerpt = %q, want %q", name, got, tc.want)
		}
	}
}
