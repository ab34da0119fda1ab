package tasks

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Notices of ended attempts.
//
// Waiting for a task by polling costs up to a poll interval of latency per
// task. The worker therefore publishes the task ID on [NoticeChannel] of
// the task's queue when an attempt ends, whatever its outcome (see
// [NotifyEnded]), and waiters ([Client.Wait], the importer's --wait, the
// HTTP API's long poll) look the task up again when they hear it.
//
// asynq records an attempt's end (completed, retry, archived) just after
// the handler returns, and offers no hook after that write; the notice is
// therefore published a moment before the new state is visible. Rather
// than delay the worker, the waiter re-checks: [Client.Recheck] looks the
// task up again after short pauses while it still reads active.
//
// Notices are a shortcut, never the only way to learn an outcome: waiters
// keep polling, more slowly, so a notice lost (a publish that failed, a
// subscription broken while Redis restarts) costs latency, never a job.
// When a subscription is (re)established, every watcher is told to look
// all its tasks up again, since notices may have been missed meanwhile.
//
// Notices use classic PUBLISH/SUBSCRIBE, which Redis Cluster forwards to
// every node, so they work on a standalone Redis, behind Sentinel and on a
// Cluster alike.

// NoticeChannel is the Redis channel the worker publishes the IDs of tasks
// of queue on when an attempt at them ends.
func NoticeChannel(queue string) string {
	return "alipay-media-worker:ended:" + queue
}

// noticeTimeout bounds one publish: a notice that cannot be sent quickly is
// dropped (waiters poll anyway).
const noticeTimeout = time.Second

// NotifyEnded returns an asynq middleware that publishes a task's ID on
// [NoticeChannel] of its queue once the handler has returned, whatever its
// outcome. A [Handler] with a [Ledger] that stores a result publishes the
// notice itself, in the same round trip as the result (after it), and the
// middleware then sends none. A failed publish is logged at debug level
// and otherwise ignored. The worker installs it (worker.New).
func NotifyEnded(rdb redis.UniversalClient, log *slog.Logger) asynq.MiddlewareFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			queue, _ := asynq.GetQueueName(ctx)
			n := &notice{channel: NoticeChannel(queue)}
			err := next.ProcessTask(context.WithValue(ctx, noticeKey{}, n), t)
			if n.sent {
				return err
			}
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
			defer cancel()
			if perr := rdb.Publish(pctx, n.channel, id).Err(); perr != nil {
				log.Debug("could not publish the end of an attempt; waiters will poll", "task_id", id, "err", perr)
			}
			return err
		})
	}
}

// notice is the notice of one attempt's end, which [NotifyEnded] hands
// the handler through the context: a [Handler] with a ledger publishes it
// with the result it stores, in the same round trip, and sets sent.
type notice struct {
	channel string
	sent    bool
}

type noticeKey struct{}

// noticeOf returns the notice NotifyEnded put in ctx, or nil.
func noticeOf(ctx context.Context) *notice {
	n, _ := ctx.Value(noticeKey{}).(*notice)
	return n
}

// Re-check pauses: after a notice, a task is first looked up after
// recheckFirst (asynq's write comes just after the notice: a look at once
// nearly always read active, and cost two Redis calls for nothing), and
// while it still reads active, again after pauses doubling up to
// recheckMaxPause, for recheckWindow in all.
const (
	recheckFirst    = 2 * time.Millisecond
	recheckMaxPause = 100 * time.Millisecond
	recheckWindow   = time.Second
)

// Recheck looks a task up after a notice that an attempt at it ended.
// asynq records the attempt's end just after the notice is sent, so
// Recheck first waits 2ms, and while the task still reads active it looks
// again after short pauses (4ms, doubling up to 100ms), for up to a
// second, then returns what it last read. Errors are those of
// [Client.Lookup].
func (c *Client) Recheck(ctx context.Context, id string) (Status, error) {
	deadline := time.Now().Add(recheckWindow)
	pause := recheckFirst
	for {
		if err := sleep(ctx, pause); err != nil {
			return Status{}, err
		}
		pause = min(2*pause, recheckMaxPause)
		st, err := c.Lookup(ctx, id)
		if err != nil || st.State != StateActive || time.Now().Add(pause).After(deadline) {
			return st, err
		}
	}
}

// Watch hears the notices about a set of task IDs of a [Client]'s queue.
// Build it with [Client.Watch]; it is safe for concurrent use. A Watch
// only says when to look: the state itself is read with [Client.Recheck]
// or [Client.Lookup].
type Watch struct {
	n *notifier

	mu     sync.Mutex
	ended  map[string]struct{} // notified since the last Take
	all    bool                // notices may have been missed since the last Take
	signal chan struct{}       // holds a token while there is something to take
	closed bool
}

// Watch starts hearing notices about ids (more can be added with
// [Watch.Add]); it subscribes to the queue's [NoticeChannel] the first
// time the client needs it, and keeps that one subscription until
// [Client.Close]. Close the Watch when done.
func (c *Client) Watch(ids ...string) *Watch {
	n := c.notices
	w := &Watch{n: n, ended: map[string]struct{}{}, signal: make(chan struct{}, 1)}
	n.mu.Lock()
	n.watches[w] = struct{}{}
	n.mu.Unlock()
	w.Add(ids...)
	n.start()
	return w
}

