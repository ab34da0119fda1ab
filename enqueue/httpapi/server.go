package httpapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/httpguard"
	"github.com/storemedia/alipay-media-worker/internal/httpjson"
	"github.com/storemedia/alipay-media-worker/internal/rawjson"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// OpenAPI is the OpenAPI 3 description of the API, served at
// GET /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Limits of a request.
const (
	// multipartOverhead is what a multipart request may carry besides the
	// file: boundaries, part headers and the text fields.
	multipartOverhead = 64 << 10
	// defaultMaxJSONSize bounds a JSON request body.
	defaultMaxJSONSize = 64 << 10
	// maxFieldSize bounds one multipart text field.
	maxFieldSize = 4 << 10
)

// MinTokenLen is the shortest bearer token [New] accepts, in bytes: a
// shorter one could be guessed.
const MinTokenLen = 32

// ErrConfig reports an invalid [Config].
var ErrConfig = errors.New("httpapi: invalid config")

// Config configures a [Server]. Zero values take the documented defaults.
type Config struct {
	// Client checks and queues files and reads tasks. Required.
	Client *tasks.Client
	// Token is the bearer token every /v1 request must carry: at least
	// [MinTokenLen] bytes once white space around it is trimmed. Required.
	Token string
	// SpoolDir receives files sent as multipart; it must lie inside one of
	// the client's media roots so the worker can read them, and is created
	// if missing. Spooled files are named by their SHA-256; see
	// [Server.SweepSpool] for their removal. Default: "" turns multipart
	// uploads off (415).
	//
	// An s3://bucket/prefix/ URL keeps the files in a bucket instead (see
	// Objects), under a bucket media root of the client's: API hosts and
	// worker hosts then share no disk. A file is received into this host's
	// temporary directory, hashed, stored in the bucket, read back and
	// checked there as a worker will read it, then queued; the bookkeeping
	// the sweep needs is kept in Redis, since buckets have no file locks.
	SpoolDir string
	// Objects stores, lists and deletes the objects of a bucket SpoolDir
	// (usually an *objstore.Store). Required for one.
	Objects ObjectSpool
	// MaxFileSize is the largest file accepted in a multipart request.
	// Default validate.DefaultMaxSize (5 MiB). The validator's own limit
	// applies too. A request asking for conversion ("convert": true) may
	// send a file up to the Client's ConvertMaxBytes instead.
	MaxFileSize int64
	// MaxJSONSize bounds a JSON request body. Default 64 KiB.
	MaxJSONSize int64
	// Logger receives one record per request (never tokens). Default:
	// discard.
	Logger *slog.Logger
	// Merchants, when set, serves /v1/merchants (authorize, list, show,
	// refresh, remove; usually a *merchant.Store with an upload client).
	// Default nil: those routes answer 501 merchants_not_configured,
	// saying what the server needs.
	Merchants Merchants
}

// Server is the HTTP handler of the enqueue API.
type Server struct {
	client *tasks.Client
	token  [sha256.Size]byte
	spool  string
	// spoolReal is spool with symbolic links resolved.
	spoolReal string
	maxFile   int64
	maxJSON   int64
	log       *slog.Logger
	mux       *http.ServeMux
	metrics   *apiMetrics
	// objects, spoolBucket and spoolPrefix: a bucket spool (spool is
	// then ""); rdb keeps its bookkeeping.
	objects     ObjectSpool
	spoolBucket string
	spoolPrefix string
	rdb         redis.UniversalClient
	// waits ends when Serve is asked to stop, ending long polls.
	waits    context.Context
	endWaits context.CancelFunc
	// merchants serves /v1/merchants; nil: not configured.
	merchants Merchants
}

