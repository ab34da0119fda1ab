// Package redisurl reads the REDIS_URL setting shared by every command of
// the project: the worker, cmd/enqueue (importer and HTTP API), the demo
// and the benchmarks.
//
// # Schemes
//
// [Parse] accepts the forms asynq.ParseRedisURI knows, plus one it does
// not:
//
//	redis://[:password@]host[:port][/db]         one server
//	rediss://[:password@]host[:port][/db]        one server over TLS
//	redis-socket://[:password@]/path[?db=N]      one server on a Unix socket
//	redis-sentinel://[:password@]h1:26379,h2:26379?master=name
//	redis-cluster://[[user]:password@]h1:6379,h2:6379
//
// A cluster URL names some or all of the cluster's nodes; the client asks
// them for the rest. A cluster has only database 0, so any other database
// in the path is refused. A Sentinel URL must name its master.
//
// # Passwords
//
// Errors never quote the password, nor any part of a URL that might hold
// one (a password with an unescaped '/', '?', '#' or '@' spills into the
// host or path). [Redact] gives the form to put in logs and messages.
// Errors match [ErrInvalid].
//
// # Ping
//
// [Ping] is the module's one Redis ping, for start-up checks and
// readiness probes.
package redisurl
