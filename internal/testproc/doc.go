// Package testproc starts and supervises the processes that tests, the
// demo, the benchmarks and the chaos suite run: private redis-server
// processes (standalone, Cluster, Sentinel), and the project's own
// commands (the worker, the importer, the gateway emulator) built once and
// run as children that can be signalled, killed and restarted.
//
// # Processes
//
// [Build] compiles commands of this module into a directory; [Proc] runs
// one as a child process that can be started, signalled, killed with
// SIGKILL and started again, and keeps what it writes over all its lives
// for the test log. [Proc.PeakRSS] reads its peak resident set size. On
// Linux a child runs in a process group of its own (a terminal's Ctrl-C
// reaches only the parent, which stops its children in order) and dies
// with its parent.
//
// # Redis
//
// Each [StartRedis] launches its own redis-server process on a free
// loopback port with its own working directory, so tests never share keys
// with each other or with the machine's Redis on 6379, and may stop, kill
// or restart it. The process is killed when the test ends. A port picked
// free can be taken by another process before redis-server binds it (or
// be served by another test's redis-server): the first start then moves
// to another free port. A missing redis-server binary fails the test
// loudly: these tests are never skipped. Set REDIS_SERVER to use a
// redis-server binary that is not on PATH.
//
// [StartCluster] forms a private Redis Cluster (three masters by default,
// each with its own cluster bus port): it assigns the hash slots with
// CLUSTER ADDSLOTSRANGE, joins the nodes with CLUSTER MEET and waits until
// every node reports cluster_state:ok and the same slot map. Its
// [Cluster.URL] is a redis-cluster:// URL naming every master.
//
// [StartSentinel] starts a master, optional replicas and one or more
// redis-server --sentinel processes monitoring it under a master name. Its
// [Sentinel.URL] is the redis-sentinel://...?master=name form that
// asynq.ParseRedisURI understands, and [Sentinel.Failover] forces a
// failover and waits for it to finish.
//
// # S3-compatible server
//
// [StartS3] starts a private versitygw (Apache-2.0; posix backend, its
// buckets directories of a temporary directory) on a free loopback port
// with root credentials of the test's (random by default), passed in its
// environment, not on its command line, and waits until it answers.
// [S3.Env] is the environment a command needs to reach it (the AWS SDK's
// variables). A missing versitygw binary fails the test loudly, pointing at
// `make deps`, which builds it into $(go env GOPATH)/bin; set VERSITYGW to
// use another binary.
//
// # Outside tests
//
// The package does not import testing: the helpers for tests take a [TB],
// which *testing.T satisfies, and everything else returns errors.
// [RunRedis] starts a server for a command (cmd/demo starts one when no
// Redis listens, cmd/bench a private one) or a TestMain
// ([RunWithRedis]); [Ping] tells whether a Redis answers at an address.
// [Poll] waits for a condition (the demo waits for its worker with it);
// [WaitFor] is Poll for tests, failing the test when the time is up.
package testproc
