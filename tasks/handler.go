package tasks

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Uploader sends one file to the gateway; *upload.Client implements it.
type Uploader interface {
	Upload(ctx context.Context, req upload.Request) (upload.Result, error)
}

// Validator checks a file while it is sent; *validate.Validator
// implements it.
type Validator interface {
	Begin(size int64, declaredType, name string) (*validate.Stream, error)
}

// Opener opens a job's file inside the media roots, refusing paths that
// leave them and files that are not regular; *mediaroot.Roots implements
// it. An Opener that is also an [ObjectOpener] reads jobs whose path is
// an s3:// URL.
type Opener interface {
	Open(path string) (*os.File, os.FileInfo, error)
}

// ObjectOpener opens a job's object (s3://bucket/key) inside the bucket
// media roots; *mediaroot.Roots implements it (with a store, see
// mediaroot.Roots.WithStore).
type ObjectOpener interface {
	OpenObject(ctx context.Context, url string) (*mediaroot.Object, error)
}

// HandlerConfig holds a [Handler]'s dependencies.
type HandlerConfig struct {
	// Uploader sends files, usually an *upload.Client. Required.
	Uploader Uploader
	// Validator checks files while they are sent, usually a
	// *validate.Validator. Required.
	Validator Validator
	// Roots opens files, usually a *mediaroot.Roots. Required.
	Roots Opener
	// Logger receives one record per attempt. Default: discard.
	Logger *slog.Logger
	// Observer is told the outcome of every attempt. Default: none.
	Observer Observer
	// Converter, when set, converts the files of jobs that ask for it
	// ([UploadPayload].Convert): HEIC/HEIF and WebP photos, and JPEGs over
	// the limit, are sent as the JPEG it makes; other files as they are.
	// Usually a *convert.Converter. Default (nil): no conversion; those
	// files are refused as unsupported_type or too_large, with a hint.
	Converter Converter
	// Now is the clock for durations and CompletedAt. Default time.Now.
	Now func() time.Time
	// Ledger, when set, keeps a file from being uploaded twice across a
	// Redis outage longer than asynq's lease (see [Ledger]); its Run must
	// run while the handler does. worker.New always sets one. Default:
	// none, and a result Redis cannot take archives the task with the
	// image_id in its error.
	Ledger *Ledger
	// Tokens, when set, gives the current app_auth_token of the merchant
	// a version 2 job names (UploadPayload.Merchant); usually a
	// *merchant.Store. Default (nil): such jobs are archived as
	// merchant_not_configured.
	Tokens Tokens
	// Sealer, when set, opens the app_auth_token an application sealed
	// into a version 2 payload (UploadPayload.SealedToken); usually the
	// merchant key file's keyring. Default (nil): such jobs are archived
	// as merchant_not_configured.
	Sealer Sealer
}

// ErrPanic marks an attempt that panicked. The panic is recovered, logged
// with its stack, and the attempt counts as a transient failure: it is
// retried while the retry budget lasts, then archived.
var ErrPanic = errors.New("tasks: upload handler panicked")

// ErrHandlerConfig reports a [HandlerConfig] that lacks a dependency.
var ErrHandlerConfig = errors.New("tasks: invalid handler config")

// Result is the JSON a successful upload writes through asynq's
// ResultWriter; read it back with asynq.Inspector.GetTaskInfo (TaskInfo.Result)
// while the task is retained.
type Result struct {
	ImageID   string `json:"image_id"`
	ImageURL  string `json:"image_url"`
	ImageType string `json:"image_type"`
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	TraceID   string `json:"trace_id,omitempty"`
	// Converted, set when the file was converted, says what was sent
	// instead of the original: converted from which type and why, bytes
	// and pixel size before and after, the JPEG quality, the SHA-256 of
	// what was sent. ImageType is then the type sent; SHA256 and Bytes
	// stay the original's, as in the task's payload.
	Converted *convert.Record `json:"converted,omitempty"`
	// Attempt is 1 for a first-time success, plus one per failed attempt
	// before it; throttled attempts are not counted (asynq does not count
	// them either).
	Attempt     int       `json:"attempt"`
	CompletedAt time.Time `json:"completed_at"`
	// Unverified is set on the result record of a task archived as
	// bad_signature whose answer claimed success: ImageID, ImageURL and
	// TraceID are what that answer said, NOT verified as Alipay's
	// (upload.UnverifiedResult). The file is probably stored at Alipay:
	// reconcile the image_id before re-running the task. CompletedAt is
	// when the attempt ended.
	Unverified bool `json:"unverified,omitempty"`
}

