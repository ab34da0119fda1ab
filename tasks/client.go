package tasks

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/validate"
)

// DefaultRedisURL is the Redis a [Client] uses when none is configured.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// DefaultPollInterval is the default [ClientConfig.PollInterval]: the
// worker's notices wake waiters at once, polling only covers a lost one.
const DefaultPollInterval = time.Second

// Errors of the application API. Rejections of a file come back as a
// [*RejectError], which matches ErrRejected.
var (
	// ErrRejected: the file failed the local check (media root or
	// content) and was not queued.
	ErrRejected = errors.New("tasks: file rejected")
	// ErrNotFound: no task with that ID in the client's queue (never
	// queued, or deleted after its retention ran out).
	ErrNotFound = errors.New("tasks: task not found")
	// ErrUnavailable: Redis could not be reached or failed the command.
	ErrUnavailable = errors.New("tasks: queue unavailable")
	// ErrClientConfig: a [ClientConfig] setting is invalid.
	ErrClientConfig = errors.New("tasks: invalid client config")
)

// ClientConfig configures a [Client]. Zero values take the documented
// defaults.
type ClientConfig struct {
	// Redis is the Redis connection. Default: parsed from RedisURL.
	Redis asynq.RedisConnOpt
	// RedisURL is used when Redis is nil: redis://, rediss://,
	// redis-socket://, redis-sentinel://...?master=name or
	// redis-cluster://host1:port,host2:port, as for the worker's
	// REDIS_URL. Default [DefaultRedisURL].
	RedisURL string
	// MediaRoots are the directories files must lie in (the same list the
	// worker is given). Required unless Roots is set.
	MediaRoots []string
	// Roots is an already built set of media roots; it takes precedence
	// over MediaRoots.
	Roots *mediaroot.Roots
	// Validator checks the content. Default: validate.New(validate.Config{}),
	// i.e. the default types and the 5 MiB limit.
	Validator *validate.Validator
	// ConvertMaxBytes is the largest file accepted for a request that
	// asks for conversion (UploadRequest.Convert): a HEIC/HEIF or WebP
	// photo, or a JPEG over the Validator's limit, up to this size is
	// queued for the worker to convert. Default
	// [convert.DefaultMaxInputBytes] (50 MiB), the worker's
	// UPLOAD_CONVERT_MAX_BYTES default.
	ConvertMaxBytes int64
	// Queue is the queue tasks are put in and looked up from. Default
	// [QueueDefault].
	Queue string
	// TaskOptions are extra asynq options for every task (e.g.
	// asynq.MaxRetry); they override [NewUploadTask]'s defaults. A Queue
	// or TaskID option here is ignored: the queue is Queue and the ID is
	// always [TaskID].
	TaskOptions []asynq.Option
	// PollInterval is how often [Client.Wait] looks at a task besides
	// the worker's notices (see [NoticeChannel]): it only matters when a
	// notice is lost. Default [DefaultPollInterval].
	PollInterval time.Duration
	// NoNotices turns the notice subscription off: waiters only poll,
	// every PollInterval. For a Redis whose ACL forbids SUBSCRIBE, or to
	// compare with polling alone.
	NoNotices bool
	// Logger receives debug records (never tokens). Default: discard.
	Logger *slog.Logger
	// Sealer encrypts the app_auth_token of a request that carries one
	// (UploadRequest.AppAuthToken) into the payload's sealed_token, with
	// the merchant key file the workers use (MERCHANT_KEY_FILE). Default
	// (nil): such a request is refused with [ErrTokenNotSealed].
	Sealer Sealer
}

// ErrTokenNotSealed reports a request carrying an app_auth_token to a
// [Client] without a [Sealer]: a token reaches Redis only encrypted.
var ErrTokenNotSealed = errors.New("tasks: an app_auth_token is queued only encrypted, and this client has no merchant key file " +
	"(ClientConfig.Sealer; MERCHANT_KEY_FILE for the commands): set one, or authorize the merchant (enqueue merchant authorize) and name it instead")

