package upload

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// This file holds a tiny gateway for the tests of this package: it reads
// the multipart body as a stream, records what arrived and how, checks the
// request signature with the app's public key, and answers with whatever
// the test asks for (a signed success by default).

var (
	keysOnce                    sync.Once
	appKey, alipayKey, otherKey *rsa.PrivateKey
	errKeysLoad                 error
)

var (
	testNow        = time.Date(2024, 5, 1, 4, 0, 0, 0, time.UTC) // 12:00:00 in Beijing
	testBoundary   = "testboundary0123456789"
	testTrace      = "0b1a2c3d17145600000001234e5f6a"
	testAppID      = "2021000000000001"
	testContent    = bytes.Repeat([]byte("alipay media worker test bytes\n"), 4000) // 124,000 bytes
	testContentSum = sha256.Sum256(testContent)
)

func keys(t testing.TB) (app, alipay, other *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		load := func(name string) *rsa.PrivateKey {
			k, err := sign.LoadPrivateKeyFile("testdata/" + name)
			if err != nil {
				errKeysLoad = err
			}
			return k
		}
		appKey = load("app_private_key.pem")
		alipayKey = load("alipay_private_key.pem")
		otherKey = load("other_private_key.pem")
	})
	if errKeysLoad != nil {
		t.Fatal(errKeysLoad)
	}
	return appKey, alipayKey, otherKey
}

// received is what the test gateway saw of one request.
type received struct {
	V3               bool // a v3 request (path /v3/...)
	Header           http.Header
	RequestURI       string
	Query            url.Values
	Fields           map[string]string
	PartTypes        map[string]string // Content-Type of each text part that has one
	Body             string            // the body of a request that is not multipart
	FileName         string
	FileType         string
	Size             int64
	Sum              [32]byte
	ContentLength    int64
	BodyBytes        int64 // bytes actually read from the body
	TransferEncoding []string
	UserAgent        string
	SignContent      string
	SignErr          error // nil when the request signature verified
	Complete         bool  // the multipart body ended properly
}

type gateway struct {
	t      testing.TB
	srv    *httptest.Server
	appPub *rsa.PublicKey
	key    *rsa.PrivateKey // signs answers

	mu      sync.Mutex
	reqs    []*received
	answer  func(w http.ResponseWriter, r *received)
	arrived chan *received // every request, complete or not, once handled
}

func newGateway(t testing.TB) *gateway {
	t.Helper()
	app, alipay, _ := keys(t)
	g := &gateway{t: t, appPub: &app.PublicKey, key: alipay, arrived: make(chan *received, 64)}
	g.answer = func(w http.ResponseWriter, r *received) {
		if r.V3 {
			var data struct {
				ImageName string `json:"image_name"`
			}
			json.Unmarshal([]byte(r.Fields["data"]), &data)
			g.writeV3(w, http.StatusOK, `{"image_id":"img-`+data.ImageName+`","image_url":"http://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=abc&zoom=original"}`, true)
			return
		}
		g.writeNode(w, alipayapi.ResponseNode, `{"code":"10000","msg":"Success","image_id":"img-`+r.Fields["image_name"]+`","image_url":"http:\/\/oalipay-dl-django.alicdn.com\/rest\/1.0\/image?fileIds=abc&zoom=original"}`, true)
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// setAnswer replaces the answer function.
func (g *gateway) setAnswer(f func(w http.ResponseWriter, r *received)) {
	g.mu.Lock()
	g.answer = f
	g.mu.Unlock()
}

// received returns the requests that came in so far.
func (g *gateway) received() []*received {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*received(nil), g.reqs...)
}

// countingBody counts what the handler reads of the request body.
type countingBody struct {
	r io.Reader
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	rec := &received{
		V3:               strings.HasPrefix(r.URL.Path, "/v3/"),
		Header:           r.Header.Clone(),
		RequestURI:       r.RequestURI,
		Query:            r.URL.Query(),
		Fields:           map[string]string{},
		PartTypes:        map[string]string{},
		ContentLength:    r.ContentLength,
		TransferEncoding: r.TransferEncoding,
		UserAgent:        r.UserAgent(),
	}
	defer func() { g.arrived <- rec }()
	cb := &countingBody{r: r.Body}
	r.Body = io.NopCloser(cb)
	rec.Complete = g.readBody(r, rec) == nil
	rec.BodyBytes = cb.n
	if !rec.Complete {
		// An aborted request: there is nobody to answer.
		http.Error(w, "incomplete body", http.StatusBadRequest)
		return
	}
	if rec.V3 {
		body := rec.Body
		if d, ok := rec.Fields["data"]; ok {
			body = d
		}
		auth, _, sig, err := sign.ParseV3Authorization(r.Header.Get("Authorization"))
		rec.SignErr = err
		if err == nil {
			rec.SignContent = sign.V3Content(auth, r.Method, r.RequestURI, body, r.Header.Get("Alipay-App-Auth-Token"))
			rec.SignErr = sign.RSA2Verifier{Key: g.appPub}.Verify([]byte(rec.SignContent), sig)
		}
	} else {
		params := map[string]string{}
		for k, v := range rec.Query {
			params[k] = v[0]
		}
		for k, v := range rec.Fields {
			params[k] = v
		}
		rec.SignContent = sign.Content(params)
		rec.SignErr = sign.RSA2Verifier{Key: g.appPub}.Verify([]byte(rec.SignContent), rec.Query.Get("sign"))
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, rec)
	answer := g.answer
	g.mu.Unlock()
	if rec.V3 {
		w.Header().Set("alipay-trace-id", testTrace)
	} else {
		w.Header().Set("trace_id", testTrace)
	}
	answer(w, rec)
}

// readBody parses the multipart stream part by part, hashing the file
// without keeping it. A form body's fields go to Fields too; any other body
// is kept whole in Body.
func (g *gateway) readBody(r *http.Request, rec *received) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		rec.Body = string(b)
		if mt == "application/x-www-form-urlencoded" {
			form, err := url.ParseQuery(rec.Body)
			if err != nil {
				return err
			}
			for k, v := range form {
				rec.Fields[k] = v[0]
			}
		}
		return nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return err
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if p.FormName() == "image_content" {
			rec.FileName = p.FileName()
			rec.FileType = p.Header.Get("Content-Type")
			h := sha256.New()
			n, err := io.Copy(h, p)
			if err != nil {
				return err
			}
			rec.Size = n
			copy(rec.Sum[:], h.Sum(nil))
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		rec.Fields[p.FormName()] = string(v)
		if ct := p.Header.Get("Content-Type"); ct != "" {
			rec.PartTypes[p.FormName()] = ct
		}
	}
	// Whatever follows the closing boundary must arrive too.
	_, err = io.Copy(io.Discard, r.Body)
	return err
}

