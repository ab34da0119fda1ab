package upload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/secret"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Defaults of the [Config] fields.
const (
	DefaultTimeout               = 60 * time.Second
	defaultDialTimeout           = 10 * time.Second
	defaultResponseHeaderTimeout = 30 * time.Second
	DefaultMaxIdleConnsPerHost   = 64
)

// maxResponseBytes bounds how much of an answer is read. Real answers are
// well under a kilobyte.
const maxResponseBytes = 1 << 20

// errAbandoned closes the reading end of a body pipe once the request is
// over, which releases the goroutine writing into it.
var errAbandoned = errors.New("upload: request finished before its body was sent")

// Client uploads files to the gateway. It holds no per-upload state and is
// safe for concurrent use.
type Client struct {
	protocol     Protocol
	gateway      *url.URL
	v3           *url.URL // the v3 endpoint, without a trailing '/'
	appID        string
	signer       sign.Signer
	verifier     sign.Verifier
	appCertSN    string
	rootCertSN   string
	alipayCertSN string
	hc           *http.Client
	timeout      time.Duration
	userAgent    string
	maxSize      int64
	log          *slog.Logger
	now          func() time.Time
	boundary     func() string
	nonce        func() string
	limiter      Limiter // nil: none
}

// New validates cfg, applies its defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	c := &Client{
		appID:        cfg.AppID,
		signer:       cfg.Signer,
		verifier:     cfg.Verifier,
		appCertSN:    cfg.AppCertSN,
		rootCertSN:   cfg.AlipayRootCertSN,
		alipayCertSN: cfg.AlipayCertSN,
		hc:           cfg.HTTPClient,
		timeout:      cfg.Timeout,
		userAgent:    cfg.UserAgent,
		maxSize:      cfg.MaxFileSize,
		log:          cfg.Logger,
		now:          cfg.Now,
		boundary:     cfg.Boundary,
		nonce:        cfg.Nonce,
		limiter:      cfg.Limiter,
	}
	p, err := ParseProtocol(string(cfg.Protocol))
	if err != nil {
		return nil, fmt.Errorf("upload: config: Protocol: %w", err)
	}
	c.protocol = p
	gw := cfg.GatewayURL
	gw = cmp.Or(gw, ProductionGateway)
	u, err := url.Parse(gw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upload: config: GatewayURL %q is not an http(s) URL", redactURL(gw))
	}
	if u.Fragment != "" {
		return nil, errors.New("upload: config: GatewayURL has a fragment")
	}
	c.gateway = u
	if cfg.V3Endpoint == "" {
		c.v3 = &url.URL{Scheme: u.Scheme, Host: u.Host}
	} else {
		v, err := url.Parse(cfg.V3Endpoint)
		if err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" {
			return nil, fmt.Errorf("upload: config: V3Endpoint %q is not an http(s) URL", redactURL(cfg.V3Endpoint))
		}
		if v.RawQuery != "" || v.Fragment != "" || v.User != nil {
			return nil, errors.New("upload: config: V3Endpoint must be scheme, host and at most a path prefix")
		}
		v.Path = strings.TrimSuffix(v.Path, "/")
		v.RawPath = ""
		c.v3 = v
	}
	switch {
	case cfg.AppID == "":
		return nil, errors.New("upload: config: AppID is required")
	case cfg.Signer == nil:
		return nil, errors.New("upload: config: Signer is required")
	case cfg.Verifier == nil && cfg.AlipayPublicKey == nil:
		return nil, errors.New("upload: config: AlipayPublicKey or Verifier is required")
	case (cfg.AppCertSN == "") != (cfg.AlipayRootCertSN == ""):
		return nil, errors.New("upload: config: certificate mode needs both AppCertSN and AlipayRootCertSN")
	case cfg.MaxFileSize < 0:
		return nil, errors.New("upload: config: MaxFileSize is negative")
	case cfg.DialTimeout < 0 || cfg.ResponseHeaderTimeout < 0:
		return nil, errors.New("upload: config: negative DialTimeout or ResponseHeaderTimeout")
	case cfg.MaxIdleConnsPerHost < 0:
		return nil, errors.New("upload: config: MaxIdleConnsPerHost is negative")
	}
	if c.verifier == nil {
		c.verifier = sign.RSA2Verifier{Key: cfg.AlipayPublicKey}
	}
	c.timeout = cmp.Or(c.timeout, DefaultTimeout)
	c.userAgent = cmp.Or(c.userAgent, defaultUserAgent)
	c.maxSize = cmp.Or(c.maxSize, MaxFileSize)
	c.log = cmp.Or(c.log, slog.New(slog.DiscardHandler))
	if c.now == nil {
		c.now = time.Now
	}
	if c.nonce == nil {
		c.nonce = newUUID
	}
	if c.hc == nil {
		c.hc = newHTTPClient(
			cmp.Or(cfg.DialTimeout, defaultDialTimeout),
			cmp.Or(cfg.ResponseHeaderTimeout, defaultResponseHeaderTimeout),
			cmp.Or(cfg.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost))
	}
	return c, nil
}