// Add watches more IDs.
func (w *Watch) Add(ids ...string) {
	n := w.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if w.isClosed() {
		return
	}
	for _, id := range ids {
		set := n.byID[id]
		if set == nil {
			set = map[*Watch]struct{}{}
			n.byID[id] = set
		}
		set[w] = struct{}{}
	}
}

// Remove stops watching IDs.
func (w *Watch) Remove(ids ...string) {
	n := w.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		n.forget(w, id)
	}
}

// Changed is signalled when there is something to [Watch.Take].
func (w *Watch) Changed() <-chan struct{} { return w.signal }

// Take returns the IDs whose attempt ended since the last call, and
// whether notices may have been missed since (the subscription was made or
// made again): then every watched ID is worth looking up again.
func (w *Watch) Take() (ended []string, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.ended {
		ended = append(ended, id)
	}
	clear(w.ended)
	all, w.all = w.all, false
	select {
	case <-w.signal:
	default:
	}
	return ended, all
}

// Close stops the watch.
func (w *Watch) Close() {
	n := w.n
	n.mu.Lock()
	defer n.mu.Unlock()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	for id, set := range n.byID {
		if _, ok := set[w]; ok {
			n.forget(w, id)
		}
	}
	delete(n.watches, w)
}

func (w *Watch) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// mark records a notice for id (or, with id "", a possible loss of
// notices) and signals it.
func (w *Watch) mark(id string) {
	w.mu.Lock()
	if id == "" {
		w.all = true
	} else {
		w.ended[id] = struct{}{}
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// Subscription upkeep: a subscription that has heard nothing for
// noticeIdle is pinged, so that a connection that died silently is
// noticed and made again; receive errors are retried after a pause from
// noticeRetryPause, doubling up to noticeMaxPause while they last (Redis
// down, or an ACL without pub/sub).
const (
	noticeIdle       = 30 * time.Second
	noticeRetryPause = 100 * time.Millisecond
	noticeMaxPause   = 10 * time.Second
)

// notifier is a Client's one subscription to its queue's notices, shared
// by all its watches.
type notifier struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
	off     bool // ClientConfig.NoNotices: never subscribe

	once sync.Once
	ps   *redis.PubSub
	done chan struct{} // closed when the receive loop has returned
	quit chan struct{} // closed by close, ending a retry pause

	mu      sync.Mutex
	closed  bool
	byID    map[string]map[*Watch]struct{}
	watches map[*Watch]struct{}
}

func newNotifier(rdb redis.UniversalClient, queue string, log *slog.Logger, off bool) *notifier {
	return &notifier{
		off:     off,
		rdb:     rdb,
		channel: NoticeChannel(queue),
		log:     log,
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
		byID:    map[string]map[*Watch]struct{}{},
		watches: map[*Watch]struct{}{},
	}
}

// start subscribes, once, and starts the receive loop.
func (n *notifier) start() {
	n.once.Do(func() {
		n.mu.Lock()
		closed := n.closed
		n.mu.Unlock()
		if closed || n.off {
			close(n.done)
			return
		}
		// Subscribe sends SUBSCRIBE, or leaves it to the first receive
		// when Redis cannot be reached now.
		n.ps = n.rdb.Subscribe(context.Background(), n.channel)
		go n.loop()
	})
}

// forget removes w's interest in id; n.mu is held.
func (n *notifier) forget(w *Watch, id string) {
	if set := n.byID[id]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(n.byID, id)
		}
	}
}

// loop receives notices until the subscription is closed.
func (n *notifier) loop() {
	defer close(n.done)
	ctx := context.Background()
	pause := noticeRetryPause
	for {
		msg, err := n.ps.ReceiveTimeout(ctx, noticeIdle)
		switch {
		case err == nil:
			pause = noticeRetryPause
		case n.isClosed():
			return
		case isTimeout(err):
			// Quiet for a while: ping, so a dead connection shows (a
			// failed ping makes the next receive reconnect).
			_ = n.ps.Ping(ctx)
			continue
		default:
			n.log.Debug("notice subscription failed; retrying", "err", err, "pause", pause)
			select {
			case <-n.quit:
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, noticeMaxPause)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Made or made again: notices may have been missed.
				n.deliver("")
			}
		case *redis.Message:
			n.deliver(m.Payload)
		}
	}
}

// deliver marks id for the watches that watch it, or every watch for "".
func (n *notifier) deliver(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if id == "" {
		for w := range n.watches {
			w.mark("")
		}
		return
	}
	for w := range n.byID[id] {
		w.mark(id)
	}
}

func (n *notifier) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// close ends the subscription and waits for the receive loop.
func (n *notifier) close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	close(n.quit)
	var err error
	started := false
	n.once.Do(func() { close(n.done) })
	if n.ps != nil {
		started = true
		err = n.ps.Close()
	}
	if started {
		<-n.done
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d, or until ctx ends (then its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
