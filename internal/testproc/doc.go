// Package testredis gives tests a real, private redis-server.
//
// Each [Start] launches its own redis-server process on a free loopback port
// with its own working directory, so tests never share keys with each other
// or with the machine's Redis on 6379, and may stop, kill or restart it. The
// process is killed when the test ends. A missing redis-server binary fails
// the test loudly: these tests are never skipped.
//
// # Topologies
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
// Set REDIS_SERVER to use a redis-server binary that is not on PATH.
package testredis