// newHTTPClient is the default client: bounded dialling, TLS handshake and
// wait for headers, keep-alive, and no redirects (a redirected upload is an
// error to report, not a POST to replay).
func newHTTPClient(dial, header time.Duration, idle int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = dial
	tr.ResponseHeaderTimeout = header
	tr.MaxIdleConnsPerHost = idle
	tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CloseIdleConnections closes the idle keep-alive connections of the
// client's HTTP client, e.g. when a worker shuts down.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Upload sends one file and returns what the gateway assigned to it.
//
// The body is streamed: Content is read while the request is being sent,
// in pieces of 32 KiB, and exactly Size bytes of it go out under an exact
// Content-Length. Upload reads Content only until it returns; it never
// closes it.
//
// Errors: every error matches exactly one of [ErrRetryable],
// [ErrThrottled] and [ErrPermanent] (see [Classify]). Gateway answers come
// back as [*APIError] or [*HTTPError]; an answer that is not signed
// correctly wraps [ErrBadSignature] (when it said success,
// [UnverifiedResult] gives the image_id it claimed), one that cannot be read wraps
// [ErrBadResponse]; a request that fails validation wraps
// [ErrInvalidRequest]; a failing or wrongly sized Content wraps
// [ErrContent] and the reader's error (or [ErrSizeMismatch]), and the
// request is aborted before its body is complete. Cancelling ctx aborts the
// request too; the error then wraps ctx.Err() and is retryable. No error
// text contains the request URL's query (sign, app_auth_token).
func (c *Client) Upload(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, err := c.upload(ctx, &req)
	c.throttled(ctx, err)
	if err != nil {
		c.log.DebugContext(ctx, "upload failed", "image_name", req.ImageName, "size", req.Size,
			"class", Classify(err).String(), "trace_id", traceOf(err), "err", err)
		return Result{}, err
	}
	c.log.DebugContext(ctx, "upload done", "image_name", req.ImageName, "size", req.Size,
		"image_id", res.ImageID, "trace_id", res.TraceID, "elapsed", time.Since(start))
	return res, nil
}

func (c *Client) upload(ctx context.Context, req *Request) (Result, error) {
	if err := c.check(req); err != nil {
		return Result{}, permanent(err)
	}
	if err := c.wait(ctx); err != nil {
		return Result{}, err
	}
	now := c.now()
	var (
		target string
		header = http.Header{}
		fields []field
		err    error
	)
	if c.protocol == V3 {
		data := v3Data(req)
		fields = []field{{name: "data", value: data, contentType: "application/json"}}
		target, err = c.v3Request(header, alipayapi.V3UploadPath, data, req.AppAuthToken, now)
	} else {
		fields = textFields(req)
		target, err = c.requestURL(req, now)
	}
	if err != nil {
		return Result{}, permanent(err)
	}
	boundary := ""
	if c.boundary != nil {
		boundary = c.boundary()
	}
	plan, err := planBody(boundary, fields, fileName(req), contentType(req), req.Size)
	if err != nil {
		return Result{}, permanent(err)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}

	pr, pw := io.Pipe()
	produced := make(chan *contentError, 1)
	go func() { produced <- plan.produce(pw, req.Content) }()
	// finish releases the producer, if it is still writing, and waits for
	// it: Content must not be touched once Upload has returned.
	finish := func() *contentError {
		pr.CloseWithError(errAbandoned)
		return <-produced
	}
	header.Set("Content-Type", plan.contentType())
	a, err := c.send(ctx, target, header, pr, plan.length, finish)
	if err != nil {
		return Result{}, err
	}
	if c.protocol == V3 {
		body, err := c.readV3(a)
		if err != nil {
			return Result{}, claim(err)
		}
		return uploadResult(body, a.trace)
	}
	if a.status != http.StatusOK {
		return Result{}, a.httpError()
	}
	res, err := interpret(a.body, c.verifier, a.trace)
	return res, a.cleanErr(err)
}

// answer is what came back from the gateway.
type answer struct {
	status int
	header http.Header
	body   []byte // at most maxResponseBytes
	trace  string
	// secrets are the request's sign and app_auth_token, to remove from
	// whatever of the answer goes into an error (see clean).
	secrets []string
}

// requestSecrets returns the secrets a request carries: the values of the
// query's sensitive parameters (sign, app_auth_token; not sign_type), the
// v3 Authorization header's signature and the alipay-app-auth-token
// header.
func requestSecrets(target string, h http.Header) []string {
	var out []string
	if u, err := url.Parse(target); err == nil {
		for k, vs := range u.Query() {
			if secret.SensitiveKey(k) && k != "sign_type" {
				out = append(out, vs...)
			}
		}
	}
	if _, _, sig, err := sign.ParseV3Authorization(h.Get("Authorization")); err == nil {
		out = append(out, sig)
	}
	if t := h.Get("Alipay-App-Auth-Token"); t != "" {
		out = append(out, t)
	}
	return out
}

// clean returns text from the answer (a body, a message) with every
// encoding of the request's secrets removed, then anything the shared
// rules recognise as a secret: a gateway or proxy may echo the request's
// URL or headers, escaped in ways that hide a token from name=value rules.
func (a *answer) clean(text string) string {
	return secret.ScrubText(secret.Remove(text, a.secrets...))
}

// excerpt is the start of the answer's body for an error, cleaned whole
// before it is cut, so that no prefix of a secret survives the cut.
func (a *answer) excerpt() string {
	return excerpt([]byte(a.clean(string(a.body))))
}

// httpError is the [*HTTPError] for an unexpected status of the answer.
func (a *answer) httpError() *HTTPError {
	return &HTTPError{StatusCode: a.status, TraceID: a.trace, Body: a.excerpt()}
}

// cleanErr removes the request's secrets from the text fields of an
// [*APIError] in err (a gateway's message may quote the request too).
func (a *answer) cleanErr(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Msg, ae.SubMsg = a.clean(ae.Msg), a.clean(ae.SubMsg)
	}
	return err
}