// Client queues uploads and reads their state. It is safe for concurrent
// use; close it when done.
//
// Its asynq client and inspector share one Redis client. Lookups and
// requeues go through asynq's Inspector, whose methods take no context:
// they are bounded by the Redis client's own timeouts, not by the context
// of the call.
type Client struct {
	rdb       redis.UniversalClient // the one Redis client, shared by the two below
	client    *asynq.Client
	inspector *asynq.Inspector
	roots     *mediaroot.Roots
	validator *validate.Validator
	// convValidator checks a JPEG queued for conversion, up to
	// ConvertMaxBytes.
	convValidator *validate.Validator
	queue         string
	opts          []asynq.Option
	poll          time.Duration
	log           *slog.Logger
	notices       *notifier
	watch         *RedisWatch
	where         string // the Redis, for messages (no password)
	sealer        Sealer // nil: requests with a token are refused
}

// NewClient checks cfg and connects lazily: the first command reaches
// Redis, so a Client can be built while Redis is down (see [Client.Ping]).
func NewClient(cfg ClientConfig) (*Client, error) {
	c := &Client{
		roots:     cfg.Roots,
		validator: cfg.Validator,
		queue:     cfg.Queue,
		poll:      cfg.PollInterval,
		log:       cfg.Logger,
		sealer:    cfg.Sealer,
	}
	c.queue = cmp.Or(c.queue, QueueDefault)
	if c.poll <= 0 {
		c.poll = DefaultPollInterval
	}
	c.log = cmp.Or(c.log, slog.New(slog.DiscardHandler))
	if c.validator == nil {
		v, err := validate.New(validate.Config{})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrClientConfig, err)
		}
		c.validator = v
	}
	if cfg.ConvertMaxBytes < 0 {
		return nil, fmt.Errorf("%w: ConvertMaxBytes is %d; use 0 for the default or a positive byte count", ErrClientConfig, cfg.ConvertMaxBytes)
	}
	cfg.ConvertMaxBytes = cmp.Or(cfg.ConvertMaxBytes, convert.DefaultMaxInputBytes)
	// Only JPEGs over the limit are walked by it (toConvert).
	cv, err := validate.New(validate.Config{Allowed: []string{"jpg"}, MaxSize: max(cfg.ConvertMaxBytes, c.validator.MaxSize())})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClientConfig, err)
	}
	c.convValidator = cv
	if c.roots == nil {
		if len(cfg.MediaRoots) == 0 {
			return nil, fmt.Errorf("%w: MediaRoots is empty", ErrClientConfig)
		}
		r, err := mediaroot.New(cfg.MediaRoots...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrClientConfig, err)
		}
		c.roots = r
	}
	for _, o := range cfg.TaskOptions {
		if o.Type() == asynq.QueueOpt || o.Type() == asynq.TaskIDOpt {
			continue
		}
		c.opts = append(c.opts, o)
	}
	c.opts = append(c.opts, asynq.Queue(c.queue))
	conn := cfg.Redis
	if conn == nil {
		u := cfg.RedisURL
		u = cmp.Or(u, DefaultRedisURL)
		var err error
		conn, err = redisurl.Parse(u)
		if err != nil {
			// The message never quotes the password.
			return nil, fmt.Errorf("%w: RedisURL: %w", ErrClientConfig, err)
		}
	}
	rdb, ok := redisurl.NewClient(conn)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported Redis connection options %T", ErrClientConfig, conn)
	}
	c.rdb = rdb
	c.where = redisurl.Describe(conn)
	c.notices = newNotifier(rdb, c.queue, c.log, cfg.NoNotices)
	c.client = asynq.NewClientFromRedisClient(rdb)
	c.inspector = asynq.NewInspectorFromRedisClient(rdb)
	c.watch = NewRedisWatch(rdb, c.log)
	return c, nil
}

// RedisWatch is the client's watch for a Redis that lost its data, on the
// client's Redis connection and logger; "enqueue serve" runs it.
func (c *Client) RedisWatch() *RedisWatch { return c.watch }

// Close ends the notice subscription, if any, and releases the Redis
// connections.
func (c *Client) Close() error {
	return errors.Join(c.notices.close(), c.rdb.Close())
}

// Redis is the client's Redis connection, for bookkeeping that belongs
// beside its tasks (the HTTP API's bucket spool). Do not close it.
func (c *Client) Redis() redis.UniversalClient { return c.rdb }

// Queue is the queue the client uses.
func (c *Client) Queue() string { return c.queue }

// ConvertMaxBytes is the largest file a request asking for conversion may
// name (ClientConfig.ConvertMaxBytes).
func (c *Client) ConvertMaxBytes() int64 { return c.convValidator.MaxSize() }

// Roots are the media roots files must lie in.
func (c *Client) Roots() *mediaroot.Roots { return c.roots }

