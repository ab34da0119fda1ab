// Package dashboard is the worker's HTTP surface: the asynq web dashboard,
// Prometheus metrics and health probes, on one listener bound to loopback by
// default.
//
// # Routes
//
//	/             redirects to the dashboard
//	/monitoring/  asynqmon: queues, pending, active, scheduled, retry,
//	              archived (with their error) and completed tasks (with
//	              their result), servers, Redis
//	/metrics      Prometheus text format (see package metrics)
//	/healthz      {"status":"ok"} while the process serves HTTP
//	/readyz       200 {"status":"ready",...} when Redis answers a PING and
//	              every configured check passes, else 503 "not ready"
//
// # Secrets stay out of the browser
//
// Upload payloads may carry a merchant's app_auth_token, and error messages
// of failed HTTP calls may quote a URL with sign and app_auth_token in it.
// The dashboard's payload and result formatters ([FormatPayload] and its
// twin for results) pretty-print JSON with the value of every key containing
// token, secret, sign, key or password replaced by "[redacted]", at any
// depth; a payload that is not JSON is shown only by its length. On top of
// that every JSON answer of the dashboard's API passes through [ScrubText]
// string by string as it is written (the scrubber holds one string at a
// time, never the answer), so a secret quoted inside an error message is
// hidden too.
//
// # Bounded answers
//
// A list of tasks answers at most 100 rows (the largest page the
// dashboard's own pages ask for), whatever "size" a request names; a
// "size" that is not a positive number takes asynqmon's default of 20
// (asynq would read 0 as "every task").
//
// # Exposing it beyond loopback
//
// [Config.User] and [Config.Password] turn on HTTP basic authentication
// (compared in constant time) for everything except the two probes, and
// [Config.ReadOnly] refuses every request that could change a queue or a
// task. [New] refuses a listen address that is not loopback unless
// authentication is on or [Config.Insecure] says to go ahead: a dashboard
// can delete and re-run jobs, so it must not be open to a network by
// accident.
//
// Failed sign-ins are logged at warning level with the client's address
// and the user name tried, never the password, and limited per client
// address (per /64 network for IPv6): after ten, one more every six
// seconds; meanwhile every request from the address is answered 429 with
// Retry-After, whatever its credentials. Behind a reverse proxy every
// client has the proxy's address and shares that allowance.
//
// # Connections
//
// [Server.Run] holds at most 128 connections at once and bounds the time
// to send headers and requests; a refused request (no or wrong
// credentials, a change to a read-only dashboard, a foreign Host, a
// cross-site change) is answered at once and its connection closed
// without reading the body it announced.
//
// The server opens no Redis connection of its own: [Config.Redis] is the
// caller's client (the worker's one), shared by asynqmon, the queue
// metrics and the /readyz ping.
package dashboard