// New checks cfg, creates the spool directory and returns the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: Client is nil", ErrConfig)
	}
	// Clients send the token without the white space a file or an
	// environment variable may add around it.
	cfg.Token = strings.TrimSpace(cfg.Token)
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is empty", ErrConfig)
	}
	if len(cfg.Token) < MinTokenLen {
		return nil, fmt.Errorf("%w: Token has %d bytes; it needs at least %d (e.g. openssl rand -hex 24)", ErrConfig, len(cfg.Token), MinTokenLen)
	}
	s := &Server{
		client:  cfg.Client,
		token:   sha256.Sum256([]byte(cfg.Token)),
		maxFile: cfg.MaxFileSize,
		maxJSON: cfg.MaxJSONSize,
		log:     cfg.Logger,

		merchants: cfg.Merchants,
	}
	if s.maxFile <= 0 {
		s.maxFile = validate.DefaultMaxSize
	}
	if s.maxJSON <= 0 {
		s.maxJSON = defaultMaxJSONSize
	}
	s.log = cmp.Or(s.log, slog.New(slog.DiscardHandler))
	s.waits, s.endWaits = context.WithCancel(context.Background())
	if mediaroot.IsObjectURL(cfg.SpoolDir) {
		bucket, prefix, err := mediaroot.ParseObjectURL(cfg.SpoolDir)
		if err != nil {
			return nil, fmt.Errorf("%w: SpoolDir: %w", ErrConfig, err)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if cfg.Objects == nil {
			return nil, fmt.Errorf("%w: SpoolDir %q is a bucket, and Objects is nil", ErrConfig, cfg.SpoolDir)
		}
		if probe := mediaroot.ObjectScheme + bucket + "/" + prefix + "x"; !cfg.Client.Roots().Contains(probe) {
			return nil, fmt.Errorf("%w: SpoolDir %q is not inside a media root (%s), so the worker could not read the files", ErrConfig, cfg.SpoolDir, strings.Join(cfg.Client.Roots().All(), ", "))
		}
		s.objects, s.spoolBucket, s.spoolPrefix, s.rdb = cfg.Objects, bucket, prefix, cfg.Client.Redis()
	} else if cfg.SpoolDir != "" {
		dir, err := filepath.Abs(cfg.SpoolDir)
		if err != nil {
			return nil, fmt.Errorf("%w: SpoolDir: %w", ErrConfig, err)
		}
		if !cfg.Client.Roots().Contains(dir) {
			return nil, fmt.Errorf("%w: SpoolDir %q is not inside a media root (%s), so the worker could not read the files", ErrConfig, dir, strings.Join(cfg.Client.Roots().Dirs(), ", "))
		}
		if err := os.MkdirAll(filepath.Join(dir, refsDir), 0o750); err != nil {
			return nil, fmt.Errorf("%w: SpoolDir: %w", ErrConfig, err)
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: SpoolDir: %w", ErrConfig, err)
		}
		s.spool, s.spoolReal = dir, real
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/v1/uploads", s.auth(s.uploads))
	s.mux.HandleFunc("/v1/uploads/{id}", s.auth(s.upload))
	s.routeMerchants()
	s.mux.HandleFunc("/openapi.yaml", s.openapi)
	s.mux.HandleFunc("/healthz", s.live)
	s.mux.HandleFunc("/readyz", s.ready)
	s.metrics = newAPIMetrics()
	s.mux.Handle("/metrics", s.auth(s.metrics.handler.ServeHTTP))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	})
	return s, nil
}

// limits bound the connections of [Server.Serve]. A request without a
// valid token is refused at once (see [Server.ServeHTTP]), so only
// clients holding the token get the body time, enough for a 5 MiB file at
// 20 KB/s.
var limits = httpguard.Limits{
	MaxConns:          512,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       5 * time.Minute,
	WriteTimeout:      6 * time.Minute,
	IdleTimeout:       time.Minute,
	MaxHeaderBytes:    64 << 10,
}

// shutdownGrace is how long requests in flight get to finish when
// [Server.Serve] stops.
const shutdownGrace = 10 * time.Second

// Serve answers requests on ln until ctx is done, then shuts down, giving
// requests in flight 10 seconds to finish; it closes ln. At most 512
// connections are open at once; headers must arrive within 10 seconds, a
// whole request within 5 minutes, and a keep-alive connection is closed
// after a minute without a request. It returns nil after a shutdown
// asked by ctx.
//
// While it serves, it watches the Redis of its client
// ([tasks.RedisWatch]): at start it warns about settings that can lose
// queued tasks (no persistence, a maxmemory-policy other than noeviction),
// and every 30 seconds it checks that Redis did not lose its data, which
// it logs at error level. It never refuses to serve for either.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Go(func() { s.watchRedis(watchCtx) })
	defer func() { stopWatch(); watching.Wait() }()
	// Long polls answer at once when the server stops, rather than hold
	// the shutdown grace.
	stop := context.AfterFunc(ctx, s.EndWaits)
	defer stop()
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	if err := httpguard.Serve(ctx, ln, s, limits, errLog, shutdownGrace); err != nil {
		return fmt.Errorf("httpapi: serve: %w", err)
	}
	return nil
}