// signWith signs raw with key and returns the Base64 signature.
func signWith(t testing.TB, key *rsa.PrivateKey, raw string) string {
	t.Helper()
	s, err := sign.RSA2{Key: key}.Sign([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeNode answers {"<node>":<raw>,"sign":"..."}, signing raw exactly as
// written when signed is true.
func (g *gateway) writeNode(w http.ResponseWriter, node, raw string, signed bool) {
	body := `{"` + node + `":` + raw
	if signed {
		body += `,"sign":"` + signWith(g.t, g.key, raw) + `"`
	}
	body += "}"
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	io.WriteString(w, body)
}

// writeV3 answers a v3 request with status and body, signed with the
// gateway key in the alipay-* headers when signed is true.
func (g *gateway) writeV3(w http.ResponseWriter, status int, body string, signed bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	if signed {
		const ts, nonce = "1714536000456", "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09"
		h.Set("alipay-timestamp", ts)
		h.Set("alipay-nonce", nonce)
		h.Set("alipay-signature", signWith(g.t, g.key, string(sign.V3ResponseContent(ts, nonce, []byte(body)))))
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// testConfig is a Config aimed at g, deterministic in time and boundary.
func testConfig(t testing.TB, g *gateway) Config {
	t.Helper()
	app, alipay, _ := keys(t)
	return Config{
		GatewayURL:      g.srv.URL + "/gateway.do",
		AppID:           testAppID,
		Signer:          sign.RSA2{Key: app},
		AlipayPublicKey: &alipay.PublicKey,
		Logger:          alipaytest.TestLogger(t),
		Now:             func() time.Time { return testNow },
		Boundary:        func() string { return testBoundary },
	}
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testRequest uploads testContent as name.jpg.
func testRequest(name string) Request {
	return Request{
		Content:   bytes.NewReader(testContent),
		Size:      int64(len(testContent)),
		ImageType: "jpg",
		ImageName: name,
	}
}

// assertClass checks that err matches exactly one class sentinel, want's,
// and that Classify agrees.
func assertClass(t testing.TB, err error, want Class) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %v error", want)
	}
	matches := 0
	for _, s := range []error{ErrRetryable, ErrThrottled, ErrPermanent} {
		if errors.Is(err, s) {
			matches++
		}
	}
	if matches != 1 {
		t.Errorf("%v matches %d class sentinels, want exactly 1", err, matches)
	}
	if got := Classify(err); got != want {
		t.Errorf("Classify(%v) = %v, want %v", err, got, want)
	}
}

// waitArrived returns the next request the gateway finished handling.
func (g *gateway) waitArrived(t testing.TB) *received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case r := <-g.arrived:
		return r
	case <-ctx.Done():
		t.Fatal("the gateway saw no request")
		return nil
	}
}
