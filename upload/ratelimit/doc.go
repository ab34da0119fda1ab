// Package ratelimit keeps a whole fleet of workers under one rate limit per
// app_id, shared through Redis: Alipay limits the calls of an application,
// whichever host they come from, and answers 40005 (v3: HTTP 429) to calls
// beyond it.
//
// # The shared rate
//
// A [Limiter] is an [upload.Limiter]: set it as upload.Config.Limiter and
// the client waits for a slot before each request it sends (uploads and
// JSON calls such as token refreshes). Slots come from a GCRA (generic
// cell rate algorithm) whose state is one Redis key per limit, kept by
// github.com/go-redis/redis_rate: every process that uses the same Key,
// Rate and Burst shares the limit, and Redis's own clock decides. The rate
// is steady (one call every Rate.Interval), and a quiet spell lets at most
// Burst calls go at once, so that in any period the fleet sends at most
// Rate.Calls + Burst calls.
//
// Waiting is cheap for Redis: in each process one waiting call at a time
// asks Redis, sleeping until the time Redis says the next slot comes; the
// others queue behind it in order. A call that cannot get a slot within
// MaxWait is not sent: its error wraps [upload.ErrRateLimit], so the
// upload is throttled and tried again later without spending its retry
// budget. Waiting ends with the call's context (see
// [upload.WithWaitContext] for a request sent under a context that is
// never cancelled).
//
// # Cool-down
//
// When the gateway throttles any call of the fleet anyway (another
// application sharing the quota, a limit set lower than Alipay's), the
// client calls [Limiter.Throttled], which starts a cool-down: a Redis key
// that expires after CoolDown, during which every limiter sharing the Key
// sends nothing. One worker's 40005 thus slows the whole fleet, not just
// itself. A throttled call during a cool-down restarts it.
//
// # Off by default
//
// Nothing in the upload path talks to Redis unless a Limiter is set: the
// worker builds one only when ALIPAY_RATE_LIMIT is set. With one, each call
// costs two Redis round trips (the cool-down's PTTL and the GCRA script),
// plus one per wait; one without a cool-down (CoolDown negative).
// BenchmarkWait measures both and counts their round trips. The two
// cannot be one script while the GCRA is redis_rate's: its script is its
// own, on its one key, and a script cannot call another; sending both in
// one pipeline would take a slot during a cool-down.
package ratelimit
