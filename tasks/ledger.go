package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of [LedgerConfig].
const (
	// DefaultHeartbeat is how often a process says it is alive.
	DefaultHeartbeat = 5 * time.Second
	// DefaultStaleAfter is how old a heartbeat may be before its process
	// is suspected dead.
	DefaultStaleAfter = 15 * time.Second
	// DefaultDeadAfter is how long a process must stay suspected before
	// its uploads are taken over. The suspicion is cleared by its next
	// heartbeat, so a process that only lost Redis for a while (its
	// heartbeats failed too) gets that long, once Redis answers again, to
	// say it lives and store the results it kept.
	DefaultDeadAfter = 15 * time.Second
)

// flushInterval is how often the ledger's loop tries to store what
// Redis could not take.
const flushInterval = time.Second

// LedgerConfig configures a [Ledger].
type LedgerConfig struct {
	// Redis is the queue's Redis. Required.
	Redis redis.UniversalClient
	// Logger receives the ledger's records. Default: discard.
	Logger *slog.Logger
	// Retention is how long a job's record (its claim and result) is
	// kept in Redis. Default [DefaultRetention], as long as the task.
	Retention time.Duration
	// Heartbeat, StaleAfter and DeadAfter time the process liveness
	// (see [Ledger]). Defaults [DefaultHeartbeat], [DefaultStaleAfter],
	// [DefaultDeadAfter].
	Heartbeat, StaleAfter, DeadAfter time.Duration
}

// Ledger is what keeps an upload from being made twice across a Redis
// outage. asynq holds a running task by a 30-second lease that its server
// renews in Redis; when Redis is unreachable for longer, the lease runs
// out, the attempt's result cannot be recorded, and once Redis is back the
// task is run again, by any worker process. The upload is not idempotent,
// so that run would upload the file a second time, and the first image_id
// would be lost.
//
// The ledger keeps a record per job in Redis (a hash under
// "alipay-media-worker:job:<task ID>", kept for the retention): the process
// that is uploading the file (its claim) and, once uploaded, the
// [Result]. Each worker process has an ID and a heartbeat (a hash under
// "alipay-media-worker:process:<ID>" holding the time of its last beat,
// Redis's clock). The [Handler] uses it so:
//
//  1. Before uploading, an attempt looks for a result: kept in this
//     process (not yet stored) or stored in Redis. If there is one, the
//     task completes with it and nothing is uploaded.
//  2. Otherwise it claims the job. A claim by another process that is
//     alive (or only suspected dead for less than DeadAfter) defers the
//     attempt ([*DeferredError]: retried soon, not spending the retry
//     budget), so that the owner can store its result first. A claim by a
//     process whose heartbeat is older than StaleAfter, and stayed so for
//     DeadAfter, is taken over: that process died, and whether it uploaded
//     the file cannot be known, so the file is uploaded again.
//  3. After the upload, the result is kept in memory and stored in the
//     job's record and in asynq's task result. What Redis cannot take is
//     stored by the ledger's loop ([Ledger.Run]) as soon as Redis answers,
//     and meanwhile the attempt is deferred; the next attempt, by whichever
//     process, finds it (step 1 or 2).
//  4. An attempt that fails without a result gives its claim up.
//
// So no file is uploaded twice while the process that uploaded it stays
// alive, however long Redis is away. A process that dies with results it
// could not store loses them (they are logged, with their image_ids, when
// it stops on a signal); its files are uploaded again.
//
// A Ledger is safe for concurrent use.
type Ledger struct {
	rdb                 redis.UniversalClient
	log                 *slog.Logger
	id                  string
	retention           time.Duration
	heartbeat           time.Duration
	staleAfter, deadFor time.Duration

	mu       sync.Mutex
	kept     map[string]Result // results not yet stored in Redis
	release  map[string]bool   // claims to give up once Redis answers
	running  map[string]bool   // attempts in flight in this process
	lastBeat time.Time
}

// NewLedger checks cfg and returns a ledger with a new process ID. It
// touches Redis only when used.
func NewLedger(cfg LedgerConfig) (*Ledger, error) {
	if cfg.Redis == nil {
		return nil, fmt.Errorf("%w: Ledger needs Redis", ErrHandlerConfig)
	}
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	l := &Ledger{
		rdb:        cfg.Redis,
		log:        cfg.Logger,
		id:         fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(suffix)),
		retention:  cfg.Retention,
		heartbeat:  cfg.Heartbeat,
		staleAfter: cfg.StaleAfter,
		deadFor:    cfg.DeadAfter,
		kept:       map[string]Result{},
		release:    map[string]bool{},
		running:    map[string]bool{},
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.retention <= 0 {
		l.retention = DefaultRetention
	}
	if l.heartbeat <= 0 {
		l.heartbeat = DefaultHeartbeat
	}
	if l.staleAfter <= 0 {
		l.staleAfter = DefaultStaleAfter
	}
	if l.deadFor <= 0 {
		l.deadFor = DefaultDeadAfter
	}
	return l, nil
}