// Ping checks that Redis answers before ctx ends. Errors wrap
// [ErrUnavailable].
func (c *Client) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := redisurl.Ping(ctx, c.rdb); err != nil {
		return c.unavailable("answering a ping", err)
	}
	return nil
}

// UploadRequest describes one file to upload.
type UploadRequest struct {
	// Path names the file; it must lie inside a media root. A relative
	// path is made absolute against the working directory. Required.
	Path string
	// ImageName is the name Alipay stores (at most 128 characters).
	// Default: the file's base name.
	ImageName string
	// ImageType is the declared format ("jpg", "png", "mp4", ...). Default:
	// the type found in the content. When set, the content must match it.
	ImageType string
	// ImagePID is the optional partner id (image_pid).
	ImagePID string
	// Merchant is the auth_app_id of the merchant an ISV uploads for,
	// authorized beforehand (enqueue merchant authorize, or
	// merchant.Store.Authorize): the worker uses its current token.
	// Optional; not together with AppAuthToken.
	Merchant string
	// AppAuthToken is a merchant's token the application holds itself,
	// when an ISV uploads for a merchant it did not authorize here. It is
	// sealed with ClientConfig.Sealer into the payload (never stored in
	// clear, never logged); a client without a Sealer refuses it with
	// [ErrTokenNotSealed]. The worker cannot refresh it. Prefer Merchant.
	AppAuthToken string
	// Convert asks the worker to convert the photo if Alipay would refuse
	// it: a HEIC/HEIF or WebP photo, or a JPEG over the limit, up to
	// ClientConfig.ConvertMaxBytes, is queued instead of rejected, and a
	// worker with UPLOAD_CONVERT=on sends it as a JPEG that fits (see
	// [UploadPayload].Convert). An ImageType, if given, must then be jpg.
	Convert bool
}

// Prepared is a checked file, ready to be queued by [Client.EnqueuePrepared].
type Prepared struct {
	// Payload is the task payload: absolute path, name, type (declared, or
	// the detected one), hash and size.
	Payload UploadPayload
	// TaskID is the task's ID, [TaskID] of the payload.
	TaskID string
	// Info is what the validator found.
	Info validate.Info
}