// Handler runs [TypeUpload] tasks: it resolves the file inside the media
// roots, checks its fields and type, streams it to the gateway while
// walking its structure and checking it against the hash recorded at
// enqueue time (a failure found with the last bytes withholds them, so the
// request never completes), and writes a [Result]. Register it with
// an asynq.ServeMux under [TypeUpload], and run the server with [IsFailure]
// and a [RetryPolicy]. A Handler is safe for concurrent use.
type Handler struct {
	up     Uploader
	val    Validator
	roots  Opener
	log    *slog.Logger
	obs    Observer
	conv   Converter // nil: no conversion
	now    func() time.Time
	ledger *Ledger
	tokens Tokens // nil: no merchant jobs
	sealer Sealer // nil: no sealed tokens
}

// NewHandler checks cfg and returns a Handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	switch {
	case cfg.Uploader == nil:
		return nil, fmt.Errorf("%w: Uploader is required", ErrHandlerConfig)
	case cfg.Validator == nil:
		return nil, fmt.Errorf("%w: Validator is required", ErrHandlerConfig)
	case cfg.Roots == nil:
		return nil, fmt.Errorf("%w: Roots is required", ErrHandlerConfig)
	}
	h := &Handler{up: cfg.Uploader, val: cfg.Validator, roots: cfg.Roots, log: cfg.Logger, obs: cfg.Observer, conv: cfg.Converter, now: cfg.Now, ledger: cfg.Ledger,
		tokens: cfg.Tokens, sealer: cfg.Sealer}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.obs == nil {
		h.obs = nopObserver{}
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// failure classes of one attempt.
type class int

const (
	retry class = iota
	throttle
	reject
	deferred
)

// attemptError is how process reports a failure: its class, a short reason
// for metrics, and the cause.
type attemptError struct {
	class  class
	reason Reason
	err    error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func rejected(reason Reason, err error) error { return &attemptError{reject, reason, err} }
func retried(reason Reason, err error) error  { return &attemptError{retry, reason, err} }

// ProcessTask implements asynq.Handler. Permanent failures wrap
// asynq.SkipRetry, throttling is a [*ThrottledError], other failures are
// plain errors that asynq retries. No error message contains the
// app_auth_token, a signature or a key.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) (err error) {
	start := h.now()
	id, _ := asynq.GetTaskID(ctx)
	retryCount, _ := asynq.GetRetryCount(ctx)
	maxRetry, known := asynq.GetMaxRetry(ctx)
	last := known && retryCount >= maxRetry // asynq archives whatever fails now
	log := h.log.With("task_id", id, "attempt", retryCount+1)
	var (
		tokens []string // every token this attempt used, scrubbed from its error
		bytes  int64
	)
	defer func() {
		if x := recover(); x != nil {
			log.Error("upload handler panicked; the attempt counts as failed", "panic", scrub(fmt.Sprint(x), tokens...), "stack", string(debug.Stack()))
			err = retried(reasonPanic, fmt.Errorf("%w: %v", ErrPanic, x))
		}
		err = h.finish(log, err, tokens, bytes, h.now().Sub(start), last)
	}()
	p, err := decodeUploadPayload(t.Payload())
	if err != nil {
		reason := reasonBadPayload
		var ve *validate.Error
		switch {
		case errors.Is(err, ErrPayloadVersion):
			reason = reasonPayloadVersion
		case errors.As(err, &ve):
			reason = Reason(ve.Reason)
		}
		return rejected(reason, err)
	}
	if t.Type() != TypeUpload {
		return rejected(reasonBadPayload, fmt.Errorf("%w: task type %q, want %q", ErrInvalidPayload, t.Type(), TypeUpload))
	}
	if p.AppAuthToken != "" {
		tokens = append(tokens, p.AppAuthToken)
	}
	log = log.With("path", p.Path, "image_name", p.ImageName)
	if p.Merchant != "" {
		log = log.With("merchant", p.Merchant)
	}
	if h.ledger == nil || id == "" {
		res, err := h.upload(ctx, ctx, p, retryCount+1, &tokens)
		if err != nil {
			return err
		}
		bytes = sentBytes(res)
		return h.record(ctx, log, t, id, res, false)
	}
	// With a ledger: complete with a result an earlier attempt left, or
	// claim the job before uploading (see Ledger).
	prior, err := h.ledger.begin(ctx, id)
	if err != nil {
		return ledgerFailed(err)
	}
	if prior != nil {
		return h.record(ctx, log, t, id, *prior, true)
	}
	uploaded := false
	defer func() { h.ledger.end(context.WithoutCancel(ctx), id, uploaded) }()
	// asynq cancels ctx when the task's lease runs out (Redis away for
	// 30s); an upload cut then may still reach the gateway, unrecorded.
	// Let it finish instead (the upload client's timeout bounds it), so
	// that its result is kept.
	// Waiting for a slot under a rate limit sends nothing: that wait
	// still ends with ctx.
	res, err := h.upload(ctx, upload.WithWaitContext(context.WithoutCancel(ctx), ctx), p, retryCount+1, &tokens)
	if err != nil {
		if u, ok := upload.UnverifiedResult(err); ok {
			h.keepUnverified(ctx, t, p, u, retryCount+1, log)
		}
		return err
	}
	uploaded = true
	h.ledger.keep(id, res)
	bytes = sentBytes(res)
	return h.record(ctx, log, t, id, res, false)
}

// ledgerFailed classifies a failure of the ledger before the upload: a
// deferral, or Redis failing (retried: nothing was uploaded).
func ledgerFailed(err error) error {
	var de *DeferredError
	if errors.As(err, &de) {
		return &attemptError{deferred, reasonDeferred, de.Err}
	}
	return retried(reasonRedis, err)
}

// record stores the result of an upload (earlier: made by an earlier
// attempt) in the ledger, if any, and as asynq's task result. A result
// Redis does not take within resultWriteBudget defers the attempt when a
// ledger keeps it for the next one; without a ledger the task is archived
// with the image_id in its error, since the upload must not be repeated.
func (h *Handler) record(ctx context.Context, log *slog.Logger, t *asynq.Task, id string, res Result, earlier bool) error {
	data, err := json.Marshal(res)
	if err != nil {
		return rejected(reasonResultWrite, fmt.Errorf("tasks: uploaded as image_id %s, but encoding the result failed: %w", res.ImageID, err))
	}
	w := t.ResultWriter()
	switch {
	case h.ledger != nil && id != "":
		// One round trip: the ledger's record, asynq's task result (what
		// w.Write would write) and, when [NotifyEnded] runs the handler,
		// the notice of the attempt's end.
		queue, _ := asynq.GetQueueName(ctx)
		n := noticeOf(ctx)
		err = retryWrite(ctx, func() error {
			return h.ledger.storeData(ctx, id, data, func(p redis.Pipeliner) {
				if w != nil {
					p.HSet(ctx, taskKey(queue, id), "result", data)
				}
				if n != nil {
					p.Publish(ctx, n.channel, id)
				}
			})
		})
		if err == nil && n != nil {
			n.sent = true
		}
	case w != nil:
		err = retryWrite(ctx, func() error { _, err := w.Write(data); return err })
	}
	switch {
	case err != nil && h.ledger != nil && id != "":
		return &attemptError{deferred, reasonResultWrite, fmt.Errorf("tasks: uploaded as image_id %s (image_url %s, trace_id %s), but Redis did not take the result: %w; this worker keeps it and stores it when Redis answers", res.ImageID, res.ImageURL, res.TraceID, err)}
	case err != nil:
		// The upload happened and is not idempotent: do not retry it.
		// The image_id goes into the archived error instead.
		return rejected(reasonResultWrite, fmt.Errorf("tasks: uploaded as image_id %s (image_url %s), but storing the result failed: %w", res.ImageID, res.ImageURL, err))
	case earlier:
		log.Info("upload done earlier; its result is recorded now, without uploading again", "image_id", res.ImageID, "trace_id", res.TraceID)
	case res.Converted != nil:
		c := res.Converted
		log.Info("upload done", "image_id", res.ImageID, "image_type", res.ImageType, "bytes", res.Bytes, "trace_id", res.TraceID,
			slog.Group("converted", "from", c.From, "why", c.Why, "bytes", c.BytesAfter, "quality", c.Quality, "width", c.WidthAfter, "height", c.HeightAfter))
	default:
		log.Info("upload done", "image_id", res.ImageID, "image_type", res.ImageType, "bytes", res.Bytes, "trace_id", res.TraceID)
	}
	return nil
}

// sentBytes is how many bytes the upload of res sent: the converted
// file's when it was converted.
func sentBytes(res Result) int64 {
	if res.Converted != nil {
		return res.Converted.BytesAfter
	}
	return res.Bytes
}

// keepUnverified writes the result record of an upload whose answer
// claimed success but did not verify, marked Unverified, so that the
// archived task keeps the image_id and trace id for reconciliation (the
// error says so too). A failure to write it is only logged: the error
// carries the image_id as well.
func (h *Handler) keepUnverified(ctx context.Context, t *asynq.Task, p UploadPayload, u upload.Result, attempt int, log *slog.Logger) {
	log.Warn("the gateway's answer claims success but its signature does not verify; keeping the UNVERIFIED image_id for reconciliation",
		"image_id", u.ImageID, "trace_id", u.TraceID)
	w := t.ResultWriter()
	if w == nil {
		return
	}
	data, _ := json.Marshal(Result{ // a struct of plain fields always encodes
		ImageID: u.ImageID, ImageURL: u.ImageURL, ImageType: p.ImageType, SHA256: p.SHA256, Bytes: p.Size,
		TraceID: u.TraceID, Attempt: attempt, CompletedAt: h.now().UTC(), Unverified: true,
	})
	if _, err := w.Write(data); err != nil {
		log.Warn("could not store the unverified result; the task's error still names the image_id", "err", err)
	}
}

// resultWriteBudget bounds how long a result write is retried. Redis that
// restarts is unreachable, then answers LOADING while it reads its
// append-only file, for a few seconds; the upload already happened, so the
// result is worth waiting for.
const resultWriteBudget = 15 * time.Second

// retryWrite runs write (an idempotent Redis write of the result),
// retrying with a growing pause while Redis fails, for up to
// resultWriteBudget.
func retryWrite(ctx context.Context, write func() error) error {
	deadline := time.Now().Add(resultWriteBudget)
	pause := 50 * time.Millisecond
	for {
		err := write()
		if err == nil || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// process opens, validates and uploads the file (or object) of p.
func (h *Handler) process(ctx context.Context, p UploadPayload, attempt int) (Result, error) {
	if mediaroot.IsObjectURL(p.Path) {
		return h.processObject(ctx, p, attempt)
	}
	f, st, err := h.roots.Open(p.Path)
	if err != nil {
		return Result{}, openFailed(err)
	}
	defer f.Close()
	return h.processFile(ctx, p, f, st.Size(), attempt)
}

// openFailed classifies a failure to open a job's file or object: a
// refused path or a missing or unreadable file will not get better by
// retrying; other errors (too many open files, I/O errors, the object
// store away) may.
func openFailed(err error) error {
	if reason := mediaroot.ReasonOf(err); reason != "" {
		return rejected(Reason(reason), err)
	}
	return retried(reasonOpen, err)
}

// processFile converts if asked, validates and uploads the file f of p,
// of size bytes.
func (h *Handler) processFile(ctx context.Context, p UploadPayload, f io.ReaderAt, size int64, attempt int) (Result, error) {
	if size != p.Size {
		return Result{}, rejected(reasonChanged, fmt.Errorf("%w: size is %d bytes, was %d", ErrChanged, size, p.Size))
	}
	if p.Convert && h.conv != nil {
		conv, err := h.convertFile(ctx, f, p)
		if err != nil {
			return Result{}, err
		}
		if conv != nil {
			// A retry converts again: the scratch space holds files only
			// while they are sent.
			defer func() {
				if err := conv.Remove(); err != nil {
					h.log.Warn("removing a converted file", "err", err)
				}
			}()
			return h.sendConverted(ctx, p, conv, attempt)
		}
	}
	want, _ := hex.DecodeString(p.SHA256) // checked by Validate
	up, info, err := h.send(ctx, p, io.NewSectionReader(f, 0, p.Size), p.Size, want, p.ImageType)
	if err != nil {
		return Result{}, addHint(err, f, p, h.conv != nil)
	}
	return h.result(p, up, info, attempt, nil), nil
}

// addHint adds the conversion hint to a validator's refusal of the file
// whose head is read through f.
func addHint(err error, f io.ReaderAt, p UploadPayload, allowed bool) error {
	var ae *attemptError
	if errors.As(err, &ae) && ae.class == reject {
		var ve *validate.Error
		if errors.As(ae.err, &ve) && ae.err == error(ve) {
			ae.err = withHint(ve, f, p.Size, p.Convert, allowed)
		}
	}
	return err
}

// result is the Result of p's upload: the original's SHA-256 and size
// whatever was sent, and conv when a conversion was sent instead.
func (h *Handler) result(p UploadPayload, up upload.Result, info validate.Info, attempt int, conv *convert.Record) Result {
	return Result{
		ImageID:     up.ImageID,
		ImageURL:    up.ImageURL,
		ImageType:   info.Type,
		SHA256:      p.SHA256,
		Bytes:       p.Size,
		TraceID:     up.TraceID,
		Attempt:     attempt,
		CompletedAt: h.now().UTC(),
		Converted:   conv,
	}
}

// send streams size bytes of r to the gateway, checking them with the
// validator (declared is the image_type they must be, "" for any) and
// against the SHA-256 want while they are sent.
func (h *Handler) send(ctx context.Context, p UploadPayload, r io.Reader, size int64, want []byte, declared string) (upload.Result, validate.Info, error) {
	check, err := h.val.Begin(size, declared, p.ImageName)
	if err != nil {
		return upload.Result{}, validate.Info{}, checkFailed(err)
	}
	// The file is hashed and its structure walked while it is sent; the
	// first piece is read before the request starts, so that the type is
	// known and a small file is verified whole before anything goes out.
	body := newVerifyingReader(r, size, want, check)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf) // Upload no longer reads body once it returns
	if err := body.prime(*buf); err != nil {
		return upload.Result{}, validate.Info{}, checkFailed(err)
	}
	info := check.Info()
	res, err := h.up.Upload(ctx, uploadRequest(p, body, size, info))
	if err != nil {
		return upload.Result{}, validate.Info{}, classifyUpload(err)
	}
	return res, info, nil
}

// fileRejected returns the permanent failure for err when err says the
// file changed since it was enqueued or failed its check, or nil.
func fileRejected(err error) error {
	var ve *validate.Error
	switch {
	case errors.Is(err, ErrChanged):
		return rejected(reasonChanged, err)
	case errors.As(err, &ve):
		return rejected(Reason(ve.Reason), ve)
	}
	return nil
}

// checkFailed classifies a failure to verify the file: changed since
// enqueue, rejected by the validator (permanent), or unreadable (retried).
func checkFailed(err error) error {
	if r := fileRejected(err); r != nil {
		return r
	}
	return retried(reasonRead, fmt.Errorf("tasks: reading the file: %w", err))
}

// classifyUpload turns an upload client error into an attemptError.
func classifyUpload(err error) error {
	// The file may have failed its check while it was being sent (the
	// request was then aborted before its body was complete).
	if r := fileRejected(err); r != nil {
		return r
	}
	reason := reasonUpload
	var (
		api  *upload.APIError
		herr *upload.HTTPError
	)
	switch {
	case errors.As(err, &api):
		reason = gatewayReason(api)
	case errors.As(err, &herr):
		reason = Reason("http_" + strconv.Itoa(herr.StatusCode))
	case errors.Is(err, upload.ErrBadSignature):
		reason = reasonBadSignature
		if u, ok := upload.UnverifiedResult(err); ok {
			err = fmt.Errorf("%w; "+unverifiedFix, err, u.TraceID)
		}
	case errors.Is(err, upload.ErrBadResponse):
		reason = reasonBadResponse
	case errors.Is(err, upload.ErrInvalidRequest):
		reason = ReasonInvalidRequest
	case errors.Is(err, upload.ErrContent):
		reason = reasonRead
	case errors.Is(err, upload.ErrRateLimit):
		reason = reasonRateLimit
	}
	switch upload.Classify(err) {
	case upload.Throttled:
		return &attemptError{throttle, reason, err}
	case upload.Retryable:
		if reason == reasonUpload || reason == reasonRead {
			reason = reasonTransport
		}
		return retried(reason, err)
	default:
		return rejected(reason, err)
	}
}

// finish logs the attempt, tells the observer, and turns err into what
// asynq should see: SkipRetry for permanent failures, *ThrottledError for
// throttling, the scrubbed error otherwise. last says the retry budget is
// spent, so that asynq archives the task whatever the failure: the log
// says so, and asynq's own "Retry exhausted" line is not needed.
func (h *Handler) finish(log *slog.Logger, err error, token []string, bytes int64, d time.Duration, last bool) error {
	if err == nil {
		h.obs.Observe(Attempt{Outcome: OutcomeSuccess, Bytes: bytes, Duration: d})
		return nil
	}
	var ae *attemptError
	if !errors.As(err, &ae) {
		ae = &attemptError{retry, reasonUnknown, err}
	}
	switch ae.class {
	case deferred:
		out := redact(&DeferredError{Err: ae.err}, token)
		log.Info("upload deferred; retrying soon without spending the retry budget", "reason", ae.reason, "err", out.Error())
		h.obs.Observe(Attempt{Outcome: OutcomeDeferred, Reason: string(ae.reason), Duration: d})
		return out
	case throttle:
		out := redact(&ThrottledError{Err: ae.err}, token)
		if last {
			log.Warn("upload throttled by the gateway and no retries left; archiving the task (re-run it once the gateway allows)", "reason", ae.reason, "err", out.Error())
		} else {
			log.Info("upload throttled by the gateway; retrying later without spending the retry budget", "reason", ae.reason, "err", out.Error())
		}
		h.obs.Observe(Attempt{Outcome: OutcomeThrottled, Reason: string(ae.reason), Duration: d})
		return out
	case reject:
		out := redact(permanent(ae.reason, ae.err), token)
		log.Warn("upload rejected; archiving the task", "reason", ae.reason, "err", out.Error())
		h.obs.Observe(Attempt{Outcome: OutcomeRejected, Reason: string(ae.reason), Duration: d})
		return out
	default:
		out := redact(ae.err, token)
		if last {
			log.Warn("upload failed and no retries left; archiving the task", "reason", ae.reason, "err", out.Error())
		} else {
			log.Warn("upload failed; retrying later", "reason", ae.reason, "err", out.Error())
		}
		h.obs.Observe(Attempt{Outcome: OutcomeRetry, Reason: string(ae.reason), Duration: d})
		return out
	}
}