// ID is the process's ID in the ledger: host, pid and a random suffix.
func (l *Ledger) ID() string { return l.id }

func jobKey(taskID string) string   { return KeyPrefix + "job:" + taskID }
func processKey(id string) string   { return KeyPrefix + "process:" + id }
func millis(d time.Duration) int64  { return d.Milliseconds() }
func seconds(d time.Duration) int64 { return int64(max(d, time.Second) / time.Second) }

// beatScript records a heartbeat at Redis's time and clears a suspicion.
var beatScript = redis.NewScript(`
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'beat', t[1] * 1000 + math.floor(t[2] / 1000))
redis.call('HDEL', KEYS[1], 'suspect')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`)

// Beat records that this process is alive. [Ledger.Run] beats every
// Heartbeat; call it once before taking tasks, so that a claim never
// names a process without a heartbeat.
func (l *Ledger) Beat(ctx context.Context) error {
	// The process record outlives the job records' need for it: a day.
	if err := beatScript.Run(ctx, l.rdb, []string{processKey(l.id)}, seconds(24*time.Hour)).Err(); err != nil {
		return fmt.Errorf("%w: heartbeat: %w", ErrUnavailable, err)
	}
	l.mu.Lock()
	l.lastBeat = time.Now()
	l.mu.Unlock()
	return nil
}

// claimScript: a stored result wins; else the job is claimed for ARGV[1]
// if nobody holds it, it holds it already, or ARGV[3] (a process found
// dead) holds it; else the holder is named.
var claimScript = redis.NewScript(`
local res = redis.call('HGET', KEYS[1], 'result')
if res then return {'result', res} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if (not owner) or owner == ARGV[1] or (ARGV[3] ~= '' and owner == ARGV[3]) then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'claimed', ''}
end
return {'owner', owner}`)

// deadScript reports whether the process of KEYS[1] is dead: no record at
// all, or a heartbeat older than ARGV[1] ms that stayed so for ARGV[2] ms
// since first suspected (by anyone).
var deadScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local beat = tonumber(redis.call('HGET', KEYS[1], 'beat') or '0')
if now - beat < tonumber(ARGV[1]) then return 0 end
redis.call('HSETNX', KEYS[1], 'suspect', now)
local since = tonumber(redis.call('HGET', KEYS[1], 'suspect'))
if now - since >= tonumber(ARGV[2]) then return 1 end
return 0`)

// begin starts an attempt at taskID. It returns the job's result when one
// is kept here or stored in Redis (the attempt completes with it), or
// claims the job for this process (the attempt uploads; call end when it
// finishes), or returns a [*DeferredError] when another attempt here, or a
// live process, holds it. Redis failures wrap [ErrUnavailable].
func (l *Ledger) begin(ctx context.Context, taskID string) (*Result, error) {
	l.mu.Lock()
	if res, ok := l.kept[taskID]; ok {
		l.mu.Unlock()
		return &res, nil
	}
	if l.running[taskID] {
		l.mu.Unlock()
		return nil, &DeferredError{Err: fmt.Errorf("tasks: another attempt at %s is still running in this worker", taskID)}
	}
	l.running[taskID] = true
	delete(l.release, taskID)
	l.mu.Unlock()
	res, err := l.claim(ctx, taskID)
	if res != nil || err != nil {
		l.mu.Lock()
		delete(l.running, taskID)
		l.mu.Unlock()
	}
	return res, err
}

func (l *Ledger) claim(ctx context.Context, taskID string) (*Result, error) {
	takeOver := ""
	for range 2 {
		v, err := claimScript.Run(ctx, l.rdb, []string{jobKey(taskID)}, l.id, seconds(l.retention), takeOver).StringSlice()
		if err != nil || len(v) != 2 {
			return nil, fmt.Errorf("%w: claim %s: %w", ErrUnavailable, taskID, err)
		}
		switch v[0] {
		case "result":
			var res Result
			if err := json.Unmarshal([]byte(v[1]), &res); err != nil {
				return nil, fmt.Errorf("tasks: stored result of %s: %w", taskID, err)
			}
			return &res, nil
		case "claimed":
			if takeOver != "" {
				l.log.Warn("the worker that was uploading this file is gone (no heartbeat); uploading it again, so the gateway may hold it twice",
					"task_id", taskID, "gone", takeOver)
			}
			return nil, nil
		}
		owner := v[1]
		dead, err := deadScript.Run(ctx, l.rdb, []string{processKey(owner)}, millis(l.staleAfter), millis(l.deadFor)).Int()
		if err != nil {
			return nil, fmt.Errorf("%w: heartbeat of %s: %w", ErrUnavailable, owner, err)
		}
		if dead == 0 {
			return nil, &DeferredError{Err: fmt.Errorf("tasks: worker %s is uploading this file or holds its result; waiting for it", owner)}
		}
		takeOver = owner
	}
	return nil, &DeferredError{Err: fmt.Errorf("tasks: the claim on %s changed hands; trying again", taskID)}
}

// keep holds res until it is stored in Redis.
func (l *Ledger) keep(taskID string, res Result) {
	l.mu.Lock()
	l.kept[taskID] = res
	l.mu.Unlock()
}

// store writes the result into the job's record; once it is there, the
// result kept here is dropped.
func (l *Ledger) store(ctx context.Context, taskID string, res Result) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("tasks: encode result: %w", err)
	}
	return l.storeData(ctx, taskID, data, nil)
}

// storeData is store with the result already encoded; also, when set,
// adds the attempt's other writes to the same pipeline (one round trip on
// a standalone Redis), after the record's. They are all idempotent: a
// failure is retried as a whole.
func (l *Ledger) storeData(ctx context.Context, taskID string, data []byte, also func(redis.Pipeliner)) error {
	key := jobKey(taskID)
	// No transaction: the writes need none (the claim gave the record its
	// expiry already), and a Redis Cluster refuses one across slots.
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "result", data, "owner", l.id)
		p.Expire(ctx, key, l.retention)
		if also != nil {
			also(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: store result of %s: %w", ErrUnavailable, taskID, err)
	}
	l.mu.Lock()
	delete(l.kept, taskID)
	l.mu.Unlock()
	return nil
}

// releaseScript drops the claim if this process holds it and there is no
// result.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'result') == 0 then
  redis.call('HDEL', KEYS[1], 'owner')
end
return 1`)