// RejectError is a file that failed the local check. It matches
// [ErrRejected] and unwraps to the cause (a *validate.Error, a mediaroot
// error or an I/O error).
type RejectError struct {
	// Path is the file as requested.
	Path string
	// Reason is a stable code: a validate.Reason for the content
	// ("empty", "too_large", "unsupported_type", "type_mismatch",
	// "corrupt", "bad_name", "bad_image_type"), a mediaroot.Reason for the
	// path, the same the worker archives a task with ("not_absolute",
	// "traversal", "outside_roots", "symlink_escape", "not_regular",
	// "changed", "not_found", "permission"), [ReasonUnreadable] for
	// another error opening or reading the file, or
	// [ReasonInvalidRequest] for a field the payload refuses (e.g. an
	// over-long image_pid).
	Reason Reason
	// Size is the file's size when it could be opened, else 0.
	Size int64
	// Err is the cause.
	Err error
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("tasks: %s rejected (%s): %v", e.Path, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *RejectError) Unwrap() error { return e.Err }

// Is matches [ErrRejected].
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// openRejected is the refusal of path, which the media roots would not
// open: the roots' reason, else ReasonUnreadable.
func openRejected(path string, err error) *RejectError {
	return &RejectError{Path: path, Reason: cmp.Or(Reason(mediaroot.ReasonOf(err)), ReasonUnreadable), Err: err}
}

// Prepare checks a file without queueing it: it opens it inside the media
// roots, checks name, type and size with the validator, then reads the
// file once, computing its SHA-256 while the validator walks its
// structure. A failed check is a [*RejectError].
func (c *Client) Prepare(ctx context.Context, req UploadRequest) (*Prepared, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := req.Path
	object := mediaroot.IsObjectURL(path)
	if path != "" && !object && !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, &RejectError{Path: req.Path, Reason: Reason(mediaroot.ReasonNotFound), Err: err}
		}
		path = abs
	}
	name := req.ImageName
	if object {
		name = cmp.Or(name, mediaroot.ObjectName(path))
	}
	name = cmp.Or(name, filepath.Base(path))
	// f reads the head of the file (the type sniffed, a hint's);
	// body reads it whole, once.
	var (
		f    io.ReaderAt
		body io.Reader
		size int64
	)
	if object {
		obj, err := c.roots.OpenObject(ctx, path)
		if err != nil {
			return nil, openRejected(req.Path, err)
		}
		defer obj.Close()
		size = obj.Info.Size
		head := make([]byte, min(size, validate.HeadSize))
		if _, err := io.ReadFull(obj, head); err != nil {
			return nil, &RejectError{Path: req.Path, Reason: ReasonUnreadable, Size: size, Err: fmt.Errorf("tasks: reading %s: %w", path, err)}
		}
		f, body = bytes.NewReader(head), io.MultiReader(bytes.NewReader(head), obj)
	} else {
		file, st, err := c.roots.Open(path)
		if err != nil {
			return nil, openRejected(req.Path, err)
		}
		defer file.Close()
		size = st.Size()
		f, body = file, io.NewSectionReader(file, 0, size)
	}
	reject := func(err error) error {
		reason := Reason(validate.ReasonOf(err))
		reason = cmp.Or(reason, ReasonUnreadable)
		var ve *validate.Error
		if errors.As(err, &ve) && err == error(ve) {
			err = withHint(ve, f, size, req.Convert, true)
		}
		return &RejectError{Path: req.Path, Reason: reason, Size: size, Err: err}
	}
	typ := req.ImageType
	val := c.validator
	info := validate.Info{Size: size}
	if req.Convert {
		switch sniffed, err := c.toConvert(f, size, req.ImageType); {
		case err != nil:
			return nil, &RejectError{Path: req.Path, Reason: reasonOf(err), Size: size, Err: err}
		case sniffed == "heif" || sniffed == "webp":
			// The validator does not read these: the worker's converter
			// checks them, and sends the JPEG it makes.
			val, info.Type = nil, sniffed
			if err := c.validator.CheckName(name); err != nil {
				return nil, reject(err)
			}
		case sniffed == "jpg":
			val = c.convValidator // a JPEG over the limit, walked as any
		}
	}
	var (
		check *validate.Stream
		err   error
	)
	if val != nil {
		if check, err = val.Begin(size, req.ImageType, name); err != nil {
			return nil, reject(err)
		}
	}
	sum, err := hashAndCheck(body, size, check)
	if err != nil {
		return nil, reject(err)
	}
	if check != nil {
		if info, err = check.Finish(); err != nil {
			return nil, reject(err)
		}
		typ = cmp.Or(typ, info.Type)
	}
	p := UploadPayload{
		Version:   PayloadVersion,
		Path:      path,
		ImageName: name,
		ImageType: typ,
		ImagePID:  req.ImagePID,
		Merchant:  req.Merchant,
		SHA256:    sum,
		Size:      size,
		Convert:   req.Convert,
	}
	if err := c.sealToken(&p, req.AppAuthToken); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, &RejectError{Path: req.Path, Reason: ReasonInvalidRequest, Size: size, Err: err}
	}
	return &Prepared{Payload: p, TaskID: TaskID(p), Info: info}, nil
}

// sealToken puts token, if any, into p sealed, with its digest.
func (c *Client) sealToken(p *UploadPayload, token string) error {
	switch {
	case token == "":
		return nil
	case p.Merchant != "":
		return fmt.Errorf("%w: a request names either a merchant or an app_auth_token, not both", ErrInvalidPayload)
	case c.sealer == nil:
		return ErrTokenNotSealed
	}
	sealed, err := c.sealer.SealToken(token)
	if err != nil {
		return fmt.Errorf("tasks: sealing the app_auth_token: %w", scrubbedErr(err, token))
	}
	p.SealedToken, p.TokenDigest = sealed, TokenDigest(token)
	return nil
}