// watchRedis warns about Redis settings that can lose tasks, then checks
// for a loss of data until ctx ends.
func (s *Server) watchRedis(ctx context.Context) {
	watch := s.client.RedisWatch()
	warnings, err := watch.Settings(ctx)
	for _, w := range warnings {
		s.log.Warn(w)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Info("could not read the Redis settings (CONFIG may be disabled); make sure Redis persists its data and uses maxmemory-policy noeviction", "err", err)
	}
	watch.Run(ctx, tasks.DefaultWatchInterval)
}

// ServeHTTP routes a request and logs it. A request without a valid token
// is answered at once and, if it announced a body, its connection closed
// without reading the body: a client without the token cannot hold a
// connection by announcing a body it never sends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if r.ContentLength != 0 {
		if _, msg := s.checkToken(r); msg != "" {
			httpguard.Refuse(rec)
		}
	}
	s.mux.ServeHTTP(rec, r)
	d := time.Since(start)
	s.metrics.observe(r.Pattern, rec.status, d)
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"duration", d, "remote", r.RemoteAddr)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// auth lets a request with the bearer token through to next. A refusal
// closes the connection without reading the request's body.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if challenge, msg := s.checkToken(r); msg != "" {
			httpguard.Refuse(w)
			w.Header().Set("WWW-Authenticate", challenge)
			writeError(w, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		next(w, r)
	}
}

// checkToken compares the request's bearer token with the server's in
// constant time. For a missing or wrong one it returns the
// WWW-Authenticate challenge and the error message; for the right one, "".
func (s *Server) checkToken(r *http.Request) (challenge, msg string) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return `Bearer realm="enqueue"`, "missing bearer token"
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(got[:], s.token[:]) != 1 {
		return `Bearer realm="enqueue", error="invalid_token"`, "invalid bearer token"
	}
	return "", ""
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}

// live answers /healthz: the process runs and serves HTTP (a liveness
// probe, which must not fail while Redis is away: restarting the server
// would not bring Redis back).
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// ready answers /readyz: 200 when Redis answers, else 503 (a readiness
// probe: a load balancer sends no requests that could not be queued).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.client.Ping(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "redis is not reachable")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use "+allow)
}

// uploads handles POST /v1/uploads.
func (s *Server) uploads(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.find(w, r)
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, HEAD, POST")
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		ct = ""
	}
	switch ct {
	case "application/json":
		s.createFromPath(w, r)
	case "multipart/form-data":
		if s.spool == "" && s.objects == nil {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "file uploads are turned off on this server (no spool directory); send application/json with a path")
			return
		}
		s.createFromFile(w, r)
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json or multipart/form-data")
	}
}

// pathRequest is the JSON body of POST /v1/uploads. image_name keeps
// invalid UTF-8 as sent, so that the name rule refuses it as it refuses
// the same bytes in a multipart field (encoding/json would replace them).
type pathRequest struct {
	Path         string         `json:"path"`
	ImageName    rawjson.String `json:"image_name"`
	ImageType    string         `json:"image_type"`
	ImagePID     string         `json:"image_pid"`
	Merchant     string         `json:"merchant"`
	AppAuthToken string         `json:"app_auth_token"`
	Convert      bool           `json:"convert"`
}

func (s *Server) createFromPath(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, s.maxJSON)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req pathRequest
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("JSON body over %d bytes", s.maxJSON))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_json", "malformed JSON body: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_json", "trailing data after the JSON object")
		return
	}
	if req.Path == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "path is required")
		return
	}
	if !filepath.IsAbs(req.Path) && !mediaroot.IsObjectURL(req.Path) {
		writeError(w, http.StatusBadRequest, "invalid_request", "path must be absolute, or an s3://bucket/key URL")
		return
	}
	ureq := tasks.UploadRequest{
		Path:         req.Path,
		ImageName:    string(req.ImageName),
		ImageType:    req.ImageType,
		ImagePID:     req.ImagePID,
		Merchant:     req.Merchant,
		AppAuthToken: req.AppAuthToken,
		Convert:      req.Convert,
	}
	if name, inside := s.spoolEntry(req.Path); inside {
		if name == "" {
			writeError(w, http.StatusForbidden, "in_spool", "the path leads into the spool directory but not to a stored upload by its own path (a temporary or bookkeeping file, or a symbolic link to a stored upload); name a stored upload by the path its task shows")
			return
		}
		s.enqueueSpooled(w, r, ureq, name)
		return
	}
	if s.objects != nil && strings.HasPrefix(req.Path, s.objectURL(s.spoolPrefix)) {
		s.enqueueSpooledObject(w, r, ureq)
		return
	}
	enq, err := s.client.Enqueue(r.Context(), ureq)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	s.writeEnqueued(w, enq)
}