// send posts body (of the given length) to target with header and reads
// the answer. finish, when not nil, is called once the request is over and
// reports a failure of the body's content, which then takes precedence over
// the transport's view of it. Errors are classified failures; an answer
// longer than maxResponseBytes is one.
func (c *Client) send(ctx context.Context, target string, header http.Header, body io.Reader, length int64, finish func() *contentError) (*answer, error) {
	if finish == nil {
		finish = func() *contentError { return nil }
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		finish()
		return nil, permanent(redact(err))
	}
	hreq.ContentLength = length
	for k, v := range header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set("Accept", "application/json")

	resp, err := c.hc.Do(hreq)
	if err != nil {
		if cerr := finish(); cerr != nil {
			return nil, &failure{class: cerr.class(), err: cerr}
		}
		return nil, transportFailure(err)
	}
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	resp.Body.Close()
	if cerr := finish(); cerr != nil {
		return nil, &failure{class: cerr.class(), err: cerr}
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: raw, trace: resp.Header.Get("trace_id"),
		secrets: requestSecrets(target, hreq.Header)}
	if c.protocol == V3 {
		a.trace = resp.Header.Get("alipay-trace-id")
	}
	if rerr != nil {
		return nil, withTrace(transportFailure(fmt.Errorf("upload: reading answer: %w", rerr)), a.trace)
	}
	if len(raw) > maxResponseBytes {
		if !c.success(a.status) {
			return nil, a.httpError()
		}
		return nil, withTrace(permanent(fmt.Errorf("%w: answer longer than %d bytes", ErrBadResponse, maxResponseBytes)), a.trace)
	}
	return a, nil
}

// success reports whether an HTTP status is a successful answer: 200 on
// the classic gateway (whose errors are HTTP 200 too), any 2xx on v3.
func (c *Client) success(status int) bool {
	if c.protocol == V3 {
		return status >= 200 && status < 300
	}
	return status == http.StatusOK
}