// toConvert tells, for a request asking for conversion, whether the file
// is one the worker would convert: it returns the content's type ("heif",
// "webp", or "jpg" for a JPEG over the validator's limit) and "" for a
// file to check as usual. A file to convert that is larger than
// ConvertMaxBytes, or declared as another type than the JPEG sent, is an
// error.
func (c *Client) toConvert(f io.ReaderAt, size int64, declared string) (string, error) {
	head := make([]byte, min(size, validate.HeadSize))
	if n, err := f.ReadAt(head, 0); n < len(head) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("file changed while read: %d bytes, expected %d", n, size)
		}
		return "", err
	}
	typ := validate.Sniff(head)
	switch {
	case typ == "heif" || typ == "webp":
	case typ == "jpg" && size > c.validator.MaxSize():
		if _, err := c.validator.CheckType("jpg"); err != nil {
			return "", nil // JPEG is not allowed at all: refused as usual
		}
	default:
		return "", nil
	}
	if declared != "" {
		if d, err := c.validator.CheckType(declared); err != nil || d != "jpg" {
			return "", &validate.Error{Reason: validate.ReasonTypeMismatch, Field: validate.FieldImageType,
				Found: fmt.Sprintf("image_type %q for a photo to convert, which is sent as jpg", declared),
				Fix:   "leave image_type empty or give jpg"}
		}
	}
	if limit := c.convValidator.MaxSize(); size > limit {
		return "", &convert.Error{Reason: convert.ReasonInputTooLarge,
			Found: fmt.Sprintf("the file has %d bytes, over the %d bytes accepted for conversion", size, limit),
			Fix:   "export the photo at a smaller size before importing it"}
	}
	return typ, nil
}

// reasonOf is the stable reason of a refusal from validate or convert,
// else [ReasonUnreadable].
func reasonOf(err error) Reason {
	if r := validate.ReasonOf(err); r != "" {
		return Reason(r)
	}
	var ce *convert.Error
	if errors.As(err, &ce) {
		return Reason(ce.Reason)
	}
	return ReasonUnreadable
}