// spoolEntry reports whether path lies inside the spool directory, and
// name is the spooled file's name when it names one directly ("" for
// temporary files, the refs and anything else the server keeps there).
// A path that reaches the spool through a symbolic link elsewhere is
// inside too, with no name: the sweep could not tell that its task needs
// the file.
func (s *Server) spoolEntry(path string) (name string, inside bool) {
	if s.spool == "" {
		return "", false
	}
	p := filepath.Clean(path)
	for _, dir := range []string{s.spool, s.spoolReal} {
		if rel, ok := within(dir, p); ok {
			if !strings.ContainsRune(rel, filepath.Separator) && spoolName(rel) {
				return rel, true
			}
			return "", true
		}
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		if _, ok := within(s.spoolReal, real); ok {
			return "", true
		}
	}
	return "", false
}

// within returns path relative to dir if it lies inside dir (or is dir).
func within(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// enqueueSpooled queues a file that is already in the spool (a path request
// naming one, e.g. the path of an earlier upload's task). Like a file sent
// in the request, the task is recorded beside the file under its lock, so
// a sweep keeps the file while the task needs it; the task names the file
// by the spool path the sweep compares.
func (s *Server) enqueueSpooled(w http.ResponseWriter, r *http.Request, req tasks.UploadRequest, name string) {
	lock, err := s.lockRefs(name, true)
	if err != nil {
		s.log.Error("spool lock failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not queue the upload")
		return
	}
	defer lock.unlock()
	req.ImageName = cmp.Or(req.ImageName, filepath.Base(req.Path))
	req.Path = filepath.Join(s.spool, name)
	p, err := s.client.Prepare(r.Context(), req)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	if err := lock.add(p.TaskID); err != nil {
		s.log.Error("spool reference not recorded", "err", err, "path", req.Path)
		writeError(w, http.StatusInternalServerError, "internal", "could not queue the upload")
		return
	}
	enq, err := s.client.EnqueuePrepared(r.Context(), p)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	s.writeEnqueued(w, enq)
}

// createFromFile streams the multipart file part into the spool directory,
// hashing it on the way, then checks and queues it. The file is removed
// again if it is rejected or cannot be queued.
func (s *Server) createFromFile(w http.ResponseWriter, r *http.Request) {
	// A file to convert may be larger; whether it is one may only be
	// known after the file part, so the larger limit holds until then.
	limit := max(s.maxFile, s.client.ConvertMaxBytes())
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed multipart body: "+err.Error())
		return
	}
	var (
		req      tasks.UploadRequest
		sp       *spooled
		filename string
	)
	defer func() {
		if sp != nil {
			sp.discard()
		}
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.bodyError(w, err)
			return
		}
		name := part.FormName()
		switch name {
		case "file":
			if sp != nil {
				writeError(w, http.StatusBadRequest, "invalid_request", "more than one file part")
				return
			}
			filename = part.FileName()
			var serr error
			sp, serr = s.spoolPart(part, limit)
			if serr != nil {
				var tl errTooLarge
				if errors.As(serr, &tl) {
					s.tooLarge(w, req.Convert)
					return
				}
				// A body over the limit is a read error too (readError
				// wraps the MaxBytesError), answered by bodyError.
				if isClientError(serr) {
					s.bodyError(w, serr)
					return
				}
				s.log.Error("spool failed", "err", serr)
				writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
				return
			}
		case "image_name", "image_type", "image_pid", "merchant", "app_auth_token", "convert":
			v, err := io.ReadAll(io.LimitReader(part, maxFieldSize+1))
			if err != nil {
				s.bodyError(w, err)
				return
			}
			if len(v) > maxFieldSize {
				writeError(w, http.StatusBadRequest, "invalid_request", name+" is too long")
				return
			}
			switch name {
			case "image_name":
				req.ImageName = string(v)
			case "image_type":
				req.ImageType = string(v)
			case "image_pid":
				req.ImagePID = string(v)
			case "merchant":
				req.Merchant = string(v)
			case "app_auth_token":
				req.AppAuthToken = string(v)
			case "convert":
				b, err := strconv.ParseBool(strings.TrimSpace(string(v)))
				if err != nil {
					writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("convert is %q, not true or false", v))
					return
				}
				req.Convert = b
			}
		default:
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown form field %q", name))
			return
		}
		_ = part.Close()
	}
	if sp == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", `the "file" part is missing`)
		return
	}
	if sp.size > s.maxFile && !req.Convert {
		s.tooLargeFile(w, sp)
		return
	}
	if req.ImageName == "" {
		req.ImageName = filepath.Base(filename)
		if filename == "" || req.ImageName == "." || req.ImageName == string(filepath.Separator) {
			req.ImageName = sp.sum[:16]
		}
	}
	if s.objects != nil {
		s.createFromObject(w, r, req, sp)
		return
	}
	// From the content-addressed name to the task, a sweep must not
	// decide about this file; discard runs before the unlock.
	lock, err := s.lockRefs(sp.sum+sp.ext, true)
	if err != nil {
		s.log.Error("spool lock failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
		return
	}
	defer lock.unlock()
	defer sp.discard()
	if err := sp.commit(); err != nil {
		s.log.Error("spool commit failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
		return
	}
	req.Path = sp.path
	p, err := s.client.Prepare(r.Context(), req)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	if p.Payload.SHA256 != sp.sum {
		s.log.Error("spooled file changed before it was queued", "path", sp.path)
		writeError(w, http.StatusInternalServerError, "internal", "the stored file changed before it was queued")
		return
	}
	// Recorded before the task exists, so that a sweep never finds the
	// task without its record. A record of a task that was not queued,
	// or that names another file, is ignored by the sweep.
	if err := lock.add(p.TaskID); err != nil {
		s.log.Error("spool reference not recorded", "err", err, "path", sp.path)
		writeError(w, http.StatusInternalServerError, "internal", "could not store the file")
		return
	}
	enq, err := s.client.EnqueuePrepared(r.Context(), p)
	if err != nil {
		s.enqueueError(w, err)
		return
	}
	if !enq.Duplicate || (enq.Existing != nil && enq.Existing.Payload.Path == sp.path) {
		sp.keep()
	}
	s.writeEnqueued(w, enq)
}

// tooLarge answers 413 for a file over the limit: the upload limit, or
// for a request asking for conversion, the conversion limit.
func (s *Server) tooLarge(w http.ResponseWriter, converting bool) {
	if converting {
		writeError(w, http.StatusRequestEntityTooLarge, string(validate.ReasonTooLarge),
			fmt.Sprintf("the file is over the %d bytes accepted for conversion", s.client.ConvertMaxBytes()))
		return
	}
	writeError(w, http.StatusRequestEntityTooLarge, string(validate.ReasonTooLarge), fmt.Sprintf("the file is over the limit of %d bytes", s.maxFile))
}

// tooLargeFile answers 413 for the spooled file sp, over the limit in a
// request not asking for conversion, with the hint that conversion exists
// when it is a JPEG.
func (s *Server) tooLargeFile(w http.ResponseWriter, sp *spooled) {
	msg := fmt.Sprintf("the file is over the limit of %d bytes", s.maxFile)
	if f, err := os.Open(sp.tmp); err == nil {
		head := make([]byte, validate.HeadSize)
		n, _ := io.ReadFull(f, head)
		_ = f.Close()
		if hint := tasks.ConvertHint(validate.ReasonTooLarge, head[:n]); hint != "" {
			msg += "; " + hint
		}
	}
	writeError(w, http.StatusRequestEntityTooLarge, string(validate.ReasonTooLarge), msg)
}

func isClientError(err error) bool {
	// Errors reading the request body (a client that hung up or sent a
	// malformed body) are the client's; errors writing the spool are ours.
	var re *readError
	return errors.As(err, &re)
}

func (s *Server) bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large",
			fmt.Sprintf("request body over %d bytes (the file may be at most %d bytes)", mbe.Limit, s.maxFile))
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request", "malformed multipart body: "+err.Error())
}