// check validates a request before anything is sent.
func (c *Client) check(r *Request) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, a...)...)
	}
	switch {
	case r.Content == nil:
		return bad("Content is nil")
	case r.Size <= 0:
		return bad("Size %d is not positive", r.Size)
	case r.Size > c.maxSize:
		return bad("Size %d exceeds the limit of %d bytes", r.Size, c.maxSize)
	}
	for _, f := range []struct {
		name, value string
		max         int
		required    bool
	}{
		{"image_type", r.ImageType, MaxImageTypeLen, true},
		{"image_name", r.ImageName, maxImageNameLen, true},
		{"image_pid", r.ImagePID, MaxImagePIDLen, false},
	} {
		switch n := utf8.RuneCountInString(f.value); {
		case f.required && n == 0:
			return bad("%s is required", f.name)
		case n > f.max:
			return bad("%s has %d characters, at most %d allowed", f.name, n, f.max)
		case !utf8.ValidString(f.value):
			return bad("%s is not valid UTF-8", f.name)
		}
	}
	if !utf8.ValidString(r.AppAuthToken) {
		return bad("app_auth_token is not valid UTF-8")
	}
	if strings.ContainsFunc(r.ContentType, unicode.IsControl) {
		return bad("ContentType holds control characters")
	}
	return nil
}

// requestURL returns the classic upload's URL: the body's text fields are
// signed with the system parameters.
func (c *Client) requestURL(r *Request, now time.Time) (string, error) {
	signed := map[string]string{}
	for _, f := range textFields(r) {
		signed[f.name] = f.value
	}
	return c.classicURL(alipayapi.Method, signed, r.AppAuthToken, now)
}

// classicURL returns the gateway URL for method with the signed system
// parameters in its query. signed are the parameters that travel elsewhere
// (the body's text fields, biz_content) but are signed too.
func (c *Client) classicURL(method string, signed map[string]string, appAuthToken string, now time.Time) (string, error) {
	params := map[string]string{
		"app_id":              c.appID,
		"method":              method,
		"format":              "JSON",
		"charset":             "utf-8",
		"sign_type":           "RSA2",
		"timestamp":           now.In(alipayapi.Beijing).Format(alipayapi.TimestampLayout),
		"version":             "1.0",
		"app_auth_token":      appAuthToken,
		"app_cert_sn":         c.appCertSN,
		"alipay_root_cert_sn": c.rootCertSN,
	}
	// Only system parameters travel in the query; the others are signed
	// too but sent in the body.
	q := make(url.Values, len(params)+1)
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range signed {
		params[k] = v
	}
	sig, err := c.signer.Sign([]byte(sign.Content(params)))
	if err != nil {
		return "", fmt.Errorf("upload: signing: %w", err)
	}
	q.Set("sign", sig)
	u := *c.gateway
	if u.RawQuery != "" {
		u.RawQuery += "&" + q.Encode()
	} else {
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// textFields are the body's text parts, in the order they are sent.
func textFields(r *Request) []field {
	fs := []field{{name: "image_type", value: r.ImageType}, {name: "image_name", value: r.ImageName}}
	if r.ImagePID != "" {
		fs = append(fs, field{name: "image_pid", value: r.ImagePID})
	}
	return fs
}

// fileName is the file part's filename: Request.FileName, or ImageName with
// ImageType as extension when it has none. Control characters become '_'.
func fileName(r *Request) string {
	name := r.FileName
	if name == "" {
		name = r.ImageName
		if path.Ext(name) == "" {
			name += "." + strings.ToLower(r.ImageType)
		}
	}
	return strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return '_'
		}
		return c
	}, name)
}

// contentType is Request.ContentType or the one ImageType implies.
func contentType(r *Request) string {
	if r.ContentType != "" {
		return r.ContentType
	}
	return validate.ContentType(r.ImageType)
}

// excerpt is the start of a non-200 body: at most 256 bytes of valid
// UTF-8. Remove secrets before (answer.excerpt does).
func excerpt(body []byte) string {
	const max = 256
	if len(body) > max {
		// Cut before a character that straddles the limit, not inside it.
		cut := max
		for cut > max-(utf8.UTFMax-1) && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	// Invalid bytes become three-byte replacement characters, so the text
	// may have grown past the limit; s is valid now, so a rune start is at
	// most three bytes back.
	if len(s) > max {
		cut := max
		for !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}
