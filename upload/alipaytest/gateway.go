package alipaytest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/validate"
)

// GatewayPath is the path of the gateway endpoint, as on openapi.alipay.com.
const GatewayPath = "/gateway.do"

// The protocols, as recorded in [Upload].API.
const (
	APIClassic = "classic"
	APIV3      = "v3"
)

// Upload records one upload the gateway accepted.
type Upload struct {
	ImageID  string `json:"image_id"`
	ImageURL string `json:"image_url"`
	// API is the protocol the upload came by: [APIClassic] or [APIV3].
	API   string `json:"api"`
	AppID string `json:"app_id"`
	// AppAuthToken is the app_auth_token sent, if any. It is kept so tests
	// can assert it; the emulator never logs it.
	AppAuthToken string `json:"app_auth_token,omitempty"`
	// AuthAppID is the merchant whose token it was, when the emulator
	// issued it; TokenState says in which state it was when the upload was
	// accepted: [TokenCurrent], [TokenReplaced] (a refresh replaced it,
	// within AuthConfig.OldTokenGrace) or [TokenListed] (not issued by the
	// emulator, accepted by Config.AppAuthTokens).
	AuthAppID  string `json:"auth_app_id,omitempty"`
	TokenState string `json:"token_state,omitempty"`
	ImageType  string `json:"image_type"`
	ImageName  string `json:"image_name"`
	ImagePID   string `json:"image_pid,omitempty"`
	// FileName and ContentType are those of the image_content part.
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	// DetectedType is the format found in the file's first bytes.
	DetectedType string `json:"detected_type"`
	Size         int64  `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the file.
	SHA256  string    `json:"sha256"`
	TraceID string    `json:"trace_id"`
	Time    time.Time `json:"time"`
	// Fault is the fault applied to the answer (slow, badsign or
	// malformed), if any: the upload happened, the client may not know.
	Fault FaultKind `json:"fault,omitempty"`
}

// Stats counts what the gateway saw since it started or was reset.
type Stats struct {
	// Requests counts gateway requests (not admin or sink requests).
	Requests int64 `json:"requests"`
	// Successes counts correct 10000 answers.
	Successes int64 `json:"successes"`
	// Rejections counts error answers by sub_code.
	Rejections map[string]int64 `json:"rejections"`
	// Faults counts applied faults by kind.
	Faults map[FaultKind]int64 `json:"faults"`
	// Aborted counts requests whose client went away before the answer.
	Aborted int64 `json:"aborted"`
	// BytesReceived counts file bytes of gateway requests.
	BytesReceived int64 `json:"bytes_received"`
	// RecordsDropped counts upload records dropped, oldest first, to keep
	// at most Config.MaxRecords.
	RecordsDropped int64 `json:"records_dropped"`
	// SinkRequests and SinkBytes count POST /_emulator/sink.
	SinkRequests int64 `json:"sink_requests"`
	SinkBytes    int64 `json:"sink_bytes"`
}

func (s Stats) clone() Stats {
	c := s
	c.Rejections = make(map[string]int64, len(s.Rejections))
	for k, v := range s.Rejections {
		c.Rejections[k] = v
	}
	c.Faults = make(map[FaultKind]int64, len(s.Faults))
	for k, v := range s.Faults {
		c.Faults[k] = v
	}
	return c
}

// Gateway emulates Alipay's classic gateway and OpenAPI v3 for
// alipay.offline.material.image.upload. It is an http.Handler serving
// [GatewayPath], POST /v3/alipay/offline/material/image/upload and the admin API under /_emulator/;
// see the package documentation. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	signer   sign.RSA2 // its Key is the gateway key
	verifier sign.RSA2Verifier
	faults   *Faults
	allowed  map[string]bool
	legacy   map[string]bool
	tokens   map[string]bool
	auth     *authState
	mux      *http.ServeMux
	inflight inflight

	randMu sync.Mutex // guards cfg.Rand

	mu       sync.Mutex
	uploads  []Upload
	calls    []Call            // the newest Config.MaxRecords
	contents map[string][]byte // by image_id, with Config.KeepContent
	stats    Stats
}

// New validates cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g := &Gateway{
		cfg:      cfg,
		signer:   sign.RSA2{Key: cfg.GatewayKey},
		verifier: sign.RSA2Verifier{Key: cfg.AppPublicKey},
		allowed:  map[string]bool{},
		legacy:   map[string]bool{},
		tokens:   map[string]bool{},
		auth:     newAuthState(cfg.Auth),
	}
	if g.signer.Key == nil {
		k, err := rsa.GenerateKey(cfg.Rand, KeyBits)
		if err != nil {
			return nil, fmt.Errorf("alipaytest: generate gateway key: %w", err)
		}
		g.signer.Key = k
	}
	for _, t := range cfg.AllowedTypes {
		g.allowed[validate.CanonicalType(t)] = true
	}
	for _, s := range cfg.LegacyErrors {
		g.legacy[s] = true
	}
	for _, t := range cfg.AppAuthTokens {
		g.tokens[t] = true
	}
	seed := uint64(cfg.Seed)
	if seed == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("alipaytest: seed: %w", err)
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}
	g.faults = newFaults(seed, cfg.SlowDelay)
	g.resetStats()
	g.mux = http.NewServeMux()
	g.mux.HandleFunc(GatewayPath, func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, APIClassic) })
	g.mux.HandleFunc("POST "+alipayapi.V3UploadPath, func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, APIV3) })
	g.mux.HandleFunc("POST "+alipayapi.AuthTokenPath, func(w http.ResponseWriter, r *http.Request) {
		g.serveAuth(w, r, APIV3, alipayapi.AuthTokenMethod)
	})
	g.mux.HandleFunc("GET "+alipayapi.AuthQueryPath, func(w http.ResponseWriter, r *http.Request) {
		g.serveAuth(w, r, APIV3, alipayapi.AuthQueryMethod)
	})
	g.routeAdmin(g.mux)
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.inflight.add(1)
	defer g.inflight.add(-1)
	w, r = g.far(w, r)
	g.mux.ServeHTTP(w, r)
}

// inflight counts running handlers. Unlike a sync.WaitGroup, it may be
// incremented from zero while another goroutine waits (a request arriving
// as the server closes), which Wait then simply includes.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle *sync.Cond
}

func (c *inflight) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	if c.n == 0 && c.idle != nil {
		c.idle.Broadcast()
	}
}

func (c *inflight) wait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle == nil {
		c.idle = sync.NewCond(&c.mu)
	}
	for c.n > 0 {
		c.idle.Wait()
	}
}

// Wait blocks until no request is being handled. Servers that do not wait
// for their handlers on close (http.Server.Close does not) can call it.
func (g *Gateway) Wait() { g.inflight.wait() }

// PublicKey is the gateway's public key, which clients verify responses
// with ("Alipay's public key").
func (g *Gateway) PublicKey() *rsa.PublicKey { return &g.signer.Key.PublicKey }

// Faults returns the gateway's fault settings.
func (g *Gateway) Faults() *Faults { return g.faults }

// Uploads returns a copy of the recorded uploads, oldest first: the newest
// Config.MaxRecords of them.
func (g *Gateway) Uploads() []Upload {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Upload, len(g.uploads))
	copy(out, g.uploads)
	return out
}

// Content returns the bytes of the file uploaded as imageID, when
// Config.KeepContent is set and its record is still kept.
func (g *Gateway) Content(imageID string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.contents[imageID]
	return b, ok
}

// Stats returns a copy of the counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats.clone()
}

// Call is one request to a gateway method as the emulator saw it arrive,
// whatever its answer: what a rate limit counts.
type Call struct {
	// Time is when the request arrived (its headers were read).
	Time time.Time `json:"time"`
	// API is the protocol: [APIClassic] or [APIV3].
	API string `json:"api"`
	// Method is the classic method name, also for a v3 call, e.g.
	// "alipay.offline.material.image.upload".
	Method string `json:"method"`
	// Fault is the fault the request got, if any.
	Fault FaultKind `json:"fault,omitempty"`
}

// Calls returns a copy of the calls the gateway received, oldest first:
// the newest Config.MaxRecords of them, uploads, token calls, refused and
// faulted ones alike, so that a test can count calls per second.
func (g *Gateway) Calls() []Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Call(nil), g.calls...)
}

// arrived counts a request to a gateway method that arrived at start and
// got the fault kind ("" for none), and records it as a [Call].
func (g *Gateway) arrived(start time.Time, api, method string, kind FaultKind) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.Requests++
	if kind != "" {
		g.stats.Faults[kind]++
	}
	if len(g.calls) >= g.cfg.MaxRecords {
		g.calls = append(g.calls[:0], g.calls[len(g.calls)-g.cfg.MaxRecords+1:]...)
	}
	g.calls = append(g.calls, Call{Time: start, API: api, Method: method, Fault: kind})
}

// Reset forgets the recorded uploads, zeroes the counters and clears the
// faults.
func (g *Gateway) Reset() {
	g.resetStats()
	g.faults.Clear()
}

func (g *Gateway) resetStats() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.uploads, g.contents, g.calls = nil, nil, nil
	g.stats = Stats{Rejections: map[string]int64{}, Faults: map[FaultKind]int64{}}
}

// serve handles one call of the method over api (APIClassic or APIV3):
// the same faults, the same checks of the fields and the file, the same
// records; only the system parameters and the answers' format differ.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, api string) {
	if api == APIClassic {
		switch m := r.URL.Query().Get("method"); m {
		case alipayapi.AuthTokenMethod, alipayapi.AuthQueryMethod:
			g.serveAuth(w, r, api, m)
			return
		}
	}
	c := g.begin(w, r, api, alipayapi.Method)
	start, traceID, kind, delay, log := c.start, c.traceID, c.kind, c.delay, c.log
	body := &bodyReader{r: r.Body, limit: 2*g.cfg.MaxFileSize + 1<<20}

	if g.transportFault(w, r, body, kind, log, "gateway request", start) {
		return
	}
	if rj := faultRejection(kind); rj != nil {
		body.drain()
		if api == APIV3 {
			g.answerV3(w, v3Status(rj), v3ErrorBody(rj), "")
		} else {
			g.answer(w, errorNode(rj), false, "")
		}
		log.Info("gateway request", slog.String("code", rj.code), slog.String("sub_code", rj.subCode), slog.Duration("took", time.Since(start)))
		return
	}

	in, err := g.read(r, body, api)
	g.mu.Lock()
	g.stats.BytesReceived += in.size
	g.mu.Unlock()
	var rj *rejection
	switch {
	case errors.Is(err, errBodyTooLarge):
		w.Header().Set("Connection", "close")
		rj = reject(CodeInvalidParam, SubInvalidFileSize, fmt.Sprintf("文件大小无效 (request body beyond %d bytes)", body.limit))
	case err != nil:
		g.aborted()
		log.Info("gateway request", slog.String("result", "client went away"), slog.String("error", err.Error()))
		return
	case api == APIV3:
		rj = g.checkV3(in, r)
	default:
		rj = g.check(in)
	}
	attrs := []slog.Attr{
		slog.String("app_id", in.params["app_id"]),
		slog.Bool("app_auth_token", in.params["app_auth_token"] != ""),
		slog.String("image_type", in.params["image_type"]),
		slog.Int64("size", in.size),
	}

	if kind == FaultSlow && !sleep(r.Context(), delay) {
		g.aborted()
		log.LogAttrs(r.Context(), slog.LevelInfo, "gateway request", append(attrs, slog.String("result", "client gave up during slow answer"))...)
		return
	}

	if rj != nil {
		g.mu.Lock()
		g.stats.Rejections[rj.subCode]++
		g.mu.Unlock()
		legacy := g.reply(w, api, rj, nil, kind)
		log.LogAttrs(r.Context(), slog.LevelInfo, "gateway request", append(attrs,
			slog.String("code", rj.code), slog.String("sub_code", rj.subCode), slog.String("sub_msg", rj.subMsg),
			slog.Bool("legacy", legacy), slog.Duration("took", time.Since(start)))...)
		return
	}

	u := g.record(in, traceID, kind, api)
	g.reply(w, api, nil, &u, kind)
	log.LogAttrs(r.Context(), slog.LevelInfo, "gateway request", append(attrs,
		slog.String("code", CodeSuccess), slog.String("image_id", u.ImageID), slog.String("sha256", u.SHA256),
		slog.Duration("took", time.Since(start)))...)
}

// reply answers a rejection rj, or the success of u, in api's format; kind
// corrupts the answer for the badsign and malformed faults. It reports
// whether the rejection was answered unsigned (Config.LegacyErrors: the
// classic legacy error_response node, a v3 answer without signature
// headers).
func (g *Gateway) reply(w http.ResponseWriter, api string, rj *rejection, u *Upload, kind FaultKind) bool {
	switch {
	case api == APIV3 && rj != nil && g.legacy[rj.subCode]:
		g.answerV3Unsigned(w, v3Status(rj), v3ErrorBody(rj))
		return true
	case api == APIV3 && rj != nil:
		g.answerV3(w, v3Status(rj), v3ErrorBody(rj), kind)
	case api == APIV3:
		g.answerV3(w, http.StatusOK, v3SuccessBody(u.ImageID, u.ImageURL), kind)
	case rj != nil:
		legacy := g.legacy[rj.subCode]
		g.answer(w, errorNode(rj), legacy, kind)
		return legacy
	default:
		g.answer(w, successNode(u.ImageID, u.ImageURL), false, kind)
	}
	return false
}

func (g *Gateway) aborted() {
	g.mu.Lock()
	g.stats.Aborted++
	g.mu.Unlock()
}

// record stores an upload that passed check and returns it.
func (g *Gateway) record(in *incoming, traceID string, kind FaultKind, api string) Upload {
	p := in.params
	id := g.newID(imageID)
	u := Upload{
		ImageID:      id,
		ImageURL:     g.cfg.ImageURLBase + id,
		API:          api,
		AppID:        p["app_id"],
		AppAuthToken: p["app_auth_token"],
		AuthAppID:    in.tokenOwner,
		TokenState:   in.tokenState,
		ImageType:    p["image_type"],
		ImageName:    p["image_name"],
		ImagePID:     p["image_pid"],
		FileName:     in.fileName,
		ContentType:  in.fileType,
		DetectedType: in.detected,
		Size:         in.size,
		SHA256:       hex.EncodeToString(in.sum[:]),
		TraceID:      traceID,
		Time:         g.cfg.Now(),
	}
	switch kind {
	case FaultSlow, FaultBadSignature, FaultMalformed:
		u.Fault = kind
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.uploads) >= g.cfg.MaxRecords {
		// Dropping from the front reuses the array until its capacity
		// runs out; then append copies the kept records to a new one.
		n := len(g.uploads) - g.cfg.MaxRecords + 1
		for _, old := range g.uploads[:n] {
			delete(g.contents, old.ImageID)
		}
		g.uploads = g.uploads[n:]
		g.stats.RecordsDropped += int64(n)
	}
	g.uploads = append(g.uploads, u)
	if in.content != nil {
		if g.contents == nil {
			g.contents = map[string][]byte{}
		}
		g.contents[id] = in.content
	}
	if kind != FaultBadSignature && kind != FaultMalformed {
		g.stats.Successes++
	}
	return u
}

type idKind int

const (
	hexID   idKind = iota // trace ids: 32 hex digits
	imageID               // image ids: 32 letters and digits
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a fresh trace or image id from cfg.Rand.
func (g *Gateway) newID(k idKind) string {
	var b [32]byte
	n := 32
	if k == hexID {
		n = 16
	}
	g.randMu.Lock()
	_, err := io.ReadFull(g.cfg.Rand, b[:n])
	g.randMu.Unlock()
	if err != nil {
		// Only an injected Rand can fail; fall back to crypto/rand.
		_, _ = rand.Read(b[:n])
	}
	if k == hexID {
		return hex.EncodeToString(b[:n])
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// echoRequest writes the page of [FaultEcho502]: the request's URL and
// secret-bearing headers in the encodings proxies use in error pages.
func echoRequest(w io.Writer, r *http.Request) {
	decoded, err := url.QueryUnescape(r.URL.RequestURI())
	if err != nil {
		decoded = r.URL.RequestURI()
	}
	asJSON, _ := json.Marshal(map[string]string{"url": decoded})
	fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1><p>upstream failed for %s %s (app auth token: %s; authorization: %s)</p>\n",
		r.Method, html.EscapeString(decoded), html.EscapeString(r.Header.Get("Alipay-App-Auth-Token")), html.EscapeString(r.Header.Get("Authorization")))
	fmt.Fprintf(w, "<p>request: %s</p>\n", html.EscapeString(r.URL.RequestURI()))
	fmt.Fprintf(w, "<pre>%s</pre></body></html>\n", asJSON)
}

// call is what the handling of one call starts from (see begin).
type call struct {
	start   time.Time
	traceID string
	kind    FaultKind
	delay   time.Duration
	log     *slog.Logger
}

// begin starts the handling of one call (method, over api): it sets the
// trace ID header, picks the call's fault, records its arrival and makes
// the call's logger, with attrs.
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request, api, method string, attrs ...any) call {
	start := time.Now()
	traceID := g.newID(hexID)
	if api == APIV3 {
		w.Header().Set("alipay-trace-id", traceID)
	} else {
		w.Header()["trace_id"] = []string{traceID}
	}
	kind, delay := g.faults.pick()
	g.arrived(start, api, method, kind)
	log := g.cfg.Logger.With(append([]any{slog.String("trace_id", traceID), slog.String("remote", r.RemoteAddr),
		slog.String("api", api)}, attrs...)...)
	if kind != "" {
		log = log.With(slog.String("fault", string(kind)))
	}
	return call{start: start, traceID: traceID, kind: kind, delay: delay, log: log}
}

// transportFault answers the faults that come before the gateway reads
// a request (an HTML 502 or 503, a 502 echoing the request, a reset
// connection) and reports whether kind was one of them.
func (g *Gateway) transportFault(w http.ResponseWriter, r *http.Request, body *bodyReader, kind FaultKind, log *slog.Logger, what string, start time.Time) bool {
	switch kind {
	case Fault502, Fault503, FaultEcho502:
		body.drain()
		status := http.StatusBadGateway
		if kind == Fault503 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(status)
		if kind == FaultEcho502 {
			echoRequest(w, r)
		} else {
			fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", status, http.StatusText(status))
		}
		log.Info(what, slog.Int("status", status), slog.Duration("took", time.Since(start)))
		return true
	case FaultReset:
		g.resetConnection(w, r, body)
		log.Info(what, slog.String("result", "connection reset"), slog.Int64("body_read", body.n))
		return true
	}
	return false
}

// faultRejection is the business refusal a fault answers in the gateway's
// own format (busy, throttled), nil for other kinds.
func faultRejection(kind FaultKind) *rejection {
	switch kind {
	case FaultUnavailable:
		return reject(CodeUnavailable, SubUnknownError, "系统繁忙")
	case FaultThrottled:
		return reject(CodeCallLimited, SubAppCallLimited, "应用调用频率超限")
	}
	return nil
}