// hashAndCheck reads size bytes of r once and returns their hex SHA-256;
// each piece also goes through check when it is not nil. A small local
// file is one piece, read with one pread.
func hashAndCheck(r io.Reader, size int64, check *validate.Stream) (string, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	h := sha256.New()
	for off := int64(0); off < size; {
		piece := (*buf)[:min(int64(len(*buf)), size-off)]
		n, err := io.ReadFull(r, piece)
		if n < len(piece) {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("file changed while read: %d bytes, expected %d", off+int64(n), size)
			}
			return "", err
		}
		h.Write(piece)
		if check != nil {
			if _, err := check.Write(piece); err != nil {
				return "", err
			}
		}
		off += int64(n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyBuffers are the buffers files are hashed and checked through (in one
// piece when small), by Prepare and by the handler, so that many files do
// not allocate a buffer each.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 64<<10)
	return &b
}}

// Enqueued is the answer of [Client.Enqueue].
type Enqueued struct {
	// ID is the task ID.
	ID string
	// Queue is the task's queue.
	Queue string
	// State is "pending" for a new task, or the known task's state.
	State State
	// Duplicate is true when the task already existed (same content for
	// the same merchant): nothing new was queued, and Existing describes
	// the known task.
	Duplicate bool
	// Existing is the known task's status when Duplicate is true.
	Existing *Status
	// Payload is what was (or would have been) queued, token included.
	Payload UploadPayload
}

// Enqueue checks the file (see [Client.Prepare]) and queues its upload. If
// a task for the same content and merchant already exists, Enqueue queues
// nothing and returns that task with Duplicate set: this is not an error.
func (c *Client) Enqueue(ctx context.Context, req UploadRequest) (Enqueued, error) {
	p, err := c.Prepare(ctx, req)
	if err != nil {
		return Enqueued{}, err
	}
	return c.EnqueuePrepared(ctx, p)
}

// EnqueuePrepared queues a file checked by [Client.Prepare]. A conflict
// with an existing task is reported as in [Client.Enqueue].
func (c *Client) EnqueuePrepared(ctx context.Context, p *Prepared) (Enqueued, error) {
	task, err := NewUploadTask(p.Payload, c.opts...)
	if err != nil {
		return Enqueued{}, err
	}
	out := Enqueued{ID: p.TaskID, Queue: c.queue, Payload: p.Payload}
	// The data-loss marker exists before the first task this client
	// queues, so that losing the task is noticed (see [RedisWatch]).
	c.watch.begin(ctx)
	info, err := c.client.EnqueueContext(ctx, task)
	switch {
	case err == nil:
		out.ID = info.ID
		out.State = stateOf(info.State)
		c.log.Debug("upload queued", "task_id", info.ID, "path", p.Payload.Path, "size", p.Payload.Size)
		return out, nil
	case errors.Is(err, asynq.ErrTaskIDConflict):
		st, lerr := c.Lookup(ctx, p.TaskID)
		if errors.Is(lerr, ErrNotFound) {
			// Deleted between the conflict and the look-up (retention
			// ran out): try once more.
			info, err := c.client.EnqueueContext(ctx, task)
			switch {
			case err == nil:
				out.State = stateOf(info.State)
				return out, nil
			case errors.Is(err, asynq.ErrTaskIDConflict):
				// Queued again by someone else meanwhile: a duplicate.
				st, lerr = c.Lookup(ctx, p.TaskID)
			default:
				return Enqueued{}, c.unavailable("queueing a task", err)
			}
		}
		if lerr != nil {
			return Enqueued{}, lerr
		}
		out.State = st.State
		out.Duplicate = true
		out.Existing = &st
		return out, nil
	case ctx.Err() != nil:
		return Enqueued{}, ctx.Err()
	default:
		return Enqueued{}, c.unavailable("queueing a task", err)
	}
}

// State is a task's state, asynq's names.
type State string

// Task states.
const (
	StatePending     State = "pending"
	StateActive      State = "active"
	StateScheduled   State = "scheduled"
	StateRetry       State = "retry"
	StateArchived    State = "archived"
	StateCompleted   State = "completed"
	StateAggregating State = "aggregating"
)

// Final reports whether the state will not change any more by itself
// (completed or archived).
func (s State) Final() bool { return s == StateCompleted || s == StateArchived }

func stateOf(s asynq.TaskState) State { return State(s.String()) }

// Status is a task's state and, once completed, its result.
type Status struct {
	ID    string
	Queue string
	State State
	// Payload is the task's payload with AppAuthToken and SealedToken
	// cleared; zero if the
	// payload could not be decoded.
	Payload UploadPayload
	// Result is the worker's result, set once the task has completed and
	// the result could be decoded.
	Result *Result
	// RawResult is the result as stored, for results of another shape.
	RawResult []byte
	// LastError is the error of the last failed attempt: "" if none, and
	// "" once completed (asynq keeps a retried task's last error after it
	// completes; a completed task shows none, and Retried tells it was
	// retried).
	LastError string
	// Retried is how many times the task was retried; MaxRetry its budget.
	Retried, MaxRetry int
	// LastFailedAt and CompletedAt are zero when not applicable
	// (LastFailedAt once completed, like LastError).
	LastFailedAt time.Time
	CompletedAt  time.Time
	// NextProcessAt is when a scheduled or retried task runs next.
	NextProcessAt time.Time
}

// Lookup returns a task's state and result. An unknown ID gives an error
// matching [ErrNotFound].
func (c *Client) Lookup(ctx context.Context, id string) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	info, err := c.inspector.GetTaskInfo(c.queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return Status{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	case err != nil:
		return Status{}, c.unavailable("looking up a task", err)
	}
	return statusOf(info), nil
}

// Completed reads the records asynq keeps of ids, all in one pipelined
// round trip, and returns the status of those it records as completed:
// the ID, queue, state, result, and the completion time the result names;
// for the payload and retries, use [Client.Lookup]. Tasks in any other
// state, unknown ones and records it cannot read are not in the map: look
// them up with Lookup. It reads asynq's task hash ("asynq:{<queue>}:t:<id>",
// its state and result fields) rather than going through asynq's
// Inspector, whose look-up costs two round trips per task.
func (c *Client) Completed(ctx context.Context, ids ...string) (map[string]Status, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, taskKey(c.queue, id), "state", "result")
		}
		return nil
	})
	if err != nil {
		return nil, c.unavailable("looking up tasks", err)
	}
	found := map[string]Status{}
	for i, cmd := range cmds {
		v := cmd.Val()
		state, _ := v[0].(string)
		raw, _ := v[1].(string)
		if State(state) != StateCompleted || raw == "" {
			continue
		}
		var r Result
		if json.Unmarshal([]byte(raw), &r) != nil {
			continue // another shape: Lookup gives it raw
		}
		found[ids[i]] = Status{ID: ids[i], Queue: c.queue, State: StateCompleted, Result: &r, RawResult: []byte(raw), CompletedAt: r.CompletedAt}
	}
	return found, nil
}

// RecheckCompleted is [Client.Completed] after notices of ended attempts.
// asynq records an attempt's end just after its notice, so, like
// [Client.Recheck], it first waits 2ms, and reads the tasks not completed
// yet again after 4ms and 8ms; those still missing then (not completed,
// or slow to be recorded) are left to Recheck.
func (c *Client) RecheckCompleted(ctx context.Context, ids ...string) (map[string]Status, error) {
	found := map[string]Status{}
	ids = slices.Clone(ids) // the caller's stays as it was
	pause := recheckFirst
	for range 3 {
		if err := sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause *= 2
		got, err := c.Completed(ctx, ids...)
		if err != nil {
			return nil, err
		}
		maps.Copy(found, got)
		ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := got[id]; return ok })
		if len(ids) == 0 {
			break
		}
	}
	return found, nil
}