// enqueueError answers a failed Prepare or Enqueue.
func (s *Server) enqueueError(w http.ResponseWriter, err error) {
	var rej *tasks.RejectError
	switch {
	case errors.As(err, &rej):
		writeError(w, rejectStatus(rej), string(rej.Reason), rejectMessage(rej))
	case errors.Is(err, tasks.ErrUnavailable):
		s.log.Error("redis unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the queue is not reachable; try again later")
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "request canceled")
	case errors.Is(err, tasks.ErrTokenNotSealed):
		writeError(w, http.StatusBadRequest, "token_not_sealed", "this server has no merchant key file (MERCHANT_KEY_FILE), so it cannot queue an app_auth_token: tokens reach Redis only encrypted; "+
			"name an authorized merchant instead (\"merchant\": its auth_app_id), or start the server with the workers' key file")
	case errors.Is(err, tasks.ErrInvalidPayload):
		writeError(w, http.StatusBadRequest, "invalid_request", strings.TrimPrefix(err.Error(), "tasks: invalid payload: "))
	default:
		s.log.Error("enqueue failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not queue the upload")
	}
}

// rejectStatus maps a rejection to an HTTP status: 403 for a path the
// media roots refuse, 413 for a file over the limit, 400 for a bad field,
// 422 for anything else about the file.
func rejectStatus(rej *tasks.RejectError) int {
	switch mediaroot.ReasonOf(rej) {
	case mediaroot.ReasonOutsideRoots, mediaroot.ReasonSymlinkEscape, mediaroot.ReasonTraversal, mediaroot.ReasonNotAbsolute:
		return http.StatusForbidden
	}
	switch validate.ReasonOf(rej) {
	case validate.ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case validate.ReasonBadName, validate.ReasonBadImageType:
		return http.StatusBadRequest
	}
	switch rej.Reason {
	case tasks.ReasonInvalidRequest:
		return http.StatusBadRequest
	case tasks.Reason(convert.ReasonInputTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusUnprocessableEntity
}

// rejectMessage is the error message of a rejection without the server's
// path details beyond what the client sent, and without its reason, which
// is the answer's code.
func rejectMessage(rej *tasks.RejectError) string {
	return tasks.Explain(rej.Err)
}

// Task is the JSON form of a task in the API's answers (and in
// "enqueue status --json"). State is asynq's name for the task's state;
// Status is the same state in the words of tasks.Word, which the import
// manifest and the command's tables use.
type Task struct {
	TaskID       string          `json:"task_id"`
	State        string          `json:"state"`
	Status       string          `json:"status"`
	Duplicate    bool            `json:"duplicate"`
	Note         string          `json:"note,omitempty"`
	Queue        string          `json:"queue"`
	Path         string          `json:"path,omitempty"`
	ImageName    string          `json:"image_name,omitempty"`
	ImageType    string          `json:"image_type,omitempty"`
	ImagePID     string          `json:"image_pid,omitempty"`
	Merchant     string          `json:"merchant,omitempty"`
	SHA256       string          `json:"sha256,omitempty"`
	Size         int64           `json:"size,omitempty"`
	Convert      bool            `json:"convert,omitempty"`
	Retried      int             `json:"retried"`
	MaxRetry     int             `json:"max_retry,omitempty"`
	LastError    string          `json:"last_error,omitempty"`
	LastFailedAt *time.Time      `json:"last_failed_at,omitempty"`
	CompletedAt  *time.Time      `json:"completed_at,omitempty"`
	Result       json.RawMessage `json:"result"`
}

// TaskFromStatus converts a task's status to its JSON form. The
// app_auth_token is never included.
func TaskFromStatus(st tasks.Status) Task {
	t := Task{
		TaskID:    st.ID,
		State:     string(st.State),
		Status:    string(st.Word()),
		Queue:     st.Queue,
		Path:      st.Payload.Path,
		ImageName: st.Payload.ImageName,
		ImageType: st.Payload.ImageType,
		ImagePID:  st.Payload.ImagePID,
		Merchant:  st.Payload.Merchant,
		SHA256:    st.Payload.SHA256,
		Size:      st.Payload.Size,
		Convert:   st.Payload.Convert,
		Retried:   st.Retried,
		MaxRetry:  st.MaxRetry,
		LastError: st.LastError,
		Result:    json.RawMessage("null"),
	}
	if !st.LastFailedAt.IsZero() {
		at := st.LastFailedAt.UTC()
		t.LastFailedAt = &at
	}
	if !st.CompletedAt.IsZero() {
		at := st.CompletedAt.UTC()
		t.CompletedAt = &at
	}
	if len(st.RawResult) > 0 && json.Valid(st.RawResult) {
		t.Result = st.RawResult
	}
	return t
}

func (s *Server) writeEnqueued(w http.ResponseWriter, enq tasks.Enqueued) {
	w.Header().Set("Location", "/v1/uploads/"+url.PathEscape(enq.ID))
	if enq.Duplicate && enq.Existing != nil {
		t := TaskFromStatus(*enq.Existing)
		t.Duplicate = true
		t.Note = tasks.ReuseNote(enq.Payload, enq.Existing.Payload)
		httpjson.Write(w, http.StatusOK, t)
		return
	}
	httpjson.Write(w, http.StatusAccepted, TaskFromStatus(tasks.Status{ID: enq.ID, Queue: enq.Queue, State: enq.State, Payload: enq.Payload}))
}

// MaxWait bounds the long poll of GET /v1/uploads/{id}?wait=: a longer
// wait is cut to it.
const MaxWait = 60 * time.Second

// EndWaits answers every long poll in flight, and every later one, at once
// with the task's current state. [Server.Serve] calls it when its context
// ends; a server run otherwise (e.g. with http.Server) should call it
// before shutting down.
func (s *Server) EndWaits() { s.endWaits() }

// parseWait reads the wait parameter: a Go duration ("30s", "1m") or whole
// seconds ("30"), at most MaxWait.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, aerr := strconv.ParseUint(v, 10, 32)
		if aerr != nil {
			return 0, fmt.Errorf("wait=%q is not a duration (e.g. 30s) or a number of seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("wait=%q is negative", v)
	}
	return min(d, MaxWait), nil
}

// upload handles GET /v1/uploads/{id}, with ?wait= a long poll: the answer
// comes when the task is completed or archived, when the wait ends, or
// when the server stops, whichever is first.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	id := r.PathValue("id")
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var st tasks.Status
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		stop := context.AfterFunc(s.waits, cancel)
		st, err = s.client.Wait(ctx, id)
		stop()
		cancel()
		if r.Context().Err() != nil {
			return // the client left
		}
		if err != nil && ctx.Err() != nil {
			// The wait is over: answer with the state as it is now.
			st, err = s.client.Lookup(r.Context(), id)
		}
	} else {
		st, err = s.client.Lookup(r.Context(), id)
	}
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no task with this ID")
		return
	case err != nil:
		s.enqueueError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, TaskFromStatus(st))
}