// end finishes an attempt begun with begin. Without a result (uploaded
// false), the claim is given up, now or, if Redis fails, by the loop.
func (l *Ledger) end(ctx context.Context, taskID string, uploaded bool) {
	l.mu.Lock()
	delete(l.running, taskID)
	l.mu.Unlock()
	if uploaded {
		return
	}
	if err := releaseScript.Run(ctx, l.rdb, []string{jobKey(taskID)}, l.id).Err(); err != nil {
		l.mu.Lock()
		l.release[taskID] = true
		l.mu.Unlock()
	}
}

// Pending is the number of results this process holds that Redis has not
// taken yet.
func (l *Ledger) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.kept)
}

// Run beats every Heartbeat, and every second stores the results Redis
// could not take and gives up the claims it could not release, until ctx
// ends. It then tries once more, for up to 5 seconds, logs every result
// still not stored, with its image_id, at error level (the task will be
// uploaded again), and removes the process's heartbeat record, so that
// other processes take over its claims at once. Stop it only when the
// process stops taking tasks.
func (l *Ledger) Run(ctx context.Context) {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		l.flush(ctx)
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(last)
			l.mu.Lock()
			for id, res := range l.kept {
				l.log.Error("stopping with an upload whose result Redis never took; the file will be uploaded again",
					"task_id", id, "image_id", res.ImageID, "image_url", res.ImageURL, "trace_id", res.TraceID)
			}
			l.mu.Unlock()
			// Gone: the claims left behind are taken over at once.
			_ = l.rdb.Del(last, processKey(l.id)).Err()
			cancel()
			return
		case <-t.C:
		}
	}
}

// flush stores kept results and gives up claims, then beats when due.
func (l *Ledger) flush(ctx context.Context) {
	l.mu.Lock()
	kept := make(map[string]Result, len(l.kept))
	for id, res := range l.kept {
		kept[id] = res
	}
	var release []string
	for id := range l.release {
		release = append(release, id)
	}
	due := time.Since(l.lastBeat) >= l.heartbeat
	l.mu.Unlock()
	for id, res := range kept {
		if err := l.store(ctx, id, res); err != nil {
			l.log.Debug("result still not stored; trying again", "task_id", id, "err", err)
			break // Redis is down: the rest waits too
		}
		l.log.Info("stored the result Redis could not take before", "task_id", id, "image_id", res.ImageID)
	}
	for _, id := range release {
		if err := releaseScript.Run(ctx, l.rdb, []string{jobKey(id)}, l.id).Err(); err != nil {
			break
		}
		l.mu.Lock()
		delete(l.release, id)
		l.mu.Unlock()
	}
	if due {
		if err := l.Beat(ctx); err != nil && ctx.Err() == nil {
			l.log.Debug("heartbeat failed; trying again", "err", err)
		}
	}
}

// DeferredError is returned by the [Handler] when an attempt must not
// upload now: its file was uploaded already and the result is not stored
// yet, or another worker process that is alive holds the job (see
// [Ledger]). [IsFailure] reports false for it, so asynq retries the task
// without spending its retry budget, after [RetryPolicy.BaseDelay]. As for
// throttling, asynq checks the budget before it asks IsFailure: a task
// whose budget is already spent is archived by a deferred attempt, with
// the message (and the image_id, when the upload happened) in its last
// error; it can be re-run from the dashboard, and the re-run finds the
// result.
type DeferredError struct {
	Err error
}

func (e *DeferredError) Error() string { return "deferred: " + e.Err.Error() }

func (e *DeferredError) Unwrap() error { return e.Err }