func statusOf(info *asynq.TaskInfo) Status {
	st := Status{
		ID:            info.ID,
		Queue:         info.Queue,
		State:         stateOf(info.State),
		LastError:     info.LastErr,
		Retried:       info.Retried,
		MaxRetry:      info.MaxRetry,
		LastFailedAt:  info.LastFailedAt,
		CompletedAt:   info.CompletedAt,
		NextProcessAt: info.NextProcessAt,
	}
	if st.State == StateCompleted {
		st.LastError, st.LastFailedAt = "", time.Time{}
	}
	if info.Type == TypeUpload {
		var p UploadPayload
		if json.Unmarshal(info.Payload, &p) == nil {
			p.AppAuthToken, p.SealedToken = "", ""
			st.Payload = p
		}
	}
	if len(info.Result) > 0 {
		st.RawResult = info.Result
		var r Result
		if json.Unmarshal(info.Result, &r) == nil {
			st.Result = &r
		}
	}
	return st
}

// Wait waits until a task is completed or archived, or ctx is done, and
// returns its last status. An archived task is not an error: look at
// Status.State and Status.LastError. It looks the task up when the worker
// publishes the end of an attempt at it (see [NoticeChannel]), and every
// PollInterval in case a notice is lost.
func (c *Client) Wait(ctx context.Context, id string) (Status, error) {
	w := c.Watch(id)
	defer w.Close()
	t := time.NewTicker(c.poll)
	defer t.Stop()
	lookup := c.Lookup
	for {
		st, err := lookup(ctx, id)
		if err != nil || st.State.Final() {
			return st, err
		}
		c.log.Debug("waiting for task", "task_id", id, "state", st.State)
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
			lookup = c.Lookup
		case <-w.Changed():
			if ended, _ := w.Take(); len(ended) > 0 {
				lookup = c.Recheck
			} else {
				lookup = c.Lookup
			}
		}
	}
}

// Replace queues p again in place of its archived task, whose stored
// payload asynq cannot change: it deletes the archived task, then queues
// p under the same ID (dedupe by content stays as it was). It is how a
// job refused because it did not ask for conversion is queued again with
// conversion. Only an archived task is replaced: a task in any other
// state gives an error wrapping [ErrNotArchived], and none is deleted.
func (c *Client) Replace(ctx context.Context, p *Prepared) (Enqueued, error) {
	if err := ctx.Err(); err != nil {
		return Enqueued{}, err
	}
	st, err := c.Lookup(ctx, p.TaskID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Enqueued{}, err
	}
	if err == nil {
		if st.State != StateArchived {
			return Enqueued{}, fmt.Errorf("%w: %q is %s", ErrNotArchived, p.TaskID, st.State)
		}
		err := c.inspector.DeleteTask(c.queue, p.TaskID)
		switch {
		case err == nil, errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		case strings.Contains(err.Error(), "FAILED_PRECONDITION"):
			// Re-run by someone else meanwhile, and running now.
			return Enqueued{}, fmt.Errorf("%w: %q is running", ErrNotArchived, p.TaskID)
		default:
			return Enqueued{}, c.unavailable("deleting an archived task", err)
		}
	}
	return c.EnqueuePrepared(ctx, p)
}

// ErrNotArchived is the error of [Client.Replace] for a task that is not
// archived (queued, running, completed): it is left as it is.
var ErrNotArchived = errors.New("tasks: the task is not archived")

// Requeue runs an archived (or scheduled, or retrying) task again now and
// returns its new status. Pending and active tasks give an error.
func (c *Client) Requeue(ctx context.Context, id string) (Status, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, err
	}
	err := c.inspector.RunTask(c.queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return Status{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	case err != nil && strings.Contains(err.Error(), "FAILED_PRECONDITION"):
		// asynq refuses a task already pending or running: nothing to re-run.
		return Status{}, fmt.Errorf("tasks: %q is already pending or running, not archived or waiting for a retry: nothing to re-run", id)
	case err != nil:
		return Status{}, c.unavailable("re-running a task", err)
	}
	return c.Lookup(ctx, id)
}