// Found is the answer of GET /v1/uploads?ref=: the tasks a reference
// names, in every queue.
type Found struct {
	Tasks []Task `json:"tasks"`
}

// find handles GET /v1/uploads?ref=REF, as "enqueue status REF" does: REF
// is a file inside the media roots (its content's tasks, for every
// merchant), a SHA-256 or a prefix of 8 or more hex digits, or a task ID;
// every queue is searched (see [tasks.Client.Find] for the cost).
func (s *Server) find(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "give ref: a file's path, a SHA-256 or a prefix of 8+ hex digits, or a task ID")
		return
	}
	found, err := s.client.Find(r.Context(), ref)
	switch {
	case errors.Is(err, tasks.ErrBadRef):
		writeError(w, http.StatusBadRequest, "invalid_request", "ref is no path, task ID (upload:...), SHA-256, or SHA-256 prefix of 8 or more hex digits")
		return
	case errors.Is(err, tasks.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no task for this ref in any queue")
		return
	case err != nil:
		s.enqueueError(w, err)
		return
	}
	ans := Found{Tasks: make([]Task, 0, len(found))}
	for _, st := range found {
		ans.Tasks = append(ans.Tasks, TaskFromStatus(st))
	}
	httpjson.Write(w, http.StatusOK, ans)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code = code
	b.Error.Message = msg
	httpjson.Write(w, status, b)
}
